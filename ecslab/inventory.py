"""Inventory: everything that carries a lab's tags, found through the AWS APIs.

``discover`` returns the raw records that teardown works from; ``table`` turns
them into the pandas table the course shows as "resources created".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd
from botocore.exceptions import ClientError

from . import iam as iam_steps
from . import logs as log_steps
from .aws import as_dict, carries, error_code, tag_filters
from .cluster import find_cluster
from .spec import SERVICE_ROLE, TASK_EXECUTION_ROLE, TASK_ROLE, LabSpec

log = logging.getLogger(__name__)

COLUMNS = ["resource", "name", "id", "state"]
# The kind of the rows ``with_stopped_tasks`` adds for the picture: not "task",
# which the inventory keeps for tasks that have not stopped.
STOPPED_TASK = "stopped task"


@dataclass
class Found:
    """The lab's resources by kind; each item is a row plus what deleting needs."""

    rows: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, kind: str, name: str, ident: str, state: str, **extra) -> None:
        self.rows.setdefault(kind, []).append(
            {"resource": kind, "name": name, "id": ident, "state": state, **extra})

    def __getitem__(self, kind: str) -> list[dict]:
        return self.rows.get(kind, [])

    def all(self) -> list[dict]:
        return [row for rows in self.rows.values() for row in rows]


def _name(tags: list[dict]) -> str:
    return as_dict(tags).get("Name", "")


def discover(session, spec: LabSpec) -> Found:
    """Every resource carrying ``spec``'s lab tag and prefix tag."""
    tags = spec.tags()
    ec2, ecs = session.client("ec2"), session.client("ecs")
    found = Found()

    for name in (TASK_ROLE, TASK_EXECUTION_ROLE, SERVICE_ROLE):
        if carries(iam_steps.role_tags(session.client("iam"), name), tags):
            found.add("role", name, name, "made by this lab")

    _discover_ecs(ecs, spec, found)
    _discover_elb(session.client("elbv2"), spec, found)

    group = log_steps.find_log_group(session.client("logs"), spec.log_group_name)
    if group and carries(log_steps.group_tags(session.client("logs"),
                                              spec.log_group_name), tags):
        found.add("log group", spec.log_group_name, spec.log_group_name,
                  f"{group.get('storedBytes', 0)} bytes stored")

    _discover_ecr(session.client("ecr"), spec, found)

    filters = tag_filters(tags)
    for vpc in ec2.describe_vpcs(Filters=filters)["Vpcs"]:
        if vpc.get("IsDefault"):
            continue  # never the account's default VPC, whatever its tags say
        found.add("vpc", _name(vpc.get("Tags")), vpc["VpcId"], vpc["State"],
                  cidr=vpc["CidrBlock"])
    for subnet in ec2.describe_subnets(Filters=filters)["Subnets"]:
        found.add("subnet", _name(subnet.get("Tags")), subnet["SubnetId"],
                  subnet["State"], cidr=subnet["CidrBlock"],
                  zone=subnet["AvailabilityZone"])
    for igw in ec2.describe_internet_gateways(Filters=filters)["InternetGateways"]:
        attached = [a["VpcId"] for a in igw.get("Attachments", [])]
        found.add("internet gateway", _name(igw.get("Tags")),
                  igw["InternetGatewayId"],
                  f"attached to {attached[0]}" if attached else "detached",
                  vpcs=attached)
    for table in ec2.describe_route_tables(Filters=filters)["RouteTables"]:
        found.add("route table", _name(table.get("Tags")), table["RouteTableId"],
                  f"{len(table.get('Associations', []))} association(s)",
                  associations=[a["RouteTableAssociationId"]
                                for a in table.get("Associations", [])
                                if not a.get("Main")])
    for group in ec2.describe_security_groups(Filters=filters)["SecurityGroups"]:
        if group["GroupName"] == "default":
            continue  # a VPC's default group goes with its VPC, never on its own
        found.add("security group", group["GroupName"], group["GroupId"],
                  f"{len(group.get('IpPermissions', []))} ingress rule(s)",
                  permissions=group.get("IpPermissions", []))
    return found


