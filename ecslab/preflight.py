"""Current resources read from AWS, for the stateful preflight rules.

``AwsLookup(session)`` answers ``ecslab.rules.Lookup`` with ordinary read-only
describe, list and get calls through the session's plain clients, in the shapes the
emulator's ``EmulatorLookup`` answers, so each rule decides alike on both targets.
On the aws target every preflight client makes one per request::

    rules.preflight("ecs", "DeleteCluster", {"cluster": "lab"}, AwsLookup(session))

A read AWS refuses (AccessDenied, not found...) answers None or empty, and the rule
then lets the request through: AWS itself decides.
"""

from __future__ import annotations

import functools
import logging
from typing import Callable, TypeVar

from botocore.exceptions import ClientError

from .aws import error_code

log = logging.getLogger(__name__)

__all__ = ["AwsLookup"]

T = TypeVar("T")

# The codes each service answers for a call the credentials may not make.
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def _remembered(method):
    # The rules of one request ask the same question several times (five of them
    # read the task definition of a CreateService); one request sees one moment.
    @functools.wraps(method)
    def answer(self, *args):
        key = (method.__name__, *(tuple(a) if isinstance(a, list) else a
                                   for a in args))
        if key not in self._answers:
            self._answers[key] = method(self, *args)
        return self._answers[key]

    return answer


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


