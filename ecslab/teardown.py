"""Teardown: delete what carries the lab's tags, in dependency order.

Only resources found by ``inventory.discover`` (this lab's tag and prefix) are
touched. The order follows AWS's dependencies; the errors AWS answers while a
dependency drains are retried for a bounded time. Running it again is a no-op.
"""

from __future__ import annotations

import logging
import time

from botocore.exceptions import ClientError, WaiterError

from . import iam as iam_steps
from .aws import error_code, retry
from .inventory import discover, table
from .spec import LabSpec

log = logging.getLogger(__name__)

# Errors AWS returns while something that depends on a resource is still going.
DRAINING = {"DependencyViolation", "InvalidGroup.InUse", "ResourceInUse",
            "ResourceInUseException", "ClusterContainsTasksException",
            "ClusterContainsServicesException", "DeleteConflict",
            "InvalidNetworkInterface.InUse"}
GONE = {"NoSuchEntity", "InvalidVpcID.NotFound", "InvalidSubnetID.NotFound",
        "InvalidGroup.NotFound", "InvalidInternetGatewayID.NotFound",
        "InvalidRouteTableID.NotFound", "InvalidAssociationID.NotFound",
        "ResourceNotFoundException", "ClusterNotFoundException",
        "ServiceNotFoundException", "LoadBalancerNotFound", "TargetGroupNotFound",
        "ListenerNotFound", "RepositoryNotFoundException", "Gateway.NotAttached"}


