"""The guards: AWS's validation rules, in the emulator and as a client-side preflight.

Each emulator test sends a request AWS refuses and its accepted twin through boto3;
each names the AWS documentation page the rule follows. Names carry a uuid suffix
because one emulator serves the whole test run.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import botocore.parsers
import botocore.session
import pytest
from botocore.exceptions import ClientError

from ecslab import commands, rules
from ecslab.emulator import guards

REGION = "ap-northeast-1"
ZONES = ("ap-northeast-1a", "ap-northeast-1c")
HTTPD = "public.ecr.aws/docker/library/httpd:latest"


def unique(prefix: str = "g") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def refused(call, code: str, status: int = 400, says: str | None = None):
    """Run ``call``; assert AWS's error code, HTTP status and message part."""
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert error["Code"] == code, error
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if says is not None:
        assert says in error["Message"], error["Message"]
    return error["Message"]


# --- Shared resources -------------------------------------------------------------

@pytest.fixture(scope="module")
def ecs(session):
    return session.client("ecs")


@pytest.fixture(scope="module")
def ec2(session):
    return session.client("ec2")


@pytest.fixture(scope="module")
def elbv2(session):
    return session.client("elbv2")


@pytest.fixture(scope="module")
def network(ec2):
    """A public VPC with a subnet in each of two zones and a security group."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # moto's awsvpc RunTask needs DNS hostnames on the VPC.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                          AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for i, zone in enumerate(ZONES, start=1)
    ]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0",
                     GatewayId=gateway)
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    group = ec2.create_security_group(GroupName=unique("grp"), Description="guards",
                                      VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnets": subnets, "group": group}


@pytest.fixture(scope="module")
def awsvpc(network):
    return {"awsvpcConfiguration": {"subnets": network["subnets"][:1],
                                    "securityGroups": [network["group"]],
                                    "assignPublicIp": "ENABLED"}}


def container(name: str = "web", port: int | None = 80) -> dict:
    definition = {"name": name, "image": HTTPD, "memory": 512, "essential": True}
    if port is not None:
        definition["portMappings"] = [{"containerPort": port, "protocol": "tcp"}]
    return definition


@pytest.fixture(scope="module")
def fargate_family(ecs):
    family = unique("fargate")
    ecs.register_task_definition(
        family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512", containerDefinitions=[container()])
    return family


@pytest.fixture(scope="module")
def ec2_family(ecs):
    family = unique("bridge")
    ecs.register_task_definition(family=family, containerDefinitions=[container()])
    return family


@pytest.fixture(scope="module")
def cluster(ecs):
    return ecs.create_cluster(clusterName=unique("cluster"))["cluster"]["clusterName"]


@pytest.fixture(scope="module")
def balancer(elbv2, network):
    """An internet-facing ALB with an ``ip`` target group behind a listener."""
    lb = elbv2.create_load_balancer(
        Name=unique("alb"), Subnets=network["subnets"],
        SecurityGroups=[network["group"]])["LoadBalancers"][0]["LoadBalancerArn"]
    ip_group = elbv2.create_target_group(
        Name=unique("ip"), Protocol="HTTP", Port=80, VpcId=network["vpc"],
        TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward",
                                           "TargetGroupArn": ip_group}])
    return {"lb": lb, "ip_group": ip_group}


# --- Preflight, without the emulator --------------------------------------------

@pytest.mark.parametrize("cpu", sorted(rules.FARGATE_SIZES))
def test_every_fargate_size_in_the_table_passes(cpu):
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html
    for memory in rules.FARGATE_SIZES[cpu]:
        rules.preflight("ecs", "RegisterTaskDefinition", fargate(cpu, memory))


@pytest.mark.parametrize("cpu, memory", [
    (256, 4096), (256, 256), (512, 512), (512, 5120), (1024, 1024), (1024, 9216),
    (2048, 2048), (2048, 17408), (4096, 4096), (4096, 31744), (8192, 8192),
    (8192, 18432), (8192, 65536), (16384, 16384), (16384, 36864), (128, 512),
    (3072, 8192),
])
def test_fargate_refuses_sizes_outside_the_table(cpu, memory):
    with pytest.raises(rules.PreflightError) as info:
        rules.preflight("ecs", "RegisterTaskDefinition", fargate(cpu, memory))
    assert info.value.code == "ClientException"
    assert info.value.rule.id == "fargate-cpu-memory"


def test_fargate_table_steps_match_the_aws_page():
    # 8 vCPU: 16-60 GB in 4 GB steps; 16 vCPU: 32-120 GB in 8 GB steps.
    assert rules.fargate_memory_choices("8 vCPU") == tuple(
        gb * 1024 for gb in range(16, 61, 4))
    assert rules.fargate_memory_choices(16384)[-1] == 120 * 1024
    assert rules.fargate_memory_choices("0.25 vCPU") == (512, 1024, 2048)
    assert rules.fargate_memory_choices(300) == ()


@pytest.mark.parametrize("cpu, memory", [
    ("0.25 vCPU", "0.5GB"), ("0.25 vcpu", "1 GB"), ("1 vCPU", "2 GB"),
    ("1024", "8192"), (" 2 vCPU ", "16GB"), ("0.5 vCPU", 4096),
])
def test_fargate_accepts_the_string_forms(cpu, memory):
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size
    rules.preflight("ecs", "RegisterTaskDefinition", fargate(cpu, memory))


def test_cpu_and_memory_forms_parse_to_units():
    assert rules.parse_cpu("0.25 vCPU") == 256
    assert rules.parse_cpu("1 vcpu") == 1024
    assert rules.parse_cpu("512") == 512
    assert rules.parse_memory("1 GB") == 1024
    assert rules.parse_memory("0.5GB") == 512
    for bad in ("fast", "", "0.3 vCPU", "256.5", "-256", True, None):
        assert rules.parse_cpu(bad) is None, bad
    assert rules.parse_memory("lots") is None


def test_unreadable_cpu_is_refused_in_aws_words():
    with pytest.raises(rules.PreflightError, match="Invalid 'cpu' setting") as info:
        rules.preflight("ecs", "RegisterTaskDefinition", fargate("fast", 512))
    assert info.value.field == "cpu"


def test_preflight_error_names_the_field_rule_and_doc():
    params = {"family": "my_lab", "requiresCompatibilities": ["FARGATE"],
              "networkMode": "bridge", "cpu": "256", "memory": "512"}
    with pytest.raises(rules.PreflightError) as info:
        rules.preflight("ecs", "register_task_definition", params)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.code == "ClientException" and error.field == "networkMode"
    assert error.rule.id == "fargate-network-mode"
    assert error.doc_url.startswith("https://docs.aws.amazon.com/")
    assert "networkMode" in str(error) and "fargate-network-mode" in str(error)


def test_violations_lists_every_broken_rule():
    params = {"family": "bad family", "requiresCompatibilities": ["FARGATE"],
              "cpu": "256", "memory": "4096"}
    found = [v.rule.id for v in rules.violations("ecs", "RegisterTaskDefinition",
                                                 params)]
    assert found == ["ecs-family-name", "fargate-network-mode", "fargate-cpu-memory"]


@pytest.mark.parametrize("service, operation, params, rule_id", [
    ("ecs", "CreateCluster", {"clusterName": "lab cluster"}, "ecs-cluster-name"),
    ("ecs", "CreateCluster", {"clusterName": "x" * 256}, "ecs-cluster-name"),
    ("ecs", "CreateService", {"serviceName": "web.svc"}, "ecs-service-name"),
    ("logs", "CreateLogGroup", {"logGroupName": "lab logs"},
     "log-group-name-pattern"),
    ("logs", "CreateLogGroup", {"logGroupName": "a" * 513},
     "log-group-name-length"),
    ("ecr", "CreateRepository", {"repositoryName": "Lab_Image"},
     "ecr-repository-name-pattern"),
    ("ecr", "CreateRepository", {"repositoryName": "a"},
     "ecr-repository-name-length"),
    ("ecr", "CreateRepository", {"repositoryName": "lab-/image"},
     "ecr-repository-name-pattern"),
    ("elbv2", "CreateLoadBalancer", {"Name": "lab_alb", "Subnets": ["a", "b"]},
     "lb-name-characters"),
    ("elbv2", "CreateLoadBalancer", {"Name": "a" * 33, "Subnets": ["a", "b"]},
     "lb-name-length"),
    ("elbv2", "CreateLoadBalancer", {"Name": "lab-", "Subnets": ["a", "b"]},
     "lb-name-hyphen-ends"),
    ("elbv2", "CreateLoadBalancer", {"Name": "internal-lab", "Subnets": ["a", "b"]},
     "lb-name-internal-prefix"),
    ("elbv2", "CreateLoadBalancer", {"Name": "lab", "Subnets": ["a"]},
     "alb-two-zones"),
    ("elbv2", "CreateTargetGroup", {"Name": "-lab"}, "target-group-name-hyphens"),
    ("elbv2", "CreateTargetGroup", {"Name": "lab--tg"}, "target-group-name-hyphens"),
    ("elbv2", "CreateTargetGroup", {"Name": "lab_tg"},
     "target-group-name-characters"),
    ("elbv2", "CreateTargetGroup", {"Name": "t" * 33}, "target-group-name-length"),
    ("iam", "CreateRole", {"RoleName": "lab role"}, "iam-role-name-pattern"),
    ("iam", "CreateRole", {"RoleName": "r" * 65}, "iam-role-name-length"),
    ("ec2", "CreateSecurityGroup", {"GroupName": "sg-lab"},
     "security-group-name-prefix"),
    ("ec2", "CreateSecurityGroup", {"GroupName": "s" * 256},
     "security-group-name-length"),
    ("ecs", "CreateService", {"serviceName": "web", "role": "ecsServiceRole",
                              "launchType": "FARGATE"}, "awsvpc-service-role"),
])
def test_name_and_shape_rules_refuse(service, operation, params, rule_id):
    with pytest.raises(rules.PreflightError) as info:
        rules.preflight(service, operation, params)
    assert info.value.rule.id == rule_id


@pytest.mark.parametrize("service, operation, params", [
    ("ecs", "CreateCluster", {"clusterName": "lab_ecs_cluster-1"}),
    ("ecs", "CreateCluster", {"clusterName": "x" * 255}),
    ("ecs", "CreateCluster", {}),
    ("logs", "CreateLogGroup", {"logGroupName": "/ecs/lab_esc_task_log_group#1"}),
    ("ecr", "CreateRepository", {"repositoryName": "lab-image"}),
    ("ecr", "CreateRepository", {"repositoryName": "team/lab__image.v1"}),
    ("elbv2", "CreateLoadBalancer", {"Name": "lab-alb", "Subnets": ["a", "b"]}),
    ("elbv2", "CreateLoadBalancer", {"Name": "lab", "Type": "network",
                                     "Subnets": ["a"]}),
    ("elbv2", "CreateTargetGroup", {"Name": "t" * 32}),
    ("iam", "CreateRole", {"RoleName": "AmazonECSTaskRole+=,.@-_"}),
    ("ec2", "CreateSecurityGroup", {"GroupName": "lab_sg_ecs"}),
])
def test_legal_names_pass(service, operation, params):
    rules.preflight(service, operation, params)


def test_stateful_rules_wait_for_a_context():
    # Without current resources a dependency rule cannot judge; it stays silent.
    assert rules.violations("ecs", "DeleteCluster", {"cluster": "busy"}) == []

    class Busy:
        def cluster_services(self, cluster):
            return ["web"]

        def cluster_tasks(self, cluster):
            return []

    found = rules.violations("ecs", "DeleteCluster", {"cluster": "arn:x/busy"},
                             Busy())
    assert [v.code for v in found] == ["ClusterContainsServicesException"]


def test_every_rule_is_data_with_a_doc_page():
    ids = [rule.id for rule in rules.RULES]
    assert len(ids) == len(set(ids))
    for rule in rules.RULES:
        assert rule.service in rules.SERVICES
        assert rule.doc_url.startswith("https://docs.aws.amazon.com/")
        assert rule.code and 400 <= rule.status < 500 and rule.operations


def test_query_form_decodes_to_api_parameters():
    pairs = [("Action", "CreateLoadBalancer"), ("Name", "lab"),
             ("Subnets.member.2", "b"), ("Subnets.member.1", "a"),
             ("SubnetMappings.member.1.SubnetId", "c"), ("GroupId.1", "sg-1")]
    assert guards.decode_query(pairs) == {
        "Name": "lab", "Subnets": ["a", "b"], "SubnetMappings": [{"SubnetId": "c"}],
        "GroupId": ["sg-1"]}


@pytest.mark.parametrize("service, operation, code", [
    ("ecs", "RunTask", "InvalidParameterException"),
    ("logs", "CreateLogGroup", "InvalidParameterException"),
    ("ecr", "CreateRepository", "InvalidParameterException"),
    ("ec2", "DeleteSubnet", "DependencyViolation"),
    ("elbv2", "CreateLoadBalancer", "ValidationError"),
    ("iam", "CreateRole", "EntityAlreadyExists"),
])
def test_botocore_parses_each_error_protocol(service, operation, code):
    message = "The <container> & 'its' \"port\""
    status, headers, body = guards.error_response(service, code, 400, message)
    model = botocore.session.get_session().get_service_model(service)
    parser = botocore.parsers.create_parser(model.protocol)
    parsed = parser.parse({"status_code": int(status.split()[0]),
                           "headers": dict(headers), "body": body},
                          model.operation_model(operation).output_shape)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == message


def fargate(cpu, memory) -> dict:
    return {"family": "lab", "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc", "cpu": str(cpu), "memory": str(memory),
            "containerDefinitions": [container()]}


# --- ECS names, through the emulator ----------------------------------------------

def test_cluster_name(ecs):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html"""
    refused(lambda: ecs.create_cluster(clusterName=unique("lab") + ".cluster"),
            "InvalidParameterException", says="255 letters")
    name = unique("lab") + "_ecs_cluster"
    assert ecs.create_cluster(clusterName=name)["cluster"]["clusterName"] == name


