"""Stateful preflight on the aws target: ``ecslab.preflight.AwsLookup``.

The emulator is presented as a non-local endpoint (target "aws", sentinel
credentials), so each mistake that depends on current resources must be refused by
the client, as ``PreflightError``, before anything is sent; on the local target the
same mistake reaches the emulator, whose guards answer AWS's ``ClientError`` with
the same code. botocore's Stubber stands in for a read AWS refuses. Names carry a
uuid suffix because one emulator serves the whole test run.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Callable

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ecslab import Session
from ecslab.preflight import AwsLookup
from ecslab.rules import PreflightError

REGION = "ap-northeast-1"
ZONES = ("ap-northeast-1a", "ap-northeast-1c")
HTTPD = "public.ecr.aws/docker/library/httpd:latest"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def unique(prefix: str = "pf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def aws(endpoint):
    """The emulator as the aws target, with sentinel credentials in the chain."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "AKIASENTINELSENTINEL")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel-secret-do-not-print")
        yield Session(target="aws", region=REGION, endpoint_url=endpoint)


@pytest.fixture(scope="module")
def net(aws):
    """A VPC with a subnet in each of two zones, a group, two task definitions,
    and an ALB forwarding to an ``ip`` and an ``instance`` target group."""
    ec2, ecs, elbv2 = (aws.client(n) for n in ("ec2", "ecs", "elbv2"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # moto's awsvpc RunTask needs DNS hostnames on the VPC.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                 AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for i, zone in enumerate(ZONES, start=1)]
    group = ec2.create_security_group(GroupName=unique("grp"), Description="pf",
                                      VpcId=vpc)["GroupId"]

    container = {"name": "web", "image": HTTPD, "memory": 512, "essential": True,
                 "portMappings": [{"containerPort": 80, "protocol": "tcp"}]}
    fargate = unique("fargate")
    ecs.register_task_definition(
        family=fargate, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512", containerDefinitions=[container])
    bridge = unique("bridge")
    ecs.register_task_definition(family=bridge, containerDefinitions=[container])

    lb = elbv2.create_load_balancer(
        Name=unique("alb"), Subnets=subnets,
        SecurityGroups=[group])["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {}
    for port, kind in ((80, "ip"), (8081, "instance")):
        groups[kind] = elbv2.create_target_group(
            Name=unique(kind[:4]), Protocol="HTTP", Port=80, VpcId=vpc,
            TargetType=kind)["TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                              DefaultActions=[{"Type": "forward",
                                               "TargetGroupArn": groups[kind]}])
    return {"vpc": vpc, "subnets": subnets, "group": group, "fargate": fargate,
            "bridge": bridge, "lb": lb, **groups}


# --- Mistakes that depend on current resources ------------------------------------

@dataclass
class Mistake:
    """A request AWS refuses for what exists now, and its accepted twin."""

    call: Callable[[], object]      # the refused request, via a preflight client
    rule: str
    code: str
    intact: Callable[[], bool]      # nothing was created or deleted by it
    accepted: Callable[[], object]  # the twin AWS accepts (after any fix)


def busy_cluster(session: Session, net: dict) -> Mistake:
    """DeleteCluster while a service is ACTIVE in it."""
    ecs, checked = session.client("ecs"), session.client("ecs", preflight=True)
    name = ecs.create_cluster(clusterName=unique("busy"))["cluster"]["clusterName"]
    ecs.create_service(cluster=name, serviceName="web", taskDefinition=net["bridge"],
                       desiredCount=0)

    def accepted():
        ecs.delete_service(cluster=name, service="web")
        return checked.delete_cluster(cluster=name)["cluster"]["status"] == "INACTIVE"

    return Mistake(
        lambda: checked.delete_cluster(cluster=name), "cluster-contains-services",
        "ClusterContainsServicesException",
        lambda: ecs.describe_clusters(clusters=[name])["clusters"][0]["status"]
        == "ACTIVE",
        accepted)


def wrong_container(session: Session, net: dict) -> Mistake:
    """CreateService whose load balancer names a container the task lacks."""
    ecs, checked = session.client("ecs"), session.client("ecs", preflight=True)
    cluster = ecs.create_cluster(clusterName=unique("lbc"))["cluster"]["clusterName"]
    service = unique("svc")

    def create(container: str):
        return checked.create_service(
            cluster=cluster, serviceName=service, taskDefinition=net["fargate"],
            desiredCount=0, launchType="FARGATE",
            networkConfiguration=_awsvpc(net),
            loadBalancers=[{"targetGroupArn": net["ip"], "containerName": container,
                            "containerPort": 80}])

    return Mistake(
        lambda: create("httpd"), "service-lb-container-name",
        "InvalidParameterException",
        lambda: not _services(ecs, cluster, service),
        lambda: create("web")["service"]["status"] == "ACTIVE")


def instance_targets(session: Session, net: dict) -> Mistake:
    """CreateService of an awsvpc task behind an ``instance`` target group."""
    ecs, checked = session.client("ecs"), session.client("ecs", preflight=True)
    cluster = ecs.create_cluster(clusterName=unique("tt"))["cluster"]["clusterName"]
    service = unique("svc")

    def create(group: str):
        return checked.create_service(
            cluster=cluster, serviceName=service, taskDefinition=net["fargate"],
            desiredCount=0, launchType="FARGATE",
            networkConfiguration=_awsvpc(net),
            loadBalancers=[{"targetGroupArn": group, "containerName": "web",
                            "containerPort": 80}])

    return Mistake(
        lambda: create(net["instance"]), "service-target-type-ip",
        "InvalidParameterException",
        lambda: not _services(ecs, cluster, service),
        lambda: create(net["ip"])["service"]["status"] == "ACTIVE")


def deleted_service(session: Session, net: dict) -> Mistake:
    """UpdateService on a service already deleted (DRAINING, then INACTIVE)."""
    ecs, checked = session.client("ecs"), session.client("ecs", preflight=True)
    cluster = ecs.create_cluster(clusterName=unique("upd"))["cluster"]["clusterName"]
    for name in ("gone", "live"):
        ecs.create_service(cluster=cluster, serviceName=name,
                           taskDefinition=net["bridge"], desiredCount=0)
    ecs.delete_service(cluster=cluster, service="gone", force=True)

    return Mistake(
        lambda: checked.update_service(cluster=cluster, service="gone",
                                       desiredCount=2),
        "service-not-active", "ServiceNotActiveException",
        lambda: _services(ecs, cluster, "gone")[0]["desiredCount"] == 0,
        lambda: checked.update_service(cluster=cluster, service="live",
                                       desiredCount=0)["service"])


def referenced_group(session: Session, net: dict) -> Mistake:
    """DeleteSecurityGroup while another group's rule names it."""
    ec2, checked = session.client("ec2"), session.client("ec2", preflight=True)
    target, source = (ec2.create_security_group(
        GroupName=unique("grp"), Description="pf", VpcId=net["vpc"])["GroupId"]
        for _ in range(2))
    permission = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                  "UserIdGroupPairs": [{"GroupId": target}]}
    ec2.authorize_security_group_ingress(GroupId=source, IpPermissions=[permission])

    def accepted():
        ec2.revoke_security_group_ingress(GroupId=source, IpPermissions=[permission])
        return checked.delete_security_group(GroupId=target)

    return Mistake(
        lambda: checked.delete_security_group(GroupId=target),
        "security-group-referenced", "DependencyViolation",
        lambda: bool(ec2.describe_security_groups(GroupIds=[target])[
            "SecurityGroups"]),
        accepted)


def busy_subnet(session: Session, net: dict) -> Mistake:
    """DeleteSubnet while a network interface is in it."""
    ec2, checked = session.client("ec2"), session.client("ec2", preflight=True)
    subnet = ec2.create_subnet(
        VpcId=net["vpc"], CidrBlock=f"10.0.{_octet()}.0/24",
        AvailabilityZone=ZONES[0])["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(
        SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]

    def accepted():
        ec2.delete_network_interface(NetworkInterfaceId=eni)
        return checked.delete_subnet(SubnetId=subnet)

    return Mistake(
        lambda: checked.delete_subnet(SubnetId=subnet), "subnet-in-use",
        "DependencyViolation",
        lambda: bool(ec2.describe_subnets(SubnetIds=[subnet])["Subnets"]),
        accepted)


def one_zone_alb(session: Session, net: dict) -> Mistake:
    """CreateLoadBalancer (application) on two subnets of one zone."""
    ec2, elbv2 = session.client("ec2"), session.client("elbv2")
    checked = session.client("elbv2", preflight=True)
    same_zone = ec2.create_subnet(
        VpcId=net["vpc"], CidrBlock=f"10.0.{_octet()}.0/24",
        AvailabilityZone=ZONES[0])["Subnet"]["SubnetId"]
    name = unique("alb")

    def create(subnets: list[str]):
        return checked.create_load_balancer(Name=name, Subnets=subnets)

    return Mistake(
        lambda: create([net["subnets"][0], same_zone]), "alb-two-zones",
        "ValidationError",
        lambda: not [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"]
                     if lb["LoadBalancerName"] == name],
        lambda: create(net["subnets"])["LoadBalancers"])


def role_by_case(session: Session, net: dict) -> Mistake:
    """CreateRole with the name of an existing role in other letter case."""
    iam, checked = session.client("iam"), session.client("iam", preflight=True)
    name = "Pf" + uuid.uuid4().hex[:8] + "Role"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)

    return Mistake(
        lambda: checked.create_role(RoleName=name.lower(),
                                    AssumeRolePolicyDocument=TRUST),
        "iam-role-name-unique", "EntityAlreadyExists",
        lambda: [r["RoleName"] for r in iam.list_roles()["Roles"]
                 if r["RoleName"].lower() == name.lower()] == [name],
        lambda: checked.create_role(RoleName=name + "2",
                                    AssumeRolePolicyDocument=TRUST)["Role"])