def _ignore_gone(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except ClientError as error:
        if error_code(error) in GONE:
            return None
        raise


def _wait(waiter, what: str, on_wait=None, **kwargs) -> None:
    """Run a boto3 waiter, saying when it starts and how long it took.

    On AWS these waits last minutes (a load balancer, draining tasks), and a
    waiter says nothing while it polls. ``on_wait(what, phase, elapsed)`` sees
    ``"start"`` (elapsed 0) and then ``"done"`` or ``"gave up"``.
    """
    log.info("waiting for %s", what)
    if on_wait is not None:
        on_wait(what, "start", 0.0)
    started = time.monotonic()
    try:
        waiter.wait(**kwargs)
    except WaiterError:
        elapsed = time.monotonic() - started
        log.warning("gave up waiting for %s after %.0fs", what, elapsed)
        if on_wait is not None:
            on_wait(what, "gave up", elapsed)
        raise
    elapsed = time.monotonic() - started
    log.info("%s after %.1fs", what, elapsed)
    if on_wait is not None:
        on_wait(what, "done", elapsed)


def teardown(session, spec: LabSpec, timeout: float = 300,
             interval: float = 2.0, keep_roles: bool = False, on_wait=None):
    """Delete the lab's resources; returns the inventory table of what remains.

    ``timeout`` bounds each wait and each retried delete. ``on_wait``, if
    given, is told when each wait starts and ends (see ``_wait``).
    """
    found = discover(session, spec)
    ecs, ec2, elbv2 = (session.client(n) for n in ("ecs", "ec2", "elbv2"))
    wait = {"Delay": max(interval, 0.1), "MaxAttempts": max(1, int(timeout / interval))}

    # 1. Services: scale to zero, delete, wait until inactive.
    services = [row["id"] for row in found["service"] if "ACTIVE" in row["state"]
                or "DRAINING" in row["state"]]
    for arn in services:
        _ignore_gone(ecs.update_service, cluster=spec.cluster_name, service=arn,
                     desiredCount=0)
        _ignore_gone(ecs.delete_service, cluster=spec.cluster_name, service=arn,
                     force=True)
        log.info("deleting service %s", arn.rsplit("/", 1)[-1])
    if services:
        _wait(ecs.get_waiter("services_inactive"),
              f"{len(services)} service(s) to become inactive", on_wait,
              cluster=spec.cluster_name, services=services, WaiterConfig=wait)

    # 2. Standalone tasks (and any a service left behind): stop, wait until stopped.
    tasks = [row["arn"] for row in discover(session, spec)["task"]]
    for arn in tasks:
        _ignore_gone(ecs.stop_task, cluster=spec.cluster_name, task=arn,
                     reason="ecslab teardown")
        log.info("stopping task %s", arn.rsplit("/", 1)[-1])
    for start in range(0, len(tasks), 100):  # DescribeTasks takes 100 at most
        chunk = tasks[start:start + 100]
        _wait(ecs.get_waiter("tasks_stopped"), f"{len(chunk)} task(s) to stop",
              on_wait, cluster=spec.cluster_name, tasks=chunk, WaiterConfig=wait)

    # 3. Load balancer (its listeners go with it), then target groups.
    for row in found["load balancer"]:
        _ignore_gone(elbv2.delete_load_balancer, LoadBalancerArn=row["id"])
        log.info("deleted load balancer %s", row["name"])
    if found["load balancer"]:
        _ignore_gone(_wait, elbv2.get_waiter("load_balancers_deleted"),
                     f"{len(found['load balancer'])} load balancer(s) to be deleted",
                     on_wait,
                     LoadBalancerArns=[r["id"] for r in found["load balancer"]],
                     WaiterConfig=wait)
    for row in found["target group"]:
        retry(lambda: _ignore_gone(elbv2.delete_target_group,
                                   TargetGroupArn=row["id"]),
              codes=DRAINING, timeout=timeout, interval=interval,
              what=f"delete target group {row['name']}")
        log.info("deleted target group %s", row["name"])

    # 4. Task definitions, then the cluster.
    for row in found["task definition"]:
        _ignore_gone(ecs.deregister_task_definition, taskDefinition=row["id"])
        log.info("deregistered task definition %s", row["name"])
    for row in found["cluster"]:
        retry(lambda: _ignore_gone(ecs.delete_cluster, cluster=row["id"]),
              codes=DRAINING, timeout=timeout, interval=interval,
              what=f"delete cluster {row['name']}")
        log.info("deleted cluster %s", row["name"])

    # 5. ECR repositories (with their images), log groups.
    ecr, logs = session.client("ecr"), session.client("logs")
    for row in found["ECR repository"]:
        _ignore_gone(ecr.delete_repository, repositoryName=row["name"], force=True)
        log.info("deleted ECR repository %s", row["name"])
    for row in found["log group"]:
        _ignore_gone(logs.delete_log_group, logGroupName=row["name"])
        log.info("deleted log group %s", row["name"])

    # 6. IAM roles this lab made (and no other).
    if not keep_roles:
        iam = session.client("iam")
        for row in found["role"]:
            retry(lambda: _ignore_gone(iam_steps.delete_role, iam, row["name"]),
                  codes=DRAINING, timeout=timeout, interval=interval,
                  what=f"delete role {row['name']}")

    # 7. Security groups: revoke rules naming other groups first, since a group
    # referenced by another cannot be deleted.
    groups = found["security group"]
    for row in groups:
        referencing = [p for p in row["permissions"] if p.get("UserIdGroupPairs")]
        if referencing:
            _ignore_gone(ec2.revoke_security_group_ingress, GroupId=row["id"],
                         IpPermissions=referencing)
    for row in groups:
        retry(lambda: _ignore_gone(ec2.delete_security_group, GroupId=row["id"]),
              codes=DRAINING, timeout=timeout, interval=interval,
              what=f"delete security group {row['name']}")
        log.info("deleted security group %s", row["name"])

    # 8. Route tables (disassociate first), the internet gateway (detach first).
    for row in found["route table"]:
        for association in row["associations"]:
            _ignore_gone(ec2.disassociate_route_table, AssociationId=association)
        retry(lambda: _ignore_gone(ec2.delete_route_table, RouteTableId=row["id"]),
              codes=DRAINING, timeout=timeout, interval=interval,
              what=f"delete route table {row['name']}")
        log.info("deleted route table %s", row["name"])
    for row in found["internet gateway"]:
        for vpc_id in row["vpcs"]:
            retry(lambda: _ignore_gone(ec2.detach_internet_gateway,
                                       InternetGatewayId=row["id"], VpcId=vpc_id),
                  codes=DRAINING, timeout=timeout, interval=interval,
                  what=f"detach internet gateway {row['name']}")
        _ignore_gone(ec2.delete_internet_gateway, InternetGatewayId=row["id"])
        log.info("deleted internet gateway %s", row["name"])

    # 9. Subnets, then the VPC.
    for row in found["subnet"]:
        retry(lambda: _ignore_gone(ec2.delete_subnet, SubnetId=row["id"]),
              codes=DRAINING, timeout=timeout, interval=interval,
              what=f"delete subnet {row['name']}")
        log.info("deleted subnet %s", row["name"])
    for row in found["vpc"]:
        retry(lambda: _ignore_gone(ec2.delete_vpc, VpcId=row["id"]),
              codes=DRAINING, timeout=timeout, interval=interval,
              what=f"delete VPC {row['name']}")
        log.info("deleted VPC %s", row["name"])

    remaining = table(discover(session, spec))
    if len(remaining):
        log.warning("teardown left %d resource(s)", len(remaining))
    return remaining
