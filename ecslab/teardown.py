"""Teardown: delete what carries the lab's tags, in dependency order.

Only resources found by ``inventory.discover`` (this lab's tag and prefix) are
touched. The order follows AWS's dependencies; the errors AWS answers while a
dependency drains are retried for a bounded time, and when that bound runs out
``TeardownIncomplete`` says which delete gave up and what remains. Running it
again finishes the job; on a lab already gone it is a no-op.
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


class TeardownIncomplete(RuntimeError):
    """A delete still failed when its retries ran out; nothing after it was tried.

    ``remaining`` is the inventory table of what is left; running teardown again,
    once the dependency has drained, continues from there.
    """

    def __init__(self, message: str, remaining):
        super().__init__(message)
        self.remaining = remaining


class _GaveUp(Exception):
    """A retried delete ran out of time (turned into ``TeardownIncomplete``)."""

    def __init__(self, what: str, code: str, timeout: float):
        super().__init__(what)
        self.what, self.code, self.timeout = what, code, timeout


class _WaitBar:
    """A tqdm bar for one wait: what is waited for, checks (or refusals), time.

    A wait opens its bar at once; a retried delete's bar appears at the first
    ``tick`` (AWS's first refusal), so a delete that succeeds at once shows
    none. Disabled, it shows nothing. tqdm draws in the notebook (or on standard
    error in a terminal), as the task waits do.
    """

    def __init__(self, what: str, enabled: bool, unit: str = "checks"):
        self.what, self.enabled, self.unit = what, enabled, unit
        self._bar = None

    def open(self) -> None:
        if self.enabled and self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc=self.what, bar_format=(
                "{desc} [{elapsed}, " + self.unit + ": {n_fmt}]"))

    def tick(self, **_) -> None:
        self.open()
        if self._bar is not None:
            self._bar.update(1)

    def close(self, outcome: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(f"{self.what}: {outcome}", refresh=False)
            self._bar.close()


def _ignore_gone(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except ClientError as error:
        if error_code(error) in GONE:
            return None
        raise


def _wait(client, name: str, what: str, on_wait=None, progress: bool = False,
          **kwargs) -> None:
    """Run the boto3 waiter ``name`` of ``client``, saying when it starts and
    how long it took.

    On AWS these waits last minutes (a load balancer, draining tasks), and a
    waiter says nothing while it polls. ``on_wait(what, phase, elapsed)`` sees
    ``"start"`` (elapsed 0) and then ``"done"`` or ``"gave up"``. With
    ``progress`` a bar counts the waiter's checks as they come back.
    """
    log.info("waiting for %s", what)
    if on_wait is not None:
        on_wait(what, "start", 0.0)
    bar = _WaitBar(f"waiting for {what}", progress)
    bar.open()  # shown from the start: the first check may take a while

    # The waiter's polls are this client's only calls while it waits, so each
    # call that comes back is one check.
    hook = f"ecslab-wait-{id(bar)}"
    client.meta.events.register("after-call", bar.tick, unique_id=hook)
    started = time.monotonic()
    outcome = "failed"
    try:
        client.get_waiter(name).wait(**kwargs)
        outcome = "done"
    except WaiterError:
        outcome = "gave up"
        elapsed = time.monotonic() - started
        log.warning("gave up waiting for %s after %.0fs", what, elapsed)
        if on_wait is not None:
            on_wait(what, "gave up", elapsed)
        raise
    finally:
        client.meta.events.unregister("after-call", unique_id=hook)
        bar.close(outcome)

    elapsed = time.monotonic() - started
    log.info("%s after %.1fs", what, elapsed)
    if on_wait is not None:
        on_wait(what, "done", elapsed)


def _retried(call, what: str, timeout: float, interval: float,
             progress: bool = False):
    """``call()``, retried while AWS answers that a dependency is draining.

    Once the first such answer comes, a bar shows the retries; when ``timeout``
    runs out, ``_GaveUp`` names the delete and the error.
    """
    bar = _WaitBar(f"retrying {what}", progress, unit="refused")

    def attempt():
        try:
            return _ignore_gone(call)
        except ClientError as error:
            if error_code(error) in DRAINING:
                bar.tick()
            raise

    try:
        result = retry(attempt, codes=DRAINING, timeout=timeout, interval=interval,
                       what=what)
    except ClientError as error:
        code = error_code(error)
        bar.close(f"still {code}" if code in DRAINING else "failed")
        if code not in DRAINING:
            raise
        raise _GaveUp(what, code, timeout) from error
    bar.close("done")
    return result


def teardown(session, spec: LabSpec, timeout: float = 300,
             interval: float = 2.0, keep_roles: bool = False, on_wait=None,
             progress: bool = False):
    """Delete the lab's resources; returns the inventory table of what remains.

    ``timeout`` bounds each wait and each retried delete; a delete still refused
    at its bound raises ``TeardownIncomplete`` with what remains. ``on_wait``, if
    given, is told when each wait starts and ends (see ``_wait``); ``progress``
    shows a bar for each wait and each delete that has to be retried.
    """
    try:
        _delete_all(session, spec, timeout, interval, keep_roles, on_wait,
                    progress)
    except _GaveUp as gave_up:
        remaining = table(discover(session, spec))
        listed = ", ".join(f"{r} {n}" for r, n in zip(remaining["resource"],
                                                    remaining["name"]))
        log.warning("teardown stopped at %s (%s after %.0fs); %d resource(s) "
                    "remain", gave_up.what, gave_up.code, gave_up.timeout,
                    len(remaining))
        raise TeardownIncomplete(
            f"teardown stopped: {gave_up.what} was still refused with "
            f"{gave_up.code} after {gave_up.timeout:.0f}s of retries, so the "
            f"steps after it were not run. {len(remaining)} resource(s) remain: "
            f"{listed or 'none'}. Something still uses it (on AWS, network "
            "interfaces can take several minutes to drain after tasks stop): run "
            "teardown again later to finish.", remaining) from gave_up.__cause__

    remaining = table(discover(session, spec))
    if len(remaining):
        log.warning("teardown left %d resource(s)", len(remaining))
    return remaining


def _delete_all(session, spec: LabSpec, timeout: float, interval: float,
                keep_roles: bool, on_wait, progress: bool) -> None:
    found = discover(session, spec)
    ecs, ec2, elbv2 = (session.client(n) for n in ("ecs", "ec2", "elbv2"))
    wait = {"Delay": max(interval, 0.1), "MaxAttempts": max(1, int(timeout / interval))}
    waits = {"on_wait": on_wait, "progress": progress, "WaiterConfig": wait}
    bound = {"timeout": timeout, "interval": interval, "progress": progress}

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
        _wait(ecs, "services_inactive",
              f"{len(services)} service(s) to become inactive",
              cluster=spec.cluster_name, services=services, **waits)

    # 2. Standalone tasks (and any a service left behind): stop, wait until stopped.
    tasks = [row["arn"] for row in discover(session, spec)["task"]]
    for arn in tasks:
        _ignore_gone(ecs.stop_task, cluster=spec.cluster_name, task=arn,
                     reason="ecslab teardown")
        log.info("stopping task %s", arn.rsplit("/", 1)[-1])
    for start in range(0, len(tasks), 100):  # DescribeTasks takes 100 at most
        chunk = tasks[start:start + 100]
        _wait(ecs, "tasks_stopped", f"{len(chunk)} task(s) to stop",
              cluster=spec.cluster_name, tasks=chunk, **waits)

    # 3. Load balancer (its listeners go with it), then target groups.
    for row in found["load balancer"]:
        _ignore_gone(elbv2.delete_load_balancer, LoadBalancerArn=row["id"])
        log.info("deleted load balancer %s", row["name"])
    if found["load balancer"]:
        _ignore_gone(_wait, elbv2, "load_balancers_deleted",
                     f"{len(found['load balancer'])} load balancer(s) to be deleted",
                     LoadBalancerArns=[r["id"] for r in found["load balancer"]],
                     **waits)
    for row in found["target group"]:
        _retried(lambda: elbv2.delete_target_group(TargetGroupArn=row["id"]),
                 f"delete target group {row['name']}", **bound)
        log.info("deleted target group %s", row["name"])

    # 4. Task definitions, then the cluster.
    for row in found["task definition"]:
        _ignore_gone(ecs.deregister_task_definition, taskDefinition=row["id"])
        log.info("deregistered task definition %s", row["name"])
    for row in found["cluster"]:
        _retried(lambda: ecs.delete_cluster(cluster=row["id"]),
                 f"delete cluster {row['name']}", **bound)
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
            _retried(lambda: iam_steps.delete_role(iam, row["name"]),
                     f"delete role {row['name']}", **bound)

    # 7. Security groups: revoke rules naming other groups first, since a group
    # referenced by another cannot be deleted.
    groups = found["security group"]
    for row in groups:
        referencing = [p for p in row["permissions"] if p.get("UserIdGroupPairs")]
        if referencing:
            _ignore_gone(ec2.revoke_security_group_ingress, GroupId=row["id"],
                         IpPermissions=referencing)
    for row in groups:
        _retried(lambda: ec2.delete_security_group(GroupId=row["id"]),
                 f"delete security group {row['name']}", **bound)
        log.info("deleted security group %s", row["name"])

    # 8. Route tables (disassociate first), the internet gateway (detach first).
    for row in found["route table"]:
        for association in row["associations"]:
            _ignore_gone(ec2.disassociate_route_table, AssociationId=association)
        _retried(lambda: ec2.delete_route_table(RouteTableId=row["id"]),
                 f"delete route table {row['name']}", **bound)
        log.info("deleted route table %s", row["name"])
    for row in found["internet gateway"]:
        for vpc_id in row["vpcs"]:
            _retried(lambda: ec2.detach_internet_gateway(
                         InternetGatewayId=row["id"], VpcId=vpc_id),
                     f"detach internet gateway {row['name']}", **bound)
        _ignore_gone(ec2.delete_internet_gateway, InternetGatewayId=row["id"])
        log.info("deleted internet gateway %s", row["name"])

    # 9. Subnets, then the VPC.
    for row in found["subnet"]:
        _retried(lambda: ec2.delete_subnet(SubnetId=row["id"]),
                 f"delete subnet {row['name']}", **bound)
        log.info("deleted subnet %s", row["name"])
    for row in found["vpc"]:
        _retried(lambda: ec2.delete_vpc(VpcId=row["id"]),
                 f"delete VPC {row['name']}", **bound)
        log.info("deleted VPC %s", row["name"])