def test_service_name(ecs, cluster, ec2_family):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html"""
    refused(lambda: ecs.create_service(cluster=cluster, serviceName="web svc",
                                       taskDefinition=ec2_family, desiredCount=0),
            "InvalidParameterException")
    name = unique("web") + "_svc"
    service = ecs.create_service(cluster=cluster, serviceName=name,
                                 taskDefinition=ec2_family, desiredCount=0)
    assert service["service"]["serviceName"] == name


def test_family_name(ecs):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html"""
    refused(lambda: ecs.register_task_definition(
        family="lab/task", containerDefinitions=[container()]),
        "ClientException", says="Family contains invalid characters.")
    family = unique("lab") + "_ecs_task_definition"
    registered = ecs.register_task_definition(family=family,
                                              containerDefinitions=[container()])
    assert registered["taskDefinition"]["family"] == family


# --- Fargate task definitions -------------------------------------------------------

def register_fargate(ecs, **overrides):
    params = {"family": unique("fg"), "requiresCompatibilities": ["FARGATE"],
              "networkMode": "awsvpc", "cpu": "256", "memory": "512",
              "containerDefinitions": [container()]}
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return lambda: ecs.register_task_definition(**params)


def test_fargate_needs_awsvpc(ecs):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html"""
    refused(register_fargate(ecs, networkMode="bridge"), "ClientException",
            says="awsvpc")
    refused(register_fargate(ecs, networkMode=None), "ClientException",
            says="awsvpc")
    assert register_fargate(ecs)()["taskDefinition"]["networkMode"] == "awsvpc"


def test_fargate_needs_task_cpu_and_memory(ecs):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size"""
    refused(register_fargate(ecs, cpu=None), "ClientException",
            says="Fargate requires that 'cpu' be defined at the task level.")
    refused(register_fargate(ecs, memory=None), "ClientException",
            says="Fargate requires that 'memory' be defined at the task level.")
    assert register_fargate(ecs, cpu="512", memory="1024")()["taskDefinition"]


