"""Pins of the moto internals that ecslab/emulator/moto_adapter.py relies on.

These run moto in-process (``mock_aws``), without the fidelity layer, so that a
moto upgrade that moves an attribute or changes a behaviour we correct fails
here first, naming the assumption.
"""

from __future__ import annotations

import ipaddress
import random
import time
from datetime import datetime, timezone

import boto3
import moto as moto_lib
import pytest

from ecslab.emulator import moto_adapter as adapter

REGION = "ap-northeast-1"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto_lib.mock_aws():
        yield {name: boto3.client(name, region_name=REGION)
               for name in ("ec2", "ecs", "logs", "elbv2")}


@pytest.fixture
def task(aws):
    """A Fargate task of two containers, run by plain moto; its ARN and subnet."""
    ec2, ecs = aws["ec2"], aws["ecs"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.3.0/24")["Subnet"]
    sg = ec2.create_security_group(GroupName="g", Description="g",
                                   VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="c")
    definition = ecs.register_task_definition(
        family="f", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512", containerDefinitions=[
            {"name": "a", "image": "httpd", "memory": 256},
            {"name": "b", "image": "hello-world", "memory": 256}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.run_task(cluster="c", taskDefinition=definition, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {
                           "subnets": [subnet["SubnetId"]],
                           "securityGroups": [sg]}})["tasks"][0]["taskArn"]
    account = adapter.default_account()
    return {"arn": arn, "account": account, "subnet": subnet, "vpc": vpc, "sg": sg,
            "model": adapter.find_task(account, REGION, arn)}


def test_moto_advances_a_task_per_describe_unless_held(aws, task):
    # The behaviour hold_task_status neutralises: RUNNING -> DEACTIVATING per call.
    ecs = aws["ecs"]
    first = ecs.describe_tasks(cluster="c", tasks=[task["arn"]])["tasks"][0]
    second = ecs.describe_tasks(cluster="c", tasks=[task["arn"]])["tasks"][0]
    assert first["lastStatus"] != second["lastStatus"]

    adapter.hold_task_status(task["model"], "PENDING")
    statuses = {ecs.describe_tasks(cluster="c", tasks=[task["arn"]])["tasks"][0][
        "lastStatus"] for _ in range(3)}
    assert statuses == {"PENDING"}


def test_snake_case_attributes_are_serialized(aws, task):
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    adapter.set_task(task["model"], created_at=moment, stop_code="UserInitiated",
                     stopped_reason="Task stopped by user")
    adapter.set_container(task["model"].containers[0], exitCode=None,
                          runtime_id="r-simulated")

    shown = aws["ecs"].describe_tasks(cluster="c", tasks=[task["arn"]])["tasks"][0]
    assert shown["createdAt"] == moment
    assert shown["stopCode"] == "UserInitiated"
    assert "exitCode" not in shown["containers"][0]
    assert shown["containers"][0]["runtimeId"] == "r-simulated"
    with pytest.raises(KeyError):
        adapter.set_task(task["model"], not_a_field=1)


def test_moto_builds_one_container_and_rebuild_gives_one_per_definition(task):
    assert len(task["model"].containers) == 1
    containers = adapter.rebuild_containers(task["model"])
    assert [c.name for c in containers] == ["a", "b"]
    assert all(c.task_arn == task["arn"] for c in containers)
    assert all(":container/c/" in c.container_arn for c in containers)


def test_eni_is_placed_in_its_subnet_and_deleted(aws, task):
    ip = adapter.place_task_eni(task["account"], REGION, task["model"],
                                random.Random(1))
    network = ipaddress.ip_network(task["subnet"]["CidrBlock"])
    assert ipaddress.ip_address(ip) in network

    attachment = adapter.task_eni_attachment(task["model"])
    assert adapter.attachment_detail(attachment, "privateIPv4Address") == ip
    eni = adapter.attachment_detail(attachment, "networkInterfaceId")
    shown = aws["ec2"].describe_network_interfaces(NetworkInterfaceIds=[eni])
    assert shown["NetworkInterfaces"][0]["PrivateIpAddress"] == ip

    assert adapter.delete_task_eni(task["account"], REGION, task["model"])
    assert not adapter.delete_task_eni(task["account"], REGION, task["model"])


def test_list_tasks_still_ignores_service_name(aws, task):
    # The data plane filters ListTasks(serviceName); when moto starts to, revisit.
    listed = aws["ecs"].list_tasks(cluster="c", serviceName="anything")["taskArns"]
    assert listed == [task["arn"]]


def test_service_model_fields(aws, task):
    aws["ecs"].create_service(
        cluster="c", serviceName="s", desiredCount=2, launchType="FARGATE",
        taskDefinition=task["model"].task_definition_arn,
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": [task["subnet"]["SubnetId"]], "securityGroups": [task["sg"]]}})
    service = adapter.find_service(task["account"], REGION, "c", "s")
    assert service.running_count == 0 and service.pending_count == 2
    assert service.deployments[0]["id"].startswith("ecs-svc/")

    adapter.set_service(service, running_count=2, pending_count=0, events=[
        {"id": "e", "createdAt": datetime.now(timezone.utc), "message": "hi"}])
    shown = aws["ecs"].describe_services(cluster="c", services=["s"])["services"][0]
    assert shown["runningCount"] == 2 and shown["events"][0]["message"] == "hi"

    started = adapter.run_service_tasks(task["account"], REGION, service, 1,
                                        started_by="ecs-svc/1",
                                        task_definition=service.task_definition)
    assert started[0].group == "service:s" and started[0].started_by == "ecs-svc/1"


def test_logs_are_written_to_a_new_stream(aws):
    aws["logs"].create_log_group(logGroupName="g")
    account = adapter.default_account()
    assert adapter.log_group_exists(account, REGION, "g")
    assert not adapter.log_group_exists(account, REGION, "missing")

    now_ms = int(time.time() * 1000)
    adapter.write_log_events(account, REGION, "g", "p/c/t", [(now_ms, "one"),
                                                              (now_ms + 1, "two")])
    events = aws["logs"].get_log_events(logGroupName="g", logStreamName="p/c/t",
                                        startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["one", "two"]


def test_moto_reports_targets_healthy_at_once(aws, task):
    # The behaviour the data plane corrects with initial -> healthy.
    group = aws["elbv2"].create_target_group(
        Name="tg", Protocol="HTTP", Port=80, VpcId=task["vpc"], TargetType="ip",
        HealthCheckIntervalSeconds=10, HealthyThresholdCount=3,
    )["TargetGroups"][0]["TargetGroupArn"]
    model = adapter.target_group_of(task["account"], REGION, group)
    timing = adapter.target_group_timing(model)
    assert timing == {"healthy_after": 30.0, "drain": 300.0, "target_type": "ip"}

    adapter.register_target(task["account"], REGION, group, "10.9.3.9", 80)
    health = aws["elbv2"].describe_target_health(TargetGroupArn=group)
    assert health["TargetHealthDescriptions"][0]["TargetHealth"]["State"] == \
        "healthy"
    adapter.deregister_target(task["account"], REGION, group, "10.9.3.9", 80)
    adapter.deregister_target(task["account"], REGION, group, "10.9.3.9", 80)


def test_task_lookup_and_cluster_counts(aws, task):
    found = adapter.find_task_in_cluster(task["account"], REGION, "c",
                                         task["arn"].split("/")[-1])
    assert found is task["model"]
    assert adapter.find_task_in_cluster(task["account"], REGION, "c", "nope") is None

    adapter.set_cluster_counts(task["account"], REGION, "c", 4, 1, 2)
    cluster = aws["ecs"].describe_clusters(clusters=["c"])["clusters"][0]
    assert (cluster["runningTasksCount"], cluster["pendingTasksCount"],
            cluster["activeServicesCount"]) == (4, 1, 2)


def test_service_linked_roles_are_named_as_on_aws(session):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html"""
    iam = session.client("iam")
    role = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForECS"
    assert iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]["Path"] == \
        "/aws-service-role/ecs.amazonaws.com/"
    iam.delete_service_linked_role(RoleName="AWSServiceRoleForECS")