MISTAKES = [busy_cluster, wrong_container, instance_targets, deleted_service,
            referenced_group, busy_subnet, one_zone_alb, role_by_case]


def _awsvpc(net: dict) -> dict:
    return {"awsvpcConfiguration": {"subnets": net["subnets"],
                                    "securityGroups": [net["group"]]}}


def _services(ecs, cluster: str, name: str) -> list[dict]:
    return ecs.describe_services(cluster=cluster, services=[name])["services"]


_octets = iter(range(100, 250))


def _octet() -> int:
    # Subnets added to the shared VPC need CIDR blocks of their own.
    return next(_octets)


# --- The aws target refuses them before sending -------------------------------------

@pytest.mark.parametrize("make", MISTAKES, ids=lambda make: make.__name__)
def test_aws_target_refuses_before_sending(aws, net, make):
    mistake = make(aws, net)
    with pytest.raises(PreflightError) as caught:
        mistake.call()
    assert (caught.value.rule.id, caught.value.code) == (mistake.rule, mistake.code)
    assert caught.value.doc_url.startswith("https://docs.aws.amazon.com/")
    assert mistake.intact()
    # The lookup reads afresh for each request: once fixed, the twin goes through.
    assert mistake.accepted()


@pytest.mark.parametrize("make", MISTAKES, ids=lambda make: make.__name__)
def test_local_target_leaves_them_to_the_emulator(session, net, make):
    mistake = make(session, net)
    with pytest.raises(ClientError) as caught:
        mistake.call()
    assert caught.value.response["Error"]["Code"] == mistake.code
    assert mistake.intact()