def test_fargate_cpu_memory_pairs(ecs):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html"""
    refused(register_fargate(ecs, cpu="256", memory="4096"), "ClientException",
            says="No Fargate configuration exists for given values.")
    refused(register_fargate(ecs, cpu="lots", memory="512"), "ClientException",
            says="Invalid 'cpu' setting for task.")
    refused(register_fargate(ecs, memory="plenty"), "ClientException",
            says="Invalid 'memory' setting for task.")
    assert register_fargate(ecs, cpu="4096", memory="30720")()


@pytest.mark.parametrize("cpu, memory, units", [
    ("0.25 vCPU", "1 GB", ("256", "1024")),
    ("1 vcpu", "2GB", ("1024", "2048")),
    ("0.5 vCPU", "0.5 GB", None),   # a readable size Fargate has no slot for
    (" 2 vCPU ", "16 GB", ("2048", "16384")),
    ("512", "3072", ("512", "3072")),
])
def test_fargate_string_sizes_are_stored_as_units(ecs, cpu, memory, units):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size

    "String values are converted to an integer indicating the CPU units [MiB]
    when the task definition is registered": both the RegisterTaskDefinition
    answer and a later DescribeTaskDefinition show the units, not the string.
    """
    register = register_fargate(ecs, cpu=cpu, memory=memory)
    if units is None:
        refused(register, "ClientException",
                says="No Fargate configuration exists for given values.")
        return
    registered = register()["taskDefinition"]
    assert (registered["cpu"], registered["memory"]) == units

    described = ecs.describe_task_definition(
        taskDefinition=registered["taskDefinitionArn"])["taskDefinition"]
    assert (described["cpu"], described["memory"]) == units
    assert described["requiresCompatibilities"] == ["FARGATE"]


