"""The simulated data plane, through boto3 against the running emulator (fast speed).

Each test names the AWS page whose behaviour it checks. Names are unique per
test: one emulator serves the whole run. A few tests that must see short-lived
statuses use an emulator process of their own at a slower speed.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import boto3
import moto as moto_lib
import pytest
from botocore.exceptions import ClientError

from ecslab import emulator
from ecslab.emulator import dataplane, images, server
from ecslab.session import Session

HELLO = "public.ecr.aws/docker/library/hello-world:latest"
HTTPD = "public.ecr.aws/docker/library/httpd:latest"
LIFECYCLE = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING",
             "STOPPING", "DEPROVISIONING", "STOPPED"]
FAST = {"Delay": 0.2, "MaxAttempts": 100}


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def wait_for(check, timeout: float = 15.0, every: float = 0.05):
    """Poll ``check`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {check}")


class Lab:
    """A VPC with two public subnets, a security group, a cluster and a log group."""

    def __init__(self, session, name: str):
        self.ec2 = session.client("ec2")
        self.ecs = session.client("ecs")
        self.logs = session.client("logs")
        self.elb = session.client("elbv2")
        self.name = name

        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.ec2.modify_vpc_attribute(VpcId=self.vpc,
                                      EnableDnsHostnames={"Value": True})
        zones = [z["ZoneName"] for z in
                 self.ec2.describe_availability_zones()["AvailabilityZones"]]
        self.cidrs = ["10.0.1.0/24", "10.0.2.0/24"]
        self.subnets = [self.ec2.create_subnet(
            VpcId=self.vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
            for cidr, zone in zip(self.cidrs, zones)]
        # A route to the internet, so tasks with a public IP can pull images.
        self.igw = self.ec2.create_internet_gateway()["InternetGateway"][
            "InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=self.igw, VpcId=self.vpc)
        self.main_table = self.ec2.describe_route_tables(Filters=[
            {"Name": "vpc-id", "Values": [self.vpc]},
            {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0][
            "RouteTableId"]
        self.ec2.create_route(RouteTableId=self.main_table,
                              DestinationCidrBlock="0.0.0.0/0", GatewayId=self.igw)
        self.sg = self.ec2.create_security_group(
            GroupName=name, Description="ecslab test", VpcId=self.vpc)["GroupId"]
        self.cluster = self.ecs.create_cluster(
            clusterName=name)["cluster"]["clusterName"]
        self.log_group = f"/ecslab/test/{name}"
        self.logs.create_log_group(logGroupName=self.log_group)

    @property
    def network(self) -> dict:
        return self.network_with("ENABLED")

    def network_with(self, public_ip: str) -> dict:
        return {"awsvpcConfiguration": {"subnets": self.subnets[:1],
                                        "securityGroups": [self.sg],
                                        "assignPublicIp": public_ip}}

    def task_definition(self, image: str, container: str = "app",
                        log_group: str | None = None, port: int | None = None) -> str:
        spec = {"name": container, "image": image, "memory": 512, "essential": True,
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": log_group or self.log_group,
                    "awslogs-region": "ap-northeast-1",
                    "awslogs-stream-prefix": "ecs"}}}
        if port:
            spec["portMappings"] = [{"containerPort": port, "protocol": "tcp"}]
        return self.ecs.register_task_definition(
            family=unique(self.name), networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[spec])["taskDefinition"]["taskDefinitionArn"]

    def run(self, task_definition: str, network: dict | None = None) -> dict:
        return self.ecs.run_task(cluster=self.cluster, taskDefinition=task_definition,
                                 launchType="FARGATE",
                                 networkConfiguration=network or self.network
                                 )["tasks"][0]

    def describe(self, arn: str) -> dict:
        return self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]

    def wait(self, waiter: str, arns: list[str]) -> None:
        self.ecs.get_waiter(waiter).wait(cluster=self.cluster, tasks=arns,
                                         WaiterConfig=FAST)

    def load_balanced_target_group(self) -> str:
        """An ALB, an ``ip`` target group behind its listener: as the service lab.

        Health checks every 10 s, 5 to be healthy (50 s, 1 s at test speed);
        deregistration delay 30 s (0.6 s at test speed).
        """
        short = self.name[-20:].strip("-")
        lb = self.elb.create_load_balancer(
            Name=f"{short}-alb", Subnets=self.subnets, SecurityGroups=[self.sg],
            Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
        group = self.elb.create_target_group(
            Name=f"{short}-tg", Protocol="HTTP", Port=80, VpcId=self.vpc,
            TargetType="ip", HealthCheckIntervalSeconds=10,
            HealthyThresholdCount=5)["TargetGroups"][0]["TargetGroupArn"]
        self.elb.modify_target_group_attributes(TargetGroupArn=group, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
        self.elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                 DefaultActions=[{"Type": "forward",
                                                  "TargetGroupArn": group}])
        return group

    def service(self, name: str, task_definition: str, count: int,
                target_group: str | None = None) -> dict:
        extra = {}
        if target_group:
            extra["loadBalancers"] = [{"targetGroupArn": target_group,
                                       "containerName": "web", "containerPort": 80}]
        return self.ecs.create_service(
            cluster=self.cluster, serviceName=name, taskDefinition=task_definition,
            desiredCount=count, launchType="FARGATE",
            networkConfiguration=self.network, **extra)["service"]

    def describe_service(self, name: str) -> dict:
        return self.ecs.describe_services(cluster=self.cluster,
                                          services=[name])["services"][0]

    def stable(self, name: str) -> dict:
        self.ecs.get_waiter("services_stable").wait(
            cluster=self.cluster, services=[name], WaiterConfig=FAST)
        return self.describe_service(name)

    def service_tasks(self, name: str) -> list[str]:
        return self.ecs.list_tasks(cluster=self.cluster,
                                   serviceName=name)["taskArns"]

    def log_messages(self, stream: str, group: str | None = None) -> list[str]:
        events = self.logs.get_log_events(logGroupName=group or self.log_group,
                                          logStreamName=stream,
                                          startFromHead=True)["events"]
        return [e["message"] for e in events]


@pytest.fixture
def lab(session, request):
    return Lab(session, unique(request.node.name.replace("_", "-")[5:30]))


def task_ip(task: dict) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["privateIPv4Address"]


def task_eni(task: dict) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["networkInterfaceId"]


# --- standalone tasks ---------------------------------------------------------------


def test_hello_world_runs_to_completion_and_logs(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html

    A run-to-completion container exits on its own: the task stops with exit
    code 0, EssentialContainerExited, and its awslogs stream holds its output.
    """
    task = lab.run(lab.task_definition(HELLO, container="hello"))
    assert task["lastStatus"] == "PROVISIONING"
    assert task["desiredStatus"] == "RUNNING"

    lab.wait("tasks_stopped", [task["taskArn"]])
    stopped = lab.describe(task["taskArn"])

    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["desiredStatus"] == "STOPPED"
    container = stopped["containers"][0]
    assert container["lastStatus"] == "STOPPED" and container["exitCode"] == 0

    task_id = task["taskArn"].split("/")[-1]
    messages = lab.log_messages(f"ecs/hello/{task_id}")
    assert "no container ran on this machine" in messages[0]
    assert "Hello from Docker!" in messages


def test_task_status_advances_with_time_not_with_calls(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html

    Statuses come in lifecycle order; many quick describes in a row do not move
    a task on (moto alone advances one state per call).
    """
    arn = lab.run(lab.task_definition(HTTPD))["taskArn"]
    burst = {lab.describe(arn)["lastStatus"] for _ in range(5)}
    assert burst <= {"PROVISIONING", "PENDING"}

    seen = []
    for _ in range(400):
        status = lab.describe(arn)["lastStatus"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "RUNNING":
            break
        time.sleep(0.01)
    assert seen[-1] == "RUNNING"
    assert seen == sorted(seen, key=LIFECYCLE.index)
    lab.ecs.stop_task(cluster=lab.cluster, task=arn)


def test_server_runs_until_stopped_by_user(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html

    httpd keeps running; StopTask sets desiredStatus STOPPED at once and the task
    then stops with UserInitiated and "Task stopped by user".
    """
    arn = lab.run(lab.task_definition(HTTPD))["taskArn"]
    lab.wait("tasks_running", [arn])
    time.sleep(1.0)  # 50 realistic seconds: a server is still up
    assert lab.describe(arn)["lastStatus"] == "RUNNING"

    answer = lab.ecs.stop_task(cluster=lab.cluster, task=arn)["task"]
    assert answer["desiredStatus"] == "STOPPED"
    assert answer["lastStatus"] in ("RUNNING", "DEACTIVATING")

    lab.wait("tasks_stopped", [arn])
    task = lab.describe(arn)
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "Task stopped by user"
    assert task["containers"][0]["exitCode"] == 0


def test_timestamps_are_filled_in_order(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html"""
    arn = lab.run(lab.task_definition(HTTPD))["taskArn"]
    lab.wait("tasks_running", [arn])
    running = lab.describe(arn)
    assert "stoppedAt" not in running and "exitCode" not in running["containers"][0]

    lab.ecs.stop_task(cluster=lab.cluster, task=arn, reason="done with it")
    lab.wait("tasks_stopped", [arn])
    task = lab.describe(arn)

    order = ["createdAt", "pullStartedAt", "pullStoppedAt", "startedAt",
             "stoppingAt", "executionStoppedAt", "stoppedAt"]
    stamps = [task[key] for key in order]
    assert stamps == sorted(stamps)
    assert task["stoppedReason"] == "done with it"


def test_eni_address_is_in_its_subnet_and_released_on_stop(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html

    The task's interface takes an address from its subnet (not the first four
    or the last) and is deleted once the task stops.
    """
    arn = lab.run(lab.task_definition(HTTPD))["taskArn"]
    lab.wait("tasks_running", [arn])
    task = lab.describe(arn)
    ip = ipaddress.ip_address(task_ip(task))
    subnet = ipaddress.ip_network(lab.cidrs[0])
    assert ip in subnet and ip not in list(subnet)[:4] + [subnet.broadcast_address]
    assert task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] \
        == str(ip)

    eni = task_eni(task)
    found = lab.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])
    assert found["NetworkInterfaces"][0]["PrivateIpAddress"] == str(ip)

    lab.ecs.stop_task(cluster=lab.cluster, task=arn)
    lab.wait("tasks_stopped", [arn])
    with pytest.raises(ClientError) as error:
        lab.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])
    assert error.value.response["Error"]["Code"] == "InvalidNetworkInterfaceID.NotFound"


def test_missing_log_group_fails_the_task(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html

    With no log group the awslogs driver cannot start: ResourceInitializationError,
    stop code TaskFailedToStart, and no container ever ran.
    """
    arn = lab.run(lab.task_definition(HELLO, log_group="/ecslab/test/missing"))[
        "taskArn"]
    lab.wait("tasks_stopped", [arn])
    task = lab.describe(arn)

    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("ResourceInitializationError:")
    assert "The specified log group does not exist" in task["stoppedReason"]
    assert "startedAt" not in task
    assert "exitCode" not in task["containers"][0]


def test_no_public_ip_and_no_nat_cannot_pull_the_image(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html

    A task in a public subnet without a public IP has no route to the registry
    (the internet gateway only serves public addresses): CannotPullContainerError.
    """
    arn = lab.run(lab.task_definition(HELLO), lab.network_with("DISABLED"))[
        "taskArn"]
    lab.wait("tasks_stopped", [arn])
    task = lab.describe(arn)

    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError:")
    assert "public.ecr.aws" in task["stoppedReason"]
    assert task["containers"][0]["reason"].startswith("CannotPullContainerError")
    assert "startedAt" not in task


def test_a_nat_gateway_lets_a_private_task_pull(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html

    Without a public IP the task needs a NAT gateway route to reach the registry.
    """
    allocation = lab.ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = lab.ec2.create_nat_gateway(SubnetId=lab.subnets[1],
                                     AllocationId=allocation)["NatGateway"][
        "NatGatewayId"]
    private = lab.ec2.create_route_table(VpcId=lab.vpc)["RouteTable"]["RouteTableId"]
    lab.ec2.create_route(RouteTableId=private, DestinationCidrBlock="0.0.0.0/0",
                         NatGatewayId=nat)
    lab.ec2.associate_route_table(RouteTableId=private, SubnetId=lab.subnets[0])

    arn = lab.run(lab.task_definition(HELLO), lab.network_with("DISABLED"))[
        "taskArn"]
    lab.wait("tasks_stopped", [arn])
    task = lab.describe(arn)
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["containers"][0]["exitCode"] == 0


def test_list_tasks_filters_by_desired_status(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html

    Without desiredStatus only tasks meant to run are listed.
    """
    stopped = lab.run(lab.task_definition(HELLO))["taskArn"]
    running = lab.run(lab.task_definition(HTTPD))["taskArn"]
    lab.wait("tasks_stopped", [stopped])

    default = lab.ecs.list_tasks(cluster=lab.cluster)["taskArns"]
    done = lab.ecs.list_tasks(cluster=lab.cluster, desiredStatus="STOPPED")["taskArns"]
    assert default == [running]
    assert done == [stopped]
    lab.ecs.stop_task(cluster=lab.cluster, task=running)


def test_list_tasks_lists_the_named_cluster_only(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html

    ``cluster`` names the cluster whose tasks are listed; a cluster whose name
    ends with this one's keeps its tasks to itself.
    """
    definition = lab.task_definition(HTTPD)
    mine = lab.run(definition)["taskArn"]
    outer = lab.ecs.create_cluster(clusterName=f"x{lab.cluster}")["cluster"]
    theirs = lab.ecs.run_task(cluster=outer["clusterName"], taskDefinition=definition,
                              launchType="FARGATE",
                              networkConfiguration=lab.network)["tasks"][0]["taskArn"]

    assert lab.ecs.list_tasks(cluster=lab.cluster)["taskArns"] == [mine]
    assert lab.ecs.list_tasks(cluster=outer["clusterArn"])["taskArns"] == [theirs]
    lab.ecs.stop_task(cluster=lab.cluster, task=mine)
    lab.ecs.stop_task(cluster=outer["clusterName"], task=theirs)


def test_list_task_definitions_sorts_by_family_then_revision(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitions.html

    ASC (the default) lists a family's newest revision last, DESC first, with
    revisions compared as numbers (10 after 9).
    """
    spec = {"name": "app", "image": HELLO, "memory": 512}
    family = unique(lab.name)
    for _ in range(10):
        lab.ecs.register_task_definition(
            family=family, networkMode="awsvpc", cpu="256", memory="512",
            requiresCompatibilities=["FARGATE"], containerDefinitions=[spec])

    def revisions(**order) -> list[int]:
        arns = lab.ecs.list_task_definitions(familyPrefix=family,
                                             **order)["taskDefinitionArns"]
        return [int(arn.rsplit(":", 1)[-1]) for arn in arns]

    assert revisions() == list(range(1, 11))
    assert revisions(sort="ASC") == list(range(1, 11))
    assert revisions(sort="DESC") == list(range(10, 0, -1))


def test_stopping_an_unknown_task_is_refused(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html"""
    with pytest.raises(ClientError) as error:
        lab.ecs.stop_task(cluster=lab.cluster, task="0123456789abcdef0123456789abcdef")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


# --- services -----------------------------------------------------------------------


def test_service_reaches_steady_state_and_lists_its_tasks(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html

    The scheduler starts the desired count (startedBy its deployment, group
    service:<name>), writes AWS's events and reports a steady state, so the
    services_stable waiter works; ListTasks(serviceName) lists those tasks only.
    """
    definition = lab.task_definition(HTTPD, container="web", port=80)
    lab.run(definition)  # a standalone task in the same cluster, not the service's
    name = unique("web")
    created = lab.service(name, definition, 3)
    assert created["runningCount"] == 0 and created["desiredCount"] == 3

    service = lab.stable(name)
    assert service["runningCount"] == 3 and service["pendingCount"] == 0
    deployment = service["deployments"][0]
    assert deployment["rolloutState"] == "COMPLETED"
    assert deployment["runningCount"] == 3

    arns = lab.service_tasks(name)
    assert len(arns) == 3
    tasks = lab.ecs.describe_tasks(cluster=lab.cluster, tasks=arns)["tasks"]
    assert {t["startedBy"] for t in tasks} == {deployment["id"]}
    assert {t["group"] for t in tasks} == {f"service:{name}"}
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"}

    messages = wait_for(lambda: [e["message"] for e in
                                 lab.describe_service(name)["events"]
                                 if "steady state" in e["message"]] and
                        [e["message"] for e in lab.describe_service(name)["events"]])
    assert f"(service {name}) has reached a steady state." in messages
    started = [m for m in messages if "has started 3 tasks:" in m]
    assert started and all(a.split("/")[-1] in started[0] for a in arns)


def test_service_tasks_spread_across_availability_zones(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html

    Fargate spreads a service's tasks across the Availability Zones of its subnets.
    """
    definition = lab.task_definition(HTTPD, container="web", port=80)
    name = unique("spread")
    lab.ecs.create_service(
        cluster=lab.cluster, serviceName=name, taskDefinition=definition,
        desiredCount=4, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": lab.subnets, "securityGroups": [lab.sg],
            "assignPublicIp": "ENABLED"}})
    lab.stable(name)
    tasks = lab.ecs.describe_tasks(cluster=lab.cluster,
                                   tasks=lab.service_tasks(name))["tasks"]
    zones = [t["availabilityZone"] for t in tasks]
    assert sorted(zones.count(z) for z in set(zones)) == [2, 2]


def test_service_replaces_a_stopped_task(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html

    A service keeps its desired count: a task stopped by hand is replaced.
    """
    name = unique("web")
    lab.service(name, lab.task_definition(HTTPD, container="web", port=80), 3)
    lab.stable(name)
    before = set(lab.service_tasks(name))

    victim = sorted(before)[0]
    lab.ecs.stop_task(cluster=lab.cluster, task=victim)
    lab.wait("tasks_stopped", [victim])

    after = wait_for(lambda: (len(set(lab.service_tasks(name)) - before) == 1
                              and set(lab.service_tasks(name))))
    assert victim not in after and len(after) == 3
    assert lab.stable(name)["runningCount"] == 3


def test_service_scales_in_and_out(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html"""
    name = unique("web")
    lab.service(name, lab.task_definition(HTTPD, container="web", port=80), 3)
    lab.stable(name)

    lab.ecs.update_service(cluster=lab.cluster, service=name, desiredCount=1)
    assert lab.stable(name)["runningCount"] == 1
    assert len(lab.service_tasks(name)) == 1
    stopped = lab.ecs.list_tasks(cluster=lab.cluster, serviceName=name,
                                 desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stoppedReason"] for t in lab.ecs.describe_tasks(
        cluster=lab.cluster, tasks=stopped)["tasks"]}
    assert len(stopped) == 2
    assert all(r.startswith("Scaling activity initiated by (deployment ecs-svc/")
               for r in reasons)

    answer = lab.ecs.update_service(cluster=lab.cluster, service=name,
                                    desiredCount=5)["service"]
    assert answer["runningCount"] == 1 and answer["desiredCount"] == 5
    assert lab.stable(name)["runningCount"] == 5
    assert len(lab.service_tasks(name)) == 5


def test_service_answers_its_deployment_configuration(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html

    Left out, a rolling update allows 200% and keeps 100%; UpdateService changes
    only the members it names.
    """
    name = unique("web")
    made = lab.service(name, lab.task_definition(HTTPD, container="web", port=80), 1)
    assert made["deploymentConfiguration"]["maximumPercent"] == 200
    assert made["deploymentConfiguration"]["minimumHealthyPercent"] == 100

    updated = lab.ecs.update_service(
        cluster=lab.cluster, service=name,
        deploymentConfiguration={"minimumHealthyPercent": 50})["service"]
    assert updated["deploymentConfiguration"]["maximumPercent"] == 200
    assert updated["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert lab.describe_service(name)["deploymentConfiguration"] == \
        updated["deploymentConfiguration"]


def _timeline(tasks: list[dict], since) -> list[tuple[int, int]]:
    """(tasks starting or running, tasks running) just after each moment a task
    was created, started or told to stop, from ``since`` on."""
    never = max(t["createdAt"] for t in tasks).replace(year=9999)
    moments = sorted({t[key] for t in tasks for key in
                      ("createdAt", "startedAt", "stoppingAt") if key in t})
    counts = []
    for moment in moments:
        if moment < since:
            continue
        live = [t for t in tasks if t["createdAt"] <= moment < t.get("stoppingAt",
                                                                      never)]
        counts.append((len(live), sum("startedAt" in t and t["startedAt"] <= moment
                                      for t in live)))
    return counts


@pytest.mark.parametrize("maximum, minimum", [(200, 100), (100, 50), (150, 50)])
def test_rolling_update_keeps_within_its_bounds(lab, maximum, minimum):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html

    During a rolling update at most maximumPercent of the desired count is
    starting or running (rounded down) and at least minimumHealthyPercent is
    running (rounded up); the old tasks are all replaced.
    """
    name, desired = unique("web"), 4
    first = lab.task_definition(HTTPD, container="web", port=80)
    lab.ecs.create_service(
        cluster=lab.cluster, serviceName=name, taskDefinition=first,
        desiredCount=desired, launchType="FARGATE", networkConfiguration=lab.network,
        deploymentConfiguration={"maximumPercent": maximum,
                                 "minimumHealthyPercent": minimum})
    lab.stable(name)
    old = set(lab.service_tasks(name))

    second = lab.ecs.register_task_definition(**{
        key: value for key, value in lab.ecs.describe_task_definition(
            taskDefinition=first)["taskDefinition"].items()
        if key in ("family", "networkMode", "requiresCompatibilities", "cpu",
                   "memory", "containerDefinitions")})["taskDefinition"]
    since = lab.ecs.update_service(
        cluster=lab.cluster, service=name,
        taskDefinition=second["taskDefinitionArn"])["service"]["deployments"][0][
        "createdAt"]
    service = lab.stable(name)

    assert [d["taskDefinition"] for d in service["deployments"]] == [
        second["taskDefinitionArn"]]
    new = set(lab.service_tasks(name))
    assert len(new) == desired and not new & old
    arns = sorted(old | new | set(lab.ecs.list_tasks(
        cluster=lab.cluster, serviceName=name, desiredStatus="STOPPED")["taskArns"]))
    tasks = lab.ecs.describe_tasks(cluster=lab.cluster, tasks=arns)["tasks"]
    counts = _timeline(tasks, since)
    assert counts, "no task was started or stopped during the update"
    assert max(live for live, _ in counts) <= desired * maximum // 100
    assert min(running for _, running in counts) >= -(-desired * minimum // 100)


def test_service_registers_task_ips_as_healthy_targets(lab):
    """https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html

    Each task's IP is registered on the container port; a target is ``initial``
    until its health checks pass, then ``healthy``; a stopped task's target
    drains before it goes.
    """
    group = lab.load_balanced_target_group()
    name = unique("web")
    lab.service(name, lab.task_definition(HTTPD, container="web", port=80), 2,
                target_group=group)

    def health():
        return {(d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]["State"]
                for d in lab.elb.describe_target_health(
                    TargetGroupArn=group)["TargetHealthDescriptions"]}

    first = wait_for(lambda: len(health()) == 2 and health())
    assert set(first.values()) == {"initial"}
    wait_for(lambda: set(health().values()) == {"healthy"})

    tasks = lab.ecs.describe_tasks(cluster=lab.cluster,
                                   tasks=lab.service_tasks(name))["tasks"]
    assert set(health()) == {(task_ip(t), 80) for t in tasks}

    victim = tasks[0]
    lab.ecs.stop_task(cluster=lab.cluster, task=victim["taskArn"])
    wait_for(lambda: health().get((task_ip(victim), 80)) == "draining")
    wait_for(lambda: (task_ip(victim), 80) not in health())
    messages = [e["message"] for e in lab.describe_service(name)["events"]]
    assert any(f"registered 1 targets in (target-group {group})" in m
               for m in messages)
    assert any("has begun draining connections on 1 tasks." in m for m in messages)


def test_deleting_a_service_drains_it(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html

    After DeleteService the service is DRAINING while its tasks stop, then
    INACTIVE.
    """
    name = unique("web")
    lab.service(name, lab.task_definition(HTTPD, container="web", port=80), 2)
    lab.stable(name)
    arns = lab.service_tasks(name)

    deleted = lab.ecs.delete_service(cluster=lab.cluster, service=name,
                                     force=True)["service"]
    assert deleted["status"] == "DRAINING"

    lab.ecs.get_waiter("services_inactive").wait(
        cluster=lab.cluster, services=[name], WaiterConfig=FAST)
    stopped = lab.ecs.describe_tasks(cluster=lab.cluster, tasks=arns)["tasks"]
    assert {t["lastStatus"] for t in stopped} == {"STOPPED"}
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}


def test_list_services_shows_only_active_services_of_that_cluster(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html

    A DRAINING service is no longer visible in ListServices (nor, later, an
    INACTIVE one), while DescribeServices still shows it. ListServices lists the
    named cluster's services only, even where another cluster's name ends with it.
    """
    definition = lab.task_definition(HTTPD, container="web", port=80)
    kept, dropped = unique("kept"), unique("dropped")
    lab.service(kept, definition, 1)
    lab.service(dropped, definition, 1)
    outer = lab.ecs.create_cluster(clusterName=f"x{lab.cluster}")["cluster"]
    lab.ecs.create_service(cluster=outer["clusterName"], serviceName=unique("other"),
                           taskDefinition=definition, desiredCount=0,
                           launchType="FARGATE", networkConfiguration=lab.network)

    def listed() -> set[str]:
        return {arn.rsplit("/", 1)[-1] for arn in
                lab.ecs.list_services(cluster=lab.cluster)["serviceArns"]}

    assert listed() == {kept, dropped}
    lab.ecs.delete_service(cluster=lab.cluster, service=dropped, force=True)
    assert lab.describe_service(dropped)["status"] == "DRAINING"
    assert listed() == {kept}
    lab.ecs.get_waiter("services_inactive").wait(
        cluster=lab.cluster, services=[dropped], WaiterConfig=FAST)
    assert listed() == {kept}


# --- at a slower speed, in an emulator process of its own -------------------------
#
# At test speed a task spends 0.32 s starting and 20 ms in its shortest status,
# too short to be sure a look over the network lands in it. An emulator at SLOW
# keeps each status long enough to be seen between two looks.

SLOW = 0.2  # 16 realistic seconds to start: 3.2 s; the shortest status 1 s: 0.2 s


@pytest.fixture(scope="module")
def slow_session():
    """A session on an emulator process serving at speed ``SLOW``, for this module."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ecslab", "emulator", "serve", "--speed", str(SLOW)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("ecslab emulator listening on "), line
        url = line.split()[-1]
        assert emulator.ping(url)["speed"] == SLOW
        yield Session(target="local", endpoint_url=url)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def slow_lab(slow_session, request):
    return Lab(slow_session, unique(request.node.name.replace("_", "-")[5:30]))


def watch_until_stopped(lab, arn: str, timeout: float = 30.0):
    """Describe the task until it is STOPPED.

    Returns each status in the order first seen, and the longest time that two
    looks in a row could have been apart inside the emulator (from sending one
    request to the answer of the next), in seconds.
    """
    seen: list[str] = []
    widest, sent_before = 0.0, None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = time.monotonic()
        status = lab.describe(arn)["lastStatus"]
        if sent_before is not None:
            widest = max(widest, time.monotonic() - sent_before)
        sent_before = sent
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "STOPPED":
            return seen, widest
        time.sleep(0.02)
    raise AssertionError(f"task not STOPPED after {timeout}s: {seen}")


def test_describe_tasks_shows_all_eight_lifecycle_states(slow_lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html

    Against an emulator process, DescribeTasks shows a hello-world task in every
    documented status, each once, in the documented order.
    """
    # RUNNING (hello-world's run) and DEACTIVATING are the shortest statuses.
    shortest = SLOW * min(images.HELLO_WORLD.run_seconds,
                          dataplane.DURATIONS["DEACTIVATING"])
    definition = slow_lab.task_definition(HELLO, container="hello")
    for _ in range(3):
        arn = slow_lab.run(definition)["taskArn"]
        seen, widest = watch_until_stopped(slow_lab, arn)
        assert seen == sorted(set(seen), key=LIFECYCLE.index), seen
        # A pause on a busy machine longer than a status lasts could hide that
        # status; only a watch with no such pause can show all eight.
        if widest < shortest:
            break
    else:
        raise AssertionError(f"every watch paused {widest:.2f}s or more, longer "
                             f"than the shortest status ({shortest:.2f}s)")

    assert seen == LIFECYCLE
    stopped = slow_lab.describe(arn)
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["containers"][0]["exitCode"] == 0


def test_service_counts_pending_tasks_until_they_run(slow_lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html

    While the scheduler's new tasks start, the service reports them in
    pendingCount, with runningCount below the desired count; at the steady state
    pendingCount is 0 and runningCount is the desired count.
    """
    name, desired = unique("web"), 2
    slow_lab.service(name, slow_lab.task_definition(HTTPD, container="web",
                                                    port=80), desired)

    counts = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        service = slow_lab.describe_service(name)
        counts.append((service["pendingCount"], service["runningCount"]))
        if counts[-1] == (0, desired):
            break
        time.sleep(0.05)

    assert counts[-1] == (0, desired), counts
    assert any(pending > 0 and running < desired for pending, running in counts)
    # The scheduler never starts more than the desired count.
    assert all(pending + running <= desired for pending, running in counts)
    assert {t["lastStatus"] for t in slow_lab.ecs.describe_tasks(
        cluster=slow_lab.cluster, tasks=slow_lab.service_tasks(name))["tasks"]} \
        == {"RUNNING"}


# --- the data plane's own clock -----------------------------------------------------
#
# The reconciler moves tasks on with ``DataPlane.advance(now=...)``. Driving that
# clock by hand, in this process (moto under ``mock_aws``, no reconciler thread,
# no HTTP), shows every status a task passes through and when, at any speed,
# without waiting for real minutes or racing a 20 ms status over the network.

REGION = "ap-northeast-1"
TICKS = 0.1  # realistic seconds between two looks at the task; every phase is >= 1 s


class ClockLab:
    """A public subnet, cluster and log group in in-process moto; tasks run by
    a ``DataPlane`` of the given speed whose clock the test turns."""

    def __init__(self):
        def client(name):
            return boto3.client(name, region_name=REGION,
                                aws_access_key_id="testing",
                                aws_secret_access_key="testing")

        self.ec2, self.ecs, self.logs = client("ec2"), client("ecs"), client("logs")
        vpc = self.ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")[
            "Subnet"]["SubnetId"]
        igw = self.ec2.create_internet_gateway()["InternetGateway"][
            "InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        table = self.ec2.describe_route_tables(Filters=[
            {"Name": "vpc-id", "Values": [vpc]}])["RouteTables"][0]["RouteTableId"]
        self.ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0",
                              GatewayId=igw)
        group = self.ec2.create_security_group(
            GroupName="clock", Description="clock", VpcId=vpc)["GroupId"]
        self.network = {"awsvpcConfiguration": {
            "subnets": [subnet], "securityGroups": [group],
            "assignPublicIp": "ENABLED"}}
        self.ecs.create_cluster(clusterName="clock")
        self.logs.create_log_group(logGroupName="/ecslab/clock")
        self.definition = self.ecs.register_task_definition(
            family="clock", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512", containerDefinitions=[{
                "name": "hello", "image": HELLO, "memory": 512, "essential": True,
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecslab/clock", "awslogs-region": REGION,
                    "awslogs-stream-prefix": "ecs"}}}],
        )["taskDefinition"]["taskDefinitionArn"]

    def describe(self, arn: str) -> dict:
        return self.ecs.describe_tasks(cluster="clock", tasks=[arn])["tasks"][0]

    def walk(self, speed: float) -> tuple[list[tuple[str, float]], dict]:
        """Run hello-world on a data plane at ``speed``; turn its clock until the
        task stops. Each status as DescribeTasks first shows it, with its offset
        from createdAt in realistic seconds; and the stopped task."""
        plane = dataplane.DataPlane(speed=speed)
        arn = self.ecs.run_task(cluster="clock", taskDefinition=self.definition,
                                launchType="FARGATE",
                                networkConfiguration=self.network)["tasks"][0][
                                    "taskArn"]
        plane.adopt_task(arn)
        created = self.describe(arn)["createdAt"].timestamp()

        seen: list[tuple[str, float]] = []
        # Half a tick off the grid, so no look falls exactly on a transition.
        for tick in range(int(600 / TICKS)):
            offset = (tick + 0.5) * TICKS
            plane.advance(now=created + offset * speed)
            status = self.describe(arn)["lastStatus"]
            if not seen or seen[-1][0] != status:
                seen.append((status, offset))
            if status == "STOPPED":
                return seen, self.describe(arn)
        raise AssertionError(f"no STOPPED in 600 realistic seconds: {seen}")


@pytest.fixture
def clock_lab():
    with moto_lib.mock_aws():
        yield ClockLab()


def test_a_task_walks_all_eight_lifecycle_states_in_order(clock_lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html

    A run-to-completion task passes through every documented status, each
    once, in the documented order, and ends stopped with its container's exit.
    """
    seen, stopped = clock_lab.walk(speed=server.SPEEDS["fast"])

    assert [status for status, _ in seen] == LIFECYCLE
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["containers"][0]["exitCode"] == 0
    assert stopped["stoppedAt"] >= stopped["executionStoppedAt"] \
        >= stopped["startedAt"]


def test_phase_durations_scale_with_the_speed(clock_lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html

    The same task takes realistic seconds at the realistic speed and the same
    phases times the speed factor at test speed; only the clock differs.
    """
    realistic, fast = server.SPEEDS["realistic"], server.SPEEDS["fast"]
    slow_seen, _ = clock_lab.walk(speed=realistic)
    fast_seen, _ = clock_lab.walk(speed=fast)

    # Offsets are in realistic seconds: the same numbers at both speeds means
    # every phase at test speed lasted ``fast / realistic`` of its realistic time.
    assert [s for s, _ in fast_seen] == [s for s, _ in slow_seen] == LIFECYCLE
    assert [o for _, o in fast_seen] == pytest.approx([o for _, o in slow_seen])

    starting = ("PROVISIONING", "PULL_WAIT", "PULL", "PENDING_TAIL", "ACTIVATING")
    running_at = dict(slow_seen)["RUNNING"]
    assert running_at == pytest.approx(
        sum(dataplane.DURATIONS[phase] for phase in starting), abs=TICKS)

    # In wall-clock terms: a realistic task takes tens of seconds to start, a
    # task at test speed a fraction of one.
    assert running_at * realistic >= 10
    assert running_at * fast < 1


# --- image behaviours ---------------------------------------------------------------


def test_custom_image_behaviour_through_the_control_path(lab, endpoint):
    """The emulator's own control path (``POST /ecslab/images``): no AWS page."""
    image = f"registry.example/{lab.name}/batch:1"
    images.register_image(image.replace(":1", ":*"), images.ImageBehaviour(
        kind="exits", exit_code=3, output=("crunching", "out of numbers")),
        endpoint=endpoint)
    with urllib.request.urlopen(endpoint + images.CONTROL_PATH) as response:
        listed = json.loads(response.read())
    assert listed[0]["pattern"] == image.replace(":1", ":*")

    arn = lab.run(lab.task_definition(image, container="batch"))["taskArn"]
    lab.wait("tasks_stopped", [arn])
    task = lab.describe(arn)
    assert task["containers"][0]["exitCode"] == 3
    assert task["stopCode"] == "EssentialContainerExited"
    assert "out of numbers" in lab.log_messages(f"ecs/batch/{arn.split('/')[-1]}")


def test_control_path_refuses_a_bad_behaviour(endpoint):
    """The emulator's own control path (``POST /ecslab/images``): no AWS page.

    A behaviour the data plane cannot run is refused with HTTP 400, naming the
    rule, and registers nothing.
    """
    request = urllib.request.Request(
        endpoint + images.CONTROL_PATH, method="POST",
        data=json.dumps({"pattern": "x:*", "behaviour": {"kind": "dances"}}).encode())
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 400
    assert "kind must be one of" in error.value.read().decode()

    with urllib.request.urlopen(endpoint + images.CONTROL_PATH) as response:
        patterns = [entry["pattern"] for entry in json.loads(response.read())]
    assert "x:*" not in patterns


def test_an_unregistered_image_serves_until_stopped(lab):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html

    A task stays RUNNING while its essential container runs. An image the
    emulator has no behaviour for is treated as a server: its task is still
    RUNNING long after a hello-world task started beside it has stopped, until
    StopTask (API_StopTask) stops it with UserInitiated.
    """
    image = f"registry.example/{lab.name}/never-registered:1"
    unknown = lab.run(lab.task_definition(image))["taskArn"]
    hello = lab.run(lab.task_definition(HELLO, container="hello"))["taskArn"]
    lab.wait("tasks_running", [unknown])
    lab.wait("tasks_stopped", [hello])

    # hello-world's whole life, measured at this emulator's speed, sets how long
    # to watch: three times as long again after it stopped.
    life = lab.describe(hello)
    watch = 3 * (life["stoppedAt"] - life["createdAt"]).total_seconds()
    looks = []
    deadline = time.monotonic() + max(watch, 1.0)
    while time.monotonic() < deadline:
        task = lab.describe(unknown)
        looks.append((task["lastStatus"], task["containers"][0]["lastStatus"]))
        time.sleep(0.05)
    assert len(looks) >= 10 and set(looks) == {("RUNNING", "RUNNING")}
    messages = lab.log_messages(f"ecs/app/{unknown.split('/')[-1]}")
    assert "unknown image: treated as a server that runs until stopped" in messages

    lab.ecs.stop_task(cluster=lab.cluster, task=unknown)
    lab.wait("tasks_stopped", [unknown])
    stopped = lab.describe(unknown)
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "Task stopped by user"
    assert stopped["containers"][0]["exitCode"] == 0


def test_image_registry_defaults():
    """https://gallery.ecr.aws/docker/library/hello-world and
    https://gallery.ecr.aws/docker/library/httpd

    The two lab images behave as their Amazon ECR Public Gallery pages describe:
    hello-world prints its greeting and exits 0, httpd serves until stopped. Any
    other image is treated as a server: the emulator's choice, as no page says
    what an unknown image does.
    """
    assert images.behaviour_for(HELLO).exits
    assert "Hello from Docker!" in images.behaviour_for(HELLO).output
    assert images.behaviour_for("hello-world").exit_code == 0
    assert not images.behaviour_for(HTTPD).exits
    assert images.behaviour_for("registry.example/never-heard-of:1") \
        is images.UNKNOWN
    with pytest.raises(ValueError, match="kind must be one of"):
        images.ImageBehaviour(kind="sleeps")