def test_a_stopping_task_holds_its_cluster(aws, net):
    ecs, checked = aws.client("ecs"), aws.client("ecs", preflight=True)
    cluster = ecs.create_cluster(clusterName=unique("run"))["cluster"]["clusterName"]
    task = ecs.run_task(cluster=cluster, taskDefinition=net["fargate"],
                        launchType="FARGATE",
                        networkConfiguration=_awsvpc(net))["tasks"][0]["taskArn"]
    assert AwsLookup(aws).cluster_tasks(cluster) == [task]
    with pytest.raises(PreflightError, match="Tasks are active"):
        checked.delete_cluster(cluster=cluster)


# --- Answers, in the emulator's shapes ------------------------------------------------

def test_lookup_answers_in_the_emulators_shapes(aws, net):
    lookup = AwsLookup(aws)
    assert lookup.task_definition(net["fargate"]) == {
        "family": net["fargate"], "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "web", "portMappings": [
            {"containerPort": 80, "protocol": "tcp"}]}]}
    assert lookup.target_group(net["instance"]) == {
        "TargetGroupArn": net["instance"], "TargetType": "instance",
        "LoadBalancerArns": [net["lb"]]}
    assert lookup.target_group(net["ip"].rsplit("/", 1)[0] + "/0123456789abcdef") \
        is None
    assert lookup.subnet_zones([*net["subnets"], "subnet-0000000000000000f"]) == \
        dict(zip(net["subnets"], ZONES))
    assert net["lb"] in lookup.security_group_interfaces(net["group"])
    assert net["lb"] in lookup.subnet_interfaces(net["subnets"][1])
    assert lookup.task_definition(unique("nothing")) is None
    assert lookup.cluster_services(unique("nothing")) == []
    assert lookup.service_status(unique("nothing"), "web") is None