# --- Tasks and services against their task definition --------------------------

def test_fargate_launch_type_needs_a_fargate_definition(ecs, cluster, ec2_family,
                                                       fargate_family, awsvpc):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html"""
    refused(lambda: ecs.run_task(cluster=cluster, taskDefinition=ec2_family,
                                 launchType="FARGATE", networkConfiguration=awsvpc),
            "InvalidParameterException",
            says="Task definition does not support launch_type FARGATE.")
    refused(lambda: ecs.create_service(
        cluster=cluster, serviceName=unique("svc"), taskDefinition=ec2_family,
        desiredCount=0, launchType="FARGATE", networkConfiguration=awsvpc),
        "InvalidParameterException", says="launch_type FARGATE")
    started = ecs.run_task(cluster=cluster, taskDefinition=fargate_family,
                           launchType="FARGATE", networkConfiguration=awsvpc)
    assert len(started["tasks"]) == 1


def test_awsvpc_needs_a_network_configuration(ecs, cluster, fargate_family, awsvpc):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_NetworkConfiguration.html"""
    says = "Network Configuration must be provided when networkMode 'awsvpc'"
    refused(lambda: ecs.run_task(cluster=cluster, taskDefinition=fargate_family,
                                 launchType="FARGATE"),
            "InvalidParameterException", says=says)
    refused(lambda: ecs.create_service(
        cluster=cluster, serviceName=unique("svc"), taskDefinition=fargate_family,
        desiredCount=0, launchType="FARGATE"),
        "InvalidParameterException", says=says)
    service = ecs.create_service(
        cluster=cluster, serviceName=unique("svc"), taskDefinition=fargate_family,
        desiredCount=0, launchType="FARGATE", networkConfiguration=awsvpc)
    assert service["service"]["status"] == "ACTIVE"