def _discover_ecs(ecs, spec: LabSpec, found: Found) -> None:
    tags = spec.tags()
    cluster = find_cluster(ecs, spec.cluster_name)
    if cluster and carries(as_dict(cluster.get("tags")), tags):
        found.add("cluster", spec.cluster_name, cluster["clusterArn"],
                  f"{cluster['status']}, {cluster['runningTasksCount']} running, "
                  f"{cluster['activeServicesCount']} service(s)")
        # ListServices shows ACTIVE services only; the lab's own service is asked
        # for by name too, so one still DRAINING after a delete is seen.
        arns = ecs.list_services(cluster=spec.cluster_name)["serviceArns"]
        names = {arn.rsplit("/", 1)[-1] for arn in arns} | {spec.service_name}
        for start in range(0, len(names), 10):  # DescribeServices takes 10 at most
            for service in ecs.describe_services(
                    cluster=spec.cluster_name,
                    services=sorted(names)[start:start + 10])["services"]:
                if service["status"] == "INACTIVE":
                    continue
                found.add("service", service["serviceName"], service["serviceArn"],
                          f"{service['status']}, {service['runningCount']}/"
                          f"{service['desiredCount']} running")
        task_arns = ecs.list_tasks(cluster=spec.cluster_name)["taskArns"]
        for task in _described_tasks(ecs, spec.cluster_name, task_arns):
            if task.get("lastStatus") != "STOPPED":
                found.add("task", task.get("group", ""),
                          task["taskArn"].rsplit("/", 1)[-1],
                          task.get("lastStatus", ""), arn=task["taskArn"])

    for family in (spec.task_family, spec.service_family):
        arns = ecs.list_task_definitions(familyPrefix=family,
                                         status="ACTIVE")["taskDefinitionArns"]
        for arn in arns:
            revision = arn.rsplit("/", 1)[-1]
            if revision.rsplit(":", 1)[0] != family:
                continue
            described = ecs.describe_task_definition(taskDefinition=arn,
                                                     include=["TAGS"])
            if carries(as_dict(described.get("tags")), tags):
                found.add("task definition", revision, arn, "ACTIVE")


def _described_tasks(ecs, cluster: str, arns: list[str],
                     include: list[str] | None = None) -> list[dict]:
    """DescribeTasks for any number of tasks (it takes 100 at most a call)."""
    extra = {"include": include} if include else {}
    tasks = []
    for start in range(0, len(arns), 100):
        chunk = arns[start:start + 100]
        tasks += ecs.describe_tasks(cluster=cluster, tasks=chunk, **extra)["tasks"]
    return tasks