class AwsLookup:
    """``ecslab.rules.Lookup`` over describe calls, for one request's preflight.

    Uses ``session.client(name)``, the plain clients, so its reads pass through no
    preflight. It remembers its answers for its own life only: make a new one for
    each request, as resources change between requests.
    """

    def __init__(self, session):
        self.session = session
        self._answers: dict[tuple, object] = {}

    # --- ECS -------------------------------------------------------------------

    @_remembered
    def task_definition(self, ref: str) -> dict | None:
        """``DescribeTaskDefinition``: family, network mode, compatibilities and
        each container's name and port mappings; None if it cannot be read."""
        found = self._read(f"task definition {ref}", lambda: self._client(
            "ecs").describe_task_definition(taskDefinition=ref)["taskDefinition"])
        if found is None:
            return None

        return {
            "family": found.get("family"),
            "networkMode": found.get("networkMode"),
            "requiresCompatibilities": list(found.get("requiresCompatibilities")
                                            or []),
            "containerDefinitions": [
                {"name": c.get("name"),
                 "portMappings": list(c.get("portMappings") or [])}
                for c in found.get("containerDefinitions") or []
            ],
        }

    @_remembered
    def cluster_services(self, cluster: str) -> list[str]:
        """``ListServices`` then ``DescribeServices``: names of the services in
        ``cluster`` that are not INACTIVE (a DRAINING one still holds it)."""
        def read():
            ecs = self._client("ecs")
            arns = self._pages(ecs, "list_services", "serviceArns", cluster=cluster)
            services = []
            for batch in _batches(arns, 10):  # DescribeServices takes 10 at most
                services += ecs.describe_services(cluster=cluster,
                                                  services=batch)["services"]
            return [s["serviceName"] for s in services
                    if s.get("status") != "INACTIVE"]

        return self._read(f"services of cluster {cluster}", read) or []

    @_remembered
    def cluster_tasks(self, cluster: str) -> list[str]:
        """``ListTasks`` then ``DescribeTasks``: ARNs of the tasks in ``cluster``
        whose last status is not STOPPED."""
        def read():
            ecs = self._client("ecs")
            # ListTasks answers desired status RUNNING unless told otherwise, and
            # a task told to stop holds the cluster until it has stopped.
            arns = []
            for desired in ("RUNNING", "STOPPED"):
                arns += self._pages(ecs, "list_tasks", "taskArns", cluster=cluster,
                                    desiredStatus=desired)
            tasks = []
            for batch in _batches(list(dict.fromkeys(arns)), 100):
                tasks += ecs.describe_tasks(cluster=cluster, tasks=batch)["tasks"]
            return [t["taskArn"] for t in tasks if t.get("lastStatus") != "STOPPED"]

        return self._read(f"tasks of cluster {cluster}", read) or []

    @_remembered
    def service_status(self, cluster: str, service: str) -> str | None:
        """``DescribeServices``: ACTIVE, DRAINING or INACTIVE, ACTIVE if any
        service of that name is; None for an unknown service or cluster."""
        def read():
            found = self._client("ecs").describe_services(
                cluster=cluster, services=[service])["services"]
            statuses = [s.get("status") for s in found]
            if not statuses:
                return None
            return "ACTIVE" if "ACTIVE" in statuses else statuses[-1]

        return self._read(f"service {service} in cluster {cluster}", read)

    # --- Elastic Load Balancing --------------------------------------------------

    @_remembered
    def target_group(self, arn: str) -> dict | None:
        """``DescribeTargetGroups``: ``TargetGroupArn``, ``TargetType`` and
        ``LoadBalancerArns``; None if there is no such target group, ``{}`` if
        it cannot be read (the rules let an empty answer through)."""
        try:
            groups = self._client("elbv2").describe_target_groups(
                TargetGroupArns=[arn])["TargetGroups"]
        except ClientError as error:
            if error_code(error) == "TargetGroupNotFound":
                return None
            self._refused(f"target group {arn}", error)
            return {}
        if not groups:
            return None

        group = groups[0]
        return {"TargetGroupArn": group["TargetGroupArn"],
                "TargetType": group.get("TargetType"),
                "LoadBalancerArns": list(group.get("LoadBalancerArns") or [])}

    def _balancers(self, uses: Callable[[dict], bool]) -> list[str]:
        # The emulator counts a load balancer as a user of its security groups and
        # subnets, as moto creates no interfaces for it; on AWS its interfaces are
        # counted already, and reading the balancers too keeps both answers alike.
        balancers = self._read("load balancers", lambda: self._pages(
            self._client("elbv2"), "describe_load_balancers", "LoadBalancers"))
        return [lb["LoadBalancerArn"] for lb in balancers or [] if uses(lb)]

    # --- EC2 ---------------------------------------------------------------------

    @_remembered
    def subnet_zones(self, subnet_ids: list[str]) -> dict[str, str]:
        """``DescribeSubnets``: Availability Zone of each existing subnet, by id."""
        # A filter, not SubnetIds: one unknown id would fail the whole call, and
        # unknown subnets are AWS's own to answer.
        subnets = self._read("subnets", lambda: self._pages(
            self._client("ec2"), "describe_subnets", "Subnets",
            Filters=[{"Name": "subnet-id", "Values": list(subnet_ids)}]))
        return {s["SubnetId"]: s["AvailabilityZone"] for s in subnets or []}

    @_remembered
    def security_group_id(self, name: str) -> str | None:
        """``DescribeSecurityGroups`` by ``GroupNames``: the id of the group."""
        # GroupNames looks in the default VPC, as DeleteSecurityGroup's GroupName.
        groups = self._read(f"security group {name}", lambda: self._client(
            "ec2").describe_security_groups(GroupNames=[name])["SecurityGroups"])
        return groups[0]["GroupId"] if groups else None

    @_remembered
    def security_group_referrers(self, group_id: str) -> list[str]:
        """``DescribeSecurityGroups`` filtered on inbound, then outbound, rules
        naming ``group_id``: ids of the other groups holding such a rule."""
        def read():
            ec2 = self._client("ec2")
            found = []
            # Filters with different names must all match: one call per direction.
            for name in ("ip-permission.group-id", "egress.ip-permission.group-id"):
                found += self._pages(ec2, "describe_security_groups",
                                     "SecurityGroups",
                                     Filters=[{"Name": name, "Values": [group_id]}])
            return list(dict.fromkeys(g["GroupId"] for g in found
                                      if g["GroupId"] != group_id))

        return self._read(f"rules referencing {group_id}", read) or []

    @_remembered
    def security_group_interfaces(self, group_id: str) -> list[str]:
        """``DescribeNetworkInterfaces`` filtered on ``group-id``, and
        ``DescribeLoadBalancers``: interface ids, then balancer ARNs."""
        interfaces = self._interfaces("group-id", group_id)
        return interfaces + self._balancers(
            lambda lb: group_id in (lb.get("SecurityGroups") or []))

    @_remembered
    def subnet_interfaces(self, subnet_id: str) -> list[str]:
        """``DescribeNetworkInterfaces`` filtered on ``subnet-id``, and
        ``DescribeLoadBalancers``: interface ids, then balancer ARNs."""
        interfaces = self._interfaces("subnet-id", subnet_id)
        return interfaces + self._balancers(lambda lb: subnet_id in {
            zone.get("SubnetId") for zone in lb.get("AvailabilityZones") or []})

    def _interfaces(self, name: str, value: str) -> list[str]:
        found = self._read(f"network interfaces with {name} {value}",
                           lambda: self._pages(
                               self._client("ec2"), "describe_network_interfaces",
                               "NetworkInterfaces",
                               Filters=[{"Name": name, "Values": [value]}]))
        return [eni["NetworkInterfaceId"] for eni in found or []]

    # --- IAM ---------------------------------------------------------------------

    @_remembered
    def role_named(self, name: str) -> str | None:
        """``ListRoles``: the name of the role equal to ``name`` ignoring case."""
        # GetRole matches the exact name only; IAM's uniqueness ignores case.
        roles = self._read("IAM roles", lambda: self._pages(
            self._client("iam"), "list_roles", "Roles"))
        wanted = name.lower()
        for role in roles or []:
            if role["RoleName"].lower() == wanted:
                return role["RoleName"]
        return None

    # --- Reading -----------------------------------------------------------------

    def _client(self, service: str):
        # The plain client: a preflight one would run these reads' own preflight.
        return self.session.client(service)

    @staticmethod
    def _pages(client, operation: str, key: str, **params) -> list:
        items = []
        for page in client.get_paginator(operation).paginate(**params):
            items += page.get(key) or []
        return items

    def _read(self, what: str, call: Callable[[], T]) -> T | None:
        """``call()``, or None when AWS refuses the read."""
        try:
            return call()
        except ClientError as error:
            self._refused(what, error)
            return None

    @staticmethod
    def _refused(what: str, error: ClientError) -> None:
        # Only ClientError is caught: a read that cannot reach AWS at all meets the
        # same fault as the request it checks, and says so sooner.
        code = error_code(error)
        level = logging.INFO if code in _DENIED else logging.DEBUG
        log.log(level, "preflight cannot read %s (%s); AWS will decide", what, code)