def test_awsvpc_service_takes_no_role(ecs, cluster, fargate_family, awsvpc,
                                      balancer):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html"""
    load_balancers = [{"targetGroupArn": balancer["ip_group"],
                       "containerName": "web", "containerPort": 80}]
    refused(lambda: ecs.create_service(
        cluster=cluster, serviceName=unique("svc"), taskDefinition=fargate_family,
        desiredCount=0, launchType="FARGATE", networkConfiguration=awsvpc,
        loadBalancers=load_balancers, role="AmazonECSServiceRole"),
        "InvalidParameterException",
        says="You cannot specify an IAM role for services that require a service "
             "linked role.")
    service = ecs.create_service(
        cluster=cluster, serviceName=unique("svc"), taskDefinition=fargate_family,
        desiredCount=0, launchType="FARGATE", networkConfiguration=awsvpc,
        loadBalancers=load_balancers)
    assert service["service"]["loadBalancers"][0]["containerName"] == "web"


def create_balanced_service(ecs, cluster, family, awsvpc, **lb):
    target = {"containerName": "web", "containerPort": 80, **lb}
    return lambda: ecs.create_service(
        cluster=cluster, serviceName=unique("svc"), taskDefinition=family,
        desiredCount=0, launchType="FARGATE", networkConfiguration=awsvpc,
        loadBalancers=[target])


def test_load_balancer_container_must_exist(ecs, cluster, fargate_family, awsvpc,
                                            balancer):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html"""
    group = balancer["ip_group"]
    refused(create_balanced_service(ecs, cluster, fargate_family, awsvpc,
                                    targetGroupArn=group, containerName="httpd"),
            "InvalidParameterException",
            says="The container httpd does not exist in the task definition.")
    refused(create_balanced_service(ecs, cluster, fargate_family, awsvpc,
                                    targetGroupArn=group, containerPort=8080),
            "InvalidParameterException",
            says="The container web did not have a container port 8080 defined.")
    assert create_balanced_service(ecs, cluster, fargate_family, awsvpc,
                                   targetGroupArn=group)()["service"]