def _discover_elb(elbv2, spec: LabSpec, found: Found) -> None:
    tags = spec.tags()

    def tagged(arns: list[str]) -> set[str]:
        mine = set()
        for start in range(0, len(arns), 20):
            described = elbv2.describe_tags(ResourceArns=arns[start:start + 20])
            for item in described["TagDescriptions"]:
                if carries(as_dict(item.get("Tags")), tags):
                    mine.add(item["ResourceArn"])
        return mine

    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    mine = tagged([b["LoadBalancerArn"] for b in balancers])
    for balancer in balancers:
        if balancer["LoadBalancerArn"] in mine:
            found.add("load balancer", balancer["LoadBalancerName"],
                      balancer["LoadBalancerArn"], balancer["State"]["Code"],
                      dns=balancer.get("DNSName", ""))
            for listener in elbv2.describe_listeners(
                    LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
                found.add("listener", f"{listener['Protocol']}:{listener['Port']}",
                          listener["ListenerArn"], "forwarding")

    groups = elbv2.describe_target_groups()["TargetGroups"]
    mine = tagged([g["TargetGroupArn"] for g in groups])
    for group in groups:
        if group["TargetGroupArn"] in mine:
            found.add("target group", group["TargetGroupName"],
                      group["TargetGroupArn"], f"target type {group['TargetType']}")


def _discover_ecr(ecr, spec: LabSpec, found: Found) -> None:
    try:
        repos = ecr.describe_repositories(
            repositoryNames=[spec.ecr_repository_name])["repositories"]
    except ClientError as error:
        if error_code(error) == "RepositoryNotFoundException":
            return
        raise
    for repo in repos:
        tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
        if carries(as_dict(tags), spec.tags()):
            found.add("ECR repository", repo["repositoryName"],
                      repo["repositoryUri"], "ACTIVE")


def with_account_roles(session, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus a row for each course role that exists but is not the lab's.

    For the live picture only. The roles are account-wide and found by name: a
    learner's task lab (or an administrator) may have made them under another
    prefix, and the service lab then uses them as they are. ``discover`` never
    lists them, so teardown, which works from ``discover``, never deletes a role
    it did not create.
    """
    listed = set(frame.loc[frame["resource"] == "role", "name"])
    iam = session.client("iam")
    extra = []
    for name in (TASK_ROLE, TASK_EXECUTION_ROLE, SERVICE_ROLE):
        if name in listed:
            continue
        try:
            iam.get_role(RoleName=name)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            continue
        extra.append({"resource": "role", "name": name, "id": name,
                      "state": "account-wide, not this lab's"})
    if not extra:
        return frame
    return pd.DataFrame(frame.to_dict("records") + extra, columns=frame.columns)


def with_stopped_tasks(session, spec: LabSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus a "stopped task" row for each stopped task of the task lab.

    For the live picture only: ``discover`` leaves stopped tasks out, so that
    teardown need not wait for ECS to forget them. The tasks are those ECS still
    lists as stopped (on AWS for at least an hour) in the lab's cluster, started
    from the task lab's family and carrying the lab's tags, newest first. The
    cluster must be in ``frame``, which shows that it is the lab's.
    """
    if spec.cluster_name not in set(frame.loc[frame["resource"] == "cluster",
                                              "name"]):
        return frame
    ecs = session.client("ecs")
    pages = ecs.get_paginator("list_tasks").paginate(cluster=spec.cluster_name,
                                                     desiredStatus="STOPPED")
    arns = [arn for page in pages for arn in page["taskArns"]]
    tasks = _described_tasks(ecs, spec.cluster_name, arns, include=["TAGS"])

    # A task still stopping has no stoppedAt yet: it is the newest.
    tasks.sort(key=lambda t: (t.get("stoppedAt") is None, t.get("stoppedAt") or 0),
               reverse=True)
    listed = set(frame.loc[frame["resource"] == "task", "id"])
    rows = [_stopped_task_row(task) for task in tasks
            if task["taskArn"].rsplit("/", 1)[-1] not in listed
            and task.get("group") == f"family:{spec.task_family}"
            and carries(as_dict(task.get("tags")), spec.tags())]
    if not rows:
        return frame
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def _stopped_task_row(task: dict) -> dict:
    """A stopped task as a row; its state says how it ended."""
    # The exit code when the container ran; else why the task stopped (one whose
    # image could not be pulled never ran its container).
    codes = [c["exitCode"] for c in task.get("containers", []) if "exitCode" in c]
    how = f"exit {codes[0]}" if codes else task.get("stopCode", "")
    return {"resource": STOPPED_TASK, "name": task["group"],
            "id": task["taskArn"].rsplit("/", 1)[-1],
            "state": ", ".join(filter(None, [task.get("lastStatus"), how]))}


def table(found: Found) -> pd.DataFrame:
    """The course's "resources created" table: resource, name, id, state."""
    rows = [{k: row[k] for k in COLUMNS} for row in found.all()]
    return pd.DataFrame(rows, columns=COLUMNS)