# --- A read AWS refuses lets the request through -----------------------------------

ARN = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/x/0a"


REFUSED_READS = [
    ("ecs", "describe_task_definition", "AccessDeniedException", "task_definition",
     ("web",), None),
    ("ecs", "list_services", "AccessDeniedException", "cluster_services", ("c",), []),
    ("ecs", "list_tasks", "AccessDeniedException", "cluster_tasks", ("c",), []),
    ("ecs", "describe_services", "AccessDeniedException", "service_status",
     ("c", "web"), None),
    ("elbv2", "describe_target_groups", "AccessDenied", "target_group", (ARN,), {}),
    ("ec2", "describe_subnets", "UnauthorizedOperation", "subnet_zones",
     (["subnet-1", "subnet-2"],), {}),
    ("ec2", "describe_security_groups", "UnauthorizedOperation",
     "security_group_id", ("web",), None),
    ("ec2", "describe_security_groups", "UnauthorizedOperation",
     "security_group_referrers", ("sg-1",), []),
    ("iam", "list_roles", "AccessDenied", "role_named", ("web",), None),
]


@pytest.mark.parametrize("service, operation, code, method, args, answer",
                         REFUSED_READS, ids=[row[3] for row in REFUSED_READS])
def test_a_refused_read_answers_nothing(aws, service, operation, code, method, args,
                                        answer):
    with Stubber(aws.client(service)) as stub:
        stub.add_client_error(operation, code, "not authorized", 403)
        assert getattr(AwsLookup(aws), method)(*args) == answer
        stub.assert_no_pending_responses()


def test_a_refused_read_lets_the_request_reach_aws(aws, net):
    mistake = busy_cluster(aws, net)
    with Stubber(aws.client("ecs")) as stub:
        stub.add_client_error("list_services", "AccessDeniedException",
                              "not authorized", 403)
        for _ in ("RUNNING", "STOPPED"):
            stub.add_response("list_tasks", {"taskArns": []})
        # Let through by the client, the request is refused by "AWS" itself.
        with pytest.raises(ClientError) as caught:
            mistake.call()
        stub.assert_no_pending_responses()
    assert caught.value.response["Error"]["Code"] == mistake.code
    assert mistake.intact()


def test_an_unreadable_target_group_is_left_to_aws(aws, net):
    mistake = instance_targets(aws, net)
    with Stubber(aws.client("elbv2")) as stub:
        # Read once, though three rules ask: one lookup answers one request.
        stub.add_client_error("describe_target_groups", "AccessDenied",
                              "not authorized", 403)
        with pytest.raises(ClientError) as caught:
            mistake.call()
        stub.assert_no_pending_responses()
    assert caught.value.response["Error"]["Code"] == mistake.code
    assert "target type instance" in caught.value.response["Error"]["Message"]