def test_target_group_must_exist_with_a_load_balancer(ecs, elbv2, cluster, network,
                                                     fargate_family, awsvpc,
                                                     balancer):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html"""
    missing = balancer["ip_group"].rsplit("/", 1)[0] + "/0123456789abcdef"
    refused(create_balanced_service(ecs, cluster, fargate_family, awsvpc,
                                    targetGroupArn=missing),
            "InvalidParameterException", says="targetGroupArn")
    loose = elbv2.create_target_group(
        Name=unique("loose"), Protocol="HTTP", Port=80, VpcId=network["vpc"],
        TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    refused(create_balanced_service(ecs, cluster, fargate_family, awsvpc,
                                    targetGroupArn=loose),
            "InvalidParameterException",
            says="does not have an associated load balancer")
    assert create_balanced_service(ecs, cluster, fargate_family, awsvpc,
                                   targetGroupArn=balancer["ip_group"])()


def test_awsvpc_target_group_needs_ip_targets(ecs, elbv2, cluster, network,
                                             fargate_family, awsvpc, balancer):
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html"""
    instance_group = elbv2.create_target_group(
        Name=unique("inst"), Protocol="HTTP", Port=80, VpcId=network["vpc"],
        TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer["lb"], Protocol="HTTP", Port=8081,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": instance_group}])
    assert listener["Listeners"]
    refused(create_balanced_service(ecs, cluster, fargate_family, awsvpc,
                                    targetGroupArn=instance_group),
            "InvalidParameterException",
            says="has target type instance, which is incompatible with the awsvpc")
    assert create_balanced_service(ecs, cluster, fargate_family, awsvpc,
                                   targetGroupArn=balancer["ip_group"])()


# --- Deletes AWS refuses while dependencies remain ------------------------------

def test_cluster_with_services_cannot_be_deleted(ecs, ec2_family):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html"""
    name = ecs.create_cluster(clusterName=unique("busy"))["cluster"]["clusterArn"]
    ecs.create_service(cluster=name, serviceName="web", taskDefinition=ec2_family,
                       desiredCount=0)
    refused(lambda: ecs.delete_cluster(cluster=name),
            "ClusterContainsServicesException",
            says="The Cluster cannot be deleted while Services are active.")
    ecs.delete_service(cluster=name, service="web")
    assert ecs.delete_cluster(cluster=name)["cluster"]["status"] == "INACTIVE"


def test_a_deleted_service_cannot_be_updated(ecs, ec2_family):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html"""
    name = ecs.create_cluster(clusterName=unique("upd"))["cluster"]["clusterName"]
    ecs.create_service(cluster=name, serviceName="web", taskDefinition=ec2_family,
                       desiredCount=0)
    assert ecs.update_service(cluster=name, service="web",
                              desiredCount=0)["service"]["status"] == "ACTIVE"

    ecs.delete_service(cluster=name, service="web", force=True)
    refused(lambda: ecs.update_service(cluster=name, service="web", desiredCount=2),
            "ServiceNotActiveException", says="Service was not ACTIVE.")


def test_cluster_with_tasks_cannot_be_deleted(ecs, fargate_family, awsvpc):
    """https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html"""
    name = ecs.create_cluster(clusterName=unique("busy"))["cluster"]["clusterName"]
    task = ecs.run_task(cluster=name, taskDefinition=fargate_family,
                        launchType="FARGATE",
                        networkConfiguration=awsvpc)["tasks"][0]["taskArn"]
    refused(lambda: ecs.delete_cluster(cluster=name),
            "ClusterContainsTasksException",
            says="The Cluster cannot be deleted while Tasks are active.")

    ecs.stop_task(cluster=name, task=task)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = ecs.describe_tasks(cluster=name, tasks=[task])["tasks"][0]
        if status["lastStatus"] == "STOPPED":
            break
        time.sleep(0.1)
    assert ecs.delete_cluster(cluster=name)["cluster"]["status"] == "INACTIVE"


def test_referenced_security_group_cannot_be_deleted(ec2, network):
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html"""
    vpc = network["vpc"]
    target = ec2.create_security_group(GroupName=unique("grp"), Description="t",
                                       VpcId=vpc)["GroupId"]
    source = ec2.create_security_group(GroupName=unique("grp"), Description="s",
                                       VpcId=vpc)["GroupId"]
    permission = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                  "UserIdGroupPairs": [{"GroupId": target}]}
    ec2.authorize_security_group_ingress(GroupId=source, IpPermissions=[permission])
    refused(lambda: ec2.delete_security_group(GroupId=target),
            "DependencyViolation", says=f"resource {target} has a dependent object")
    ec2.revoke_security_group_ingress(GroupId=source, IpPermissions=[permission])
    ec2.delete_security_group(GroupId=target)


def test_security_group_on_an_interface_cannot_be_deleted(ec2, network):
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html"""
    group = ec2.create_security_group(GroupName=unique("grp"), Description="eni",
                                      VpcId=network["vpc"])["GroupId"]
    eni = ec2.create_network_interface(
        SubnetId=network["subnets"][0],
        Groups=[group])["NetworkInterface"]["NetworkInterfaceId"]
    refused(lambda: ec2.delete_security_group(GroupId=group),
            "DependencyViolation", says="has a dependent object")
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    ec2.delete_security_group(GroupId=group)


def test_subnet_with_interfaces_cannot_be_deleted(ec2, network):
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html"""
    subnet = ec2.create_subnet(VpcId=network["vpc"], CidrBlock="10.0.9.0/24",
                               AvailabilityZone=ZONES[0])["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(
        SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    refused(lambda: ec2.delete_subnet(SubnetId=subnet), "DependencyViolation",
            says=f"The subnet '{subnet}' has dependencies and cannot be deleted.")
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    ec2.delete_subnet(SubnetId=subnet)


def run_fargate_task(ecs, cluster, family, subnet: str, group: str) -> dict:
    """Run one awsvpc task in ``subnet`` with ``group``; the task once RUNNING."""
    arn = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {
                           "subnets": [subnet], "securityGroups": [group],
                           "assignPublicIp": "ENABLED"}})["tasks"][0]["taskArn"]
    return wait_for_task(ecs, cluster, arn, "RUNNING")


def wait_for_task(ecs, cluster, arn: str, status: str, timeout: float = 20) -> dict:
    """Poll DescribeTasks until the task's lastStatus is ``status``; the task."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        if task["lastStatus"] == status:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {arn} not {status} after {timeout}s: {task}")


def task_interface(task: dict) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["networkInterfaceId"]


def test_security_group_of_a_running_task_cannot_be_deleted(ec2, ecs, network,
                                                             cluster, fargate_family):
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html

    A Fargate task's own network interface holds its security group: the delete
    is refused while the task runs, and accepted once it has stopped and ECS has
    released the interface.
    """
    group = ec2.create_security_group(GroupName=unique("grp"), Description="task",
                                      VpcId=network["vpc"])["GroupId"]
    task = run_fargate_task(ecs, cluster, fargate_family, network["subnets"][0],
                            group)

    # The only user of this new group is the interface ECS made for the task.
    eni = ec2.describe_network_interfaces(
        NetworkInterfaceIds=[task_interface(task)])["NetworkInterfaces"][0]
    assert [g["GroupId"] for g in eni["Groups"]] == [group]
    refused(lambda: ec2.delete_security_group(GroupId=group),
            "DependencyViolation", says=f"resource {group} has a dependent object")

    ecs.stop_task(cluster=cluster, task=task["taskArn"])
    wait_for_task(ecs, cluster, task["taskArn"], "STOPPED")
    ec2.delete_security_group(GroupId=group)
    assert not ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroups"]


def test_subnet_of_a_running_task_cannot_be_deleted(ec2, ecs, network, cluster,
                                                    fargate_family):
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSubnet.html

    A Fargate task's network interface lives in its subnet: the delete is refused
    while the task runs, and accepted once it has stopped and ECS has released
    the interface.
    """
    subnet = ec2.create_subnet(VpcId=network["vpc"], CidrBlock="10.0.10.0/24",
                               AvailabilityZone=ZONES[0])["Subnet"]["SubnetId"]
    # The public route table, so the task can pull its image and reach RUNNING.
    table = ec2.describe_route_tables(Filters=[
        {"Name": "association.subnet-id", "Values": [network["subnets"][0]]}])[
        "RouteTables"][0]["RouteTableId"]
    association = ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)[
        "AssociationId"]
    task = run_fargate_task(ecs, cluster, fargate_family, subnet, network["group"])

    eni = ec2.describe_network_interfaces(
        NetworkInterfaceIds=[task_interface(task)])["NetworkInterfaces"][0]
    assert eni["SubnetId"] == subnet
    refused(lambda: ec2.delete_subnet(SubnetId=subnet), "DependencyViolation",
            says=f"The subnet '{subnet}' has dependencies and cannot be deleted.")

    ecs.stop_task(cluster=cluster, task=task["taskArn"])
    wait_for_task(ecs, cluster, task["taskArn"], "STOPPED")
    ec2.disassociate_route_table(AssociationId=association)
    ec2.delete_subnet(SubnetId=subnet)
    assert not ec2.describe_subnets(
        Filters=[{"Name": "subnet-id", "Values": [subnet]}])["Subnets"]


# --- Logs, ECR, load balancers, IAM, EC2 names ----------------------------------

def test_log_group_name(session):
    """https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"""
    logs = session.client("logs")
    refused(lambda: logs.create_log_group(logGroupName="lab logs"),
            "InvalidParameterException", says="regular expression pattern")
    refused(lambda: logs.create_log_group(logGroupName="/ecs/" + "a" * 510),
            "InvalidParameterException", says="less than or equal to 512")
    name = "/ecs/" + unique("lab") + "_esc_task_log_group#1"
    logs.create_log_group(logGroupName=name)
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [name]


def test_repository_name(session):
    """https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html"""
    ecr = session.client("ecr")
    refused(lambda: ecr.create_repository(repositoryName=unique("Lab")),
            "InvalidParameterException", says="repositoryName")
    # botocore itself refuses names under 2 characters; the upper limit is ours.
    refused(lambda: ecr.create_repository(repositoryName="a" * 257),
            "InvalidParameterException", says="length")
    name = unique("lab") + "-image"
    created = ecr.create_repository(repositoryName=name)["repository"]
    assert created["repositoryName"] == name


def test_load_balancer_name(elbv2, network):
    """https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html"""
    subnets = network["subnets"]
    for bad, says in [("lab_alb", "alphanumeric"), ("a" * 33, "longer than '32'"),
                      ("lab-alb-", "begin or end"), ("internal-lab", "internal-")]:
        refused(lambda: elbv2.create_load_balancer(Name=bad, Subnets=subnets),
                "ValidationError", says=says)
    created = elbv2.create_load_balancer(Name=unique("lab"), Subnets=subnets)
    assert created["LoadBalancers"][0]["Type"] == "application"


def test_application_load_balancer_needs_two_zones(ec2, elbv2, network):
    """https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html"""
    same_zone = ec2.create_subnet(VpcId=network["vpc"], CidrBlock="10.0.8.0/24",
                                  AvailabilityZone=ZONES[0])["Subnet"]["SubnetId"]
    says = "At least two subnets in two different Availability Zones"
    refused(lambda: elbv2.create_load_balancer(
        Name=unique("one"), Subnets=network["subnets"][:1]),
        "ValidationError", says=says)
    refused(lambda: elbv2.create_load_balancer(
        Name=unique("same"), Subnets=[network["subnets"][0], same_zone]),
        "ValidationError", says=says)
    created = elbv2.create_load_balancer(
        Name=unique("two"), SubnetMappings=[{"SubnetId": s}
                                            for s in network["subnets"]])
    zones = {z["ZoneName"] for z in created["LoadBalancers"][0]["AvailabilityZones"]}
    assert zones == set(ZONES)


def test_target_group_name(elbv2, network):
    """https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html"""
    def create(name):
        return lambda: elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80,
                                                 VpcId=network["vpc"],
                                                 TargetType="ip")
    refused(create("lab_tg"), "ValidationError", says="alphanumeric")
    refused(create("t" * 33), "ValidationError", says="longer than '32'")
    refused(create("-lab-tg"), "ValidationError", says="regular expression")
    refused(create("lab--tg"), "ValidationError", says="regular expression")
    assert create(unique("lab") + "-tg")()["TargetGroups"]


def test_role_name(session):
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"""
    iam = session.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})

    def create(name):
        return lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)

    refused(create("lab role"), "ValidationError", says="regular expression")
    refused(create("r" * 65), "ValidationError", says="less than or equal to 64")
    name = "Lab" + uuid.uuid4().hex[:8] + "TaskRole"
    assert create(name)()["Role"]["RoleName"] == name
    # IAM names are unique ignoring case.
    refused(create(name.lower()), "EntityAlreadyExists", status=409,
            says="already exists")


def test_security_group_name(ec2, network):
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"""
    def create(name):
        return lambda: ec2.create_security_group(GroupName=name, Description="d",
                                                 VpcId=network["vpc"])
    refused(create("sg-lab"), "InvalidParameterValue", says="sg-*")
    refused(create("s" * 256), "InvalidParameterValue", says="255")
    assert create(unique("lab") + "_sg_ecs")()["GroupId"].startswith("sg-")


# --- The AWS CLI sees the same errors ------------------------------------------

# "An error occurred (<code>) when calling the <Operation> operation: <message>"
_CLI_ERROR = re.compile(r"An error occurred \(([^)]+)\) when calling the (\w+) "
                        r"operation(?: \([^)]*\))?: (.*)", re.DOTALL)
TRUST_ECS_TASKS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def cli_error(session, *args) -> tuple[str, str]:
    """The error code and message the pinned AWS CLI prints for a refused call."""
    result = commands.run_aws(session, list(args), timeout=60)
    assert result.returncode not in (0, None), result.stdout or result.note
    found = _CLI_ERROR.search(result.stderr)
    assert found, result.stderr
    return found.group(1), found.group(3).strip()


def boto3_error(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def cli_cases(network) -> dict:
    """One refused request per service: (client, method, kwargs, CLI arguments).

    ECS, Logs and ECR answer in JSON 1.1; ELBv2 and IAM in the query protocol's
    XML; EC2 in its own XML.
    """
    subnet = network["subnets"][0]
    name = unique("cli")
    return {
        "ecs": ("ecs", "create_cluster", {"clusterName": "bad name"},
                ["ecs", "create-cluster", "--cluster-name", "bad name"]),
        "logs": ("logs", "create_log_group", {"logGroupName": "lab logs"},
                 ["logs", "create-log-group", "--log-group-name", "lab logs"]),
        "ecr": ("ecr", "create_repository", {"repositoryName": "Lab_Image"},
                ["ecr", "create-repository", "--repository-name", "Lab_Image"]),
        "elbv2": ("elbv2", "create_load_balancer", {"Name": name, "Subnets": [subnet]},
                  ["elbv2", "create-load-balancer", "--name", name,
                   "--subnets", subnet]),
        "iam": ("iam", "create_role", {"RoleName": "lab role",
                                       "AssumeRolePolicyDocument": TRUST_ECS_TASKS},
                ["iam", "create-role", "--role-name", "lab role",
                 "--assume-role-policy-document", TRUST_ECS_TASKS]),
        "ec2": ("ec2", "create_security_group",
                {"GroupName": "sg-cli", "Description": "d", "VpcId": network["vpc"]},
                ["ec2", "create-security-group", "--group-name", "sg-cli",
                 "--description", "d", "--vpc-id", network["vpc"]]),
    }


@pytest.mark.parametrize("service, code", [
    ("ecs", "InvalidParameterException"), ("logs", "InvalidParameterException"),
    ("ecr", "InvalidParameterException"), ("elbv2", "ValidationError"),
    ("iam", "ValidationError"), ("ec2", "InvalidParameterValue"),
])
def test_cli_gets_the_same_errors_as_boto3(session, network, service, code):
    """The issue's "the AWS CLI pointed at the emulator gets the same errors as
    boto3": code and message, one refused request per wire protocol and service,
    through ecslab's own ``run_aws`` (the pinned CLI, the local environment)."""
    client, method, kwargs, args = cli_cases(network)[service]
    from_boto3 = boto3_error(lambda: getattr(session.client(client), method)(**kwargs))
    assert from_boto3[0] == code, from_boto3

    assert cli_error(session, *args) == from_boto3
