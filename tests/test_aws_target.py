"""The aws target's guards, without a network: the emulator is presented as a
non-local endpoint (target "aws"), and botocore's Stubber (or a ``before-call``
hook, where only one operation must fail) injects AWS's errors."""

from __future__ import annotations

import json
import logging
import re
import stat
import sys
import uuid
from pathlib import Path

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ecslab import Lab, Session
from ecslab.account import GuardError, mask
from ecslab.aws import as_dict, carries, ec2_tags
from ecslab.commands import docker_engine, run_aws
from ecslab.cost import PRICES, billing_now, estimate, prices_for
from ecslab.ecr import push_image
from ecslab.iam import TASKS_TRUST, delete_role
from ecslab.inventory import Found
from ecslab.lab import RoleNotUsableError
from ecslab.spec import TASK_EXECUTION_ROLE, TASK_ROLE, LabSpec
from ecslab.teardown import TeardownIncomplete

ACCOUNT = "123456789012"  # the emulator's default account
ASSUME_ERROR = ("ECS was unable to assume the role 'arn:aws:iam::123456789012:role/"
                "AmazonECSTaskExecutionRole'")
PRIVATE_ACCOUNT = "210987654323"  # an emulator account no other test uses
UNPRICED_REGION = "eu-north-1"  # a real region missing from ecslab.cost's table


@pytest.fixture
def aws_session(endpoint, monkeypatch):
    # Sentinel credentials through the standard chain, as a real profile would be.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASENTINELSENTINEL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel-secret-do-not-print")
    return Session(target="aws", region="ap-northeast-1", endpoint_url=endpoint)


def _lab(session, **kwargs) -> Lab:
    return Lab("aws" + uuid.uuid4().hex[:6], session=session, **kwargs)


def test_an_unlisted_account_creates_nothing(aws_session):
    lab = _lab(aws_session, allowed_accounts=["111122223333"])
    lab.cost_estimate()
    with pytest.raises(GuardError, match=r"\*{8}9012 is not on the allow list"):
        lab.create_vpc()
    assert lab.inventory().empty


def test_the_allow_list_comes_from_the_environment(aws_session, monkeypatch):
    monkeypatch.setenv("ECSLAB_ALLOWED_ACCOUNTS", f"111122223333, {ACCOUNT}")
    lab = _lab(aws_session)
    lab.cost_estimate()
    assert lab.create_vpc().startswith("vpc-")
    lab.teardown(confirm=lab.prefix)


def test_nothing_is_created_before_the_cost_estimate(aws_session):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    with pytest.raises(GuardError, match="cost estimate first"):
        lab.create_cluster()
    assert lab.inventory().empty


def test_teardown_is_a_dry_run_until_the_prefix_is_typed(aws_session):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    lab.cost_estimate()
    lab.create_vpc()
    lab.create_log_group()

    dry = lab.teardown()
    assert set(dry["action"]) == {"would delete (dry run)"}
    assert set(dry["resource"]) == {"vpc", "log group"}
    assert len(lab.inventory()) == 3  # two resources and the "still billing" row

    wrong = lab.teardown(confirm="someone-else")
    assert "action" in wrong.columns and len(lab.inventory()) == 3

    assert lab.teardown(confirm=lab.prefix).empty
    assert lab.inventory().empty


def test_teardown_spares_an_untagged_decoy(aws_session):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    lab.cost_estimate()
    lab.create_vpc()
    ec2 = aws_session.client("ec2")
    decoy = ec2.create_vpc(CidrBlock="10.7.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name",
                                          "Value": lab.spec.vpc_name}]}])
    decoy_id = decoy["Vpc"]["VpcId"]

    assert lab.teardown(confirm=lab.prefix).empty
    assert decoy_id in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    ec2.delete_vpc(VpcId=decoy_id)


def test_teardown_spares_the_default_vpc_even_carrying_the_lab_tags(aws_session):
    # Someone tagged the account's default VPC and its default security group as
    # this lab's: teardown must still leave both, as AWS's defaults are never
    # the lab's to delete.
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    ec2 = aws_session.client("ec2")
    vpcs = ec2.describe_vpcs(
        Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1, "the emulator has a default VPC in every region"
    default_vpc = vpcs[0]["VpcId"]
    default_group = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [default_vpc]},
        {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    # The lab's tags, not its Name tag: a VPC is found by both, and finding is
    # not what this test is about.
    tags = ec2_tags(lab.spec.tags())
    ec2.create_tags(Resources=[default_vpc, default_group], Tags=tags)
    try:
        lab.cost_estimate()
        assert lab.create_vpc() != default_vpc
        dry = lab.teardown()
        assert list(dry["resource"]) == ["vpc"]
        assert default_vpc not in set(dry["id"])
        assert default_group not in set(dry["id"])

        assert lab.teardown(confirm=lab.prefix).empty
        still = ec2.describe_vpcs(VpcIds=[default_vpc])["Vpcs"][0]
        assert still["IsDefault"] and carries(as_dict(still["Tags"]),
                                              lab.spec.tags())
        assert ec2.describe_security_groups(
            GroupIds=[default_group])["SecurityGroups"]
    finally:
        ec2.delete_tags(Resources=[default_vpc, default_group], Tags=tags)


@pytest.fixture
def private_aws_session(endpoint, monkeypatch):
    """The aws target in an emulator account of its own, so roles (global per
    account) made here cannot meet another test's."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASENTINELSENTINEL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel-secret-do-not-print")
    made = Session(target="aws", region="ap-northeast-1", endpoint_url=endpoint)
    # The emulator chooses the account by a request header, which Session adds
    # for any session with ``account`` set; the aws target refuses it as an
    # argument only because on AWS the credentials choose the account.
    made.account = PRIVATE_ACCOUNT
    return made


def test_a_role_the_lab_did_not_make_is_reported_not_changed(private_aws_session,
                                                             caplog):
    iam = private_aws_session.client("iam")
    assert private_aws_session.account_id() == PRIVATE_ACCOUNT
    # A decoy: the execution role, made by someone else, untagged, no policy.
    iam.create_role(RoleName=TASK_EXECUTION_ROLE,
                    AssumeRolePolicyDocument=json.dumps(TASKS_TRUST))
    try:
        lab = _lab(private_aws_session, allowed_accounts=[PRIVATE_ACCOUNT])
        lab.cost_estimate()
        with caplog.at_level(logging.WARNING, logger="ecslab"):
            roles = lab.ensure_task_roles().set_index("role")
        assert roles.loc[TASK_ROLE, "status"] == "created"
        assert roles.loc[TASK_EXECUTION_ROLE, "status"] == "found"
        assert roles.loc[TASK_EXECUTION_ROLE, "missing"] == \
            "AmazonECSTaskExecutionRolePolicy"
        assert any(TASK_EXECUTION_ROLE in r.getMessage()
                   and "AmazonECSTaskExecutionRolePolicy" in r.getMessage()
                   for r in caplog.records if r.levelno == logging.WARNING)
        assert iam.list_attached_role_policies(
            RoleName=TASK_EXECUTION_ROLE)["AttachedPolicies"] == []

        dry = lab.teardown()
        assert list(dry.query("resource == 'role'")["name"]) == [TASK_ROLE]
        assert lab.teardown(confirm=lab.prefix).empty
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName=TASK_ROLE)
        decoy = iam.get_role(RoleName=TASK_EXECUTION_ROLE)["Role"]
        assert not decoy.get("Tags")
        assert iam.list_attached_role_policies(
            RoleName=TASK_EXECUTION_ROLE)["AttachedPolicies"] == []
    finally:
        delete_role(iam, TASK_EXECUTION_ROLE)  # with any policy a bug attached


def test_account_ids_are_masked_in_tables(aws_session):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    lab.cost_estimate()
    roles = lab.ensure_task_roles()
    lab.create_cluster()
    text = roles.to_string() + lab.inventory().to_string()
    assert ACCOUNT not in text and "********9012" in text
    assert lab.whereami()["account"] == "********9012"
    lab.teardown(confirm=lab.prefix)


def test_mask_leaves_other_numbers():
    assert mask("arn:aws:iam::123456789012:role/x") == \
        "arn:aws:iam::********9012:role/x"
    assert mask("port 8080, 1234567890123 digits") == \
        "port 8080, 1234567890123 digits"
    assert mask("igw-c3e745610600886a6 and 123456789012") == \
        "igw-c3e745610600886a6 and ********9012"


def test_iam_propagation_is_retried_on_aws_only(aws_session, tmp_path, monkeypatch):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    monkeypatch.setattr("ecslab.lab.time.sleep", lambda seconds: None)
    ecs = aws_session.client("ecs", preflight=True)
    params = {"cluster": "c", "taskDefinition": "t"}
    path = tmp_path / "runtask_params.json"
    path.write_text('{"cluster": "c", "taskDefinition": "t"}')
    lab.cost_estimate()
    with Stubber(ecs) as stub:
        stub.add_client_error(
            "run_task", "InvalidParameterException",
            "ECS was unable to assume the role 'arn:aws:iam::123456789012:role/"
            "AmazonECSTaskExecutionRole'", expected_params=params)
        stub.add_response("run_task", {"tasks": [{
            "taskArn": "arn:aws:ecs:ap-northeast-1:123456789012:task/c/abc"}],
            "failures": []}, expected_params=params)
        assert lab.run_task(path) == "abc"
        stub.assert_no_pending_responses()


def test_other_errors_are_not_retried(aws_session, tmp_path):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    lab.cost_estimate()
    ecs = aws_session.client("ecs", preflight=True)
    path = tmp_path / "runtask_params.json"
    path.write_text('{"cluster": "c", "taskDefinition": "t"}')
    with Stubber(ecs) as stub:
        stub.add_client_error("run_task", "ClusterNotFoundException",
                              "Cluster not found.")
        with pytest.raises(ecs.exceptions.ClusterNotFoundException):
            lab.run_task(path)


class _Clock:
    """Stands in for ``time`` in ecslab.lab: a sleep moves the clock on at once."""

    def __init__(self):
        self.now, self.slept = 1000.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_iam_propagation_retries_give_up_at_their_bound(aws_session, tmp_path,
                                                       monkeypatch):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    lab.cost_estimate()
    clock = _Clock()
    monkeypatch.setattr("ecslab.lab.time", clock)
    path = tmp_path / "runtask_params.json"
    path.write_text('{"cluster": "c", "taskDefinition": "t"}')
    ecs = aws_session.client("ecs", preflight=True)
    with Stubber(ecs) as stub:
        # The bound is 120 s with a try every 10 s: at 0, 10, ..., 120 s. One
        # try fewer leaves an error here; one more finds no answer stubbed.
        for _ in range(13):
            stub.add_client_error("run_task", "InvalidParameterException",
                                  ASSUME_ERROR)
        with pytest.raises(RoleNotUsableError) as raised:
            lab.run_task(path)
        stub.assert_no_pending_responses()

    assert clock.slept == [10] * 12
    said = str(raised.value)
    assert "13 tries over 120s" in said and "ecs-tasks.amazonaws.com" in said
    assert "unable to assume the role" in said and ACCOUNT not in said
    assert isinstance(raised.value.__cause__, ClientError)


def test_iam_errors_are_not_retried_locally(session, tmp_path, monkeypatch):
    # The emulator's roles are usable at once: such an error is a real one.
    lab = Lab("iam" + uuid.uuid4().hex[:6], session=session)
    clock = _Clock()
    monkeypatch.setattr("ecslab.lab.time", clock)
    path = tmp_path / "runtask_params.json"
    path.write_text('{"cluster": "c", "taskDefinition": "t"}')
    ecs = session.client("ecs", preflight=True)
    with Stubber(ecs) as stub:
        # One answer only: a second call would meet the Stubber's own error.
        stub.add_client_error("run_task", "InvalidParameterException",
                              ASSUME_ERROR)
        with pytest.raises(ecs.exceptions.InvalidParameterException):
            lab.run_task(path)
        stub.assert_no_pending_responses()
    assert clock.slept == []


def test_dependency_errors_are_retried_with_a_bound(aws_session, monkeypatch):
    from ecslab.aws import retry

    monkeypatch.setattr("ecslab.aws.time.sleep", lambda seconds: None)
    ec2 = aws_session.client("ec2")
    with Stubber(ec2) as stub:
        for _ in range(2):
            stub.add_client_error("delete_security_group", "DependencyViolation",
                                  "resource sg-1 has a dependent object")
        stub.add_response("delete_security_group", {})
        retry(lambda: ec2.delete_security_group(GroupId="sg-1"),
              codes={"DependencyViolation"}, timeout=60, what="delete sg-1")
        stub.assert_no_pending_responses()

    with Stubber(ec2) as stub:
        stub.add_client_error("delete_security_group", "DependencyViolation", "x")
        with pytest.raises(Exception, match="DependencyViolation"):
            retry(lambda: ec2.delete_security_group(GroupId="sg-1"),
                  codes={"DependencyViolation"}, timeout=0, what="delete sg-1")


class _Draining:
    """Makes one operation of a client answer DependencyViolation, as AWS does
    while network interfaces drain: the first ``refusals`` calls, or every call
    when it is ``None``. Other operations reach the emulator as usual."""

    def __init__(self, client, operation: str, refusals: int | None):
        self.client, self.refusals, self.calls = client, refusals, 0
        self.event = f"before-call.ec2.{operation}"

    def __enter__(self):
        self.client.meta.events.register(self.event, self, unique_id="draining")
        return self

    def __exit__(self, *exc) -> None:
        self.client.meta.events.unregister(self.event, unique_id="draining")

    def __call__(self, **kwargs):
        self.calls += 1
        if self.refusals is not None and self.calls > self.refusals:
            return None  # sent on to the emulator
        return AWSResponse(None, 400, {}, None), {
            "Error": {"Code": "DependencyViolation",
                      "Message": "resource has a dependent object"},
            "ResponseMetadata": {"HTTPStatusCode": 400}}


def _lab_with_a_group(session) -> Lab:
    lab = Lab("dep" + uuid.uuid4().hex[:6], session=session)
    lab.create_vpc()
    lab.create_security_group()
    return lab


def test_teardown_retries_a_draining_security_group(session, capsys):
    lab = _lab_with_a_group(session)
    group = lab.spec.security_group_name
    capsys.readouterr()
    with _Draining(session.client("ec2"), "DeleteSecurityGroup", 2) as draining:
        assert lab.teardown().empty
    assert draining.calls == 3
    assert lab.inventory().empty

    # The retries showed as they happened, and ended in the delete.
    shown = capsys.readouterr().err
    assert re.search(rf"retrying delete security group {group}: done "
                     r"\[\d\d:\d\d, refused: 2\]", shown), shown


def test_teardown_gives_up_at_its_bound_and_says_what_remains(session):
    lab = _lab_with_a_group(session)
    group = lab.spec.security_group_name
    with _Draining(session.client("ec2"), "DeleteSecurityGroup", None) as draining:
        with pytest.raises(TeardownIncomplete) as raised:
            lab.teardown(timeout=1, progress=False)
    assert draining.calls >= 2

    said = str(raised.value)
    assert f"delete security group {group}" in said
    assert "DependencyViolation after 1s" in said
    assert f"security group {group}" in said.split("remain:")[1]
    assert f"vpc {lab.spec.vpc_name}" in said.split("remain:")[1]
    assert set(raised.value.remaining["resource"]) == {"security group", "vpc"}
    assert set(lab.inventory()["resource"]) == {"security group", "vpc"}

    # Once the dependency is gone, teardown again finishes the job.
    assert lab.teardown().empty


@pytest.mark.parametrize("progress", [True, False])
def test_teardown_shows_each_wait_unless_told_not_to(aws_session, capsys, progress):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    lab.cost_estimate(service=True)
    lab.create_service_network()
    lab.create_load_balancer()
    capsys.readouterr()

    told = {} if progress else {"progress": False}
    assert lab.teardown(confirm=lab.prefix, **told).empty
    shown = capsys.readouterr()
    assert shown.out == ""  # the library never prints
    if progress:
        assert re.search(r"waiting for 1 load balancer\(s\) to be deleted: done "
                         r"\[\d\d:\d\d, checks: [1-9]\d*\]", shown.err), shown.err
    else:
        assert shown.err == ""


def test_cost_table_arithmetic():
    spec = LabSpec("costs", desired_count=3)
    prices = prices_for("ap-northeast-1")
    table = estimate(spec, "ap-northeast-1", service=True).set_index("resource")
    assert table.loc["Fargate vCPU", "quantity"] == pytest.approx(0.75)
    assert table.loc["Fargate memory", "per hour (USD)"] == \
        pytest.approx(1.5 * prices.gb_hour)
    assert table.loc["public IPv4 (tasks)", "quantity"] == 3
    assert table.loc["Application Load Balancer", "per hour (USD)"] == \
        pytest.approx(prices.alb_hour)
    parts = table.drop(index="total")["per hour (USD)"].sum()
    assert table.loc["total", "per hour (USD)"] == pytest.approx(parts)
    assert "read on" in table.loc["total", "source"]

    task = estimate(spec, "us-east-1").set_index("resource")
    assert task.loc["Fargate vCPU", "per hour (USD)"] == \
        pytest.approx(0.25 * PRICES["us-east-1"].vcpu_hour)


def test_unknown_region_prices_are_named():
    with pytest.raises(ValueError, match="no prices for region 'mars-1'"):
        prices_for("mars-1")


def _hourly(region: str, tasks: int, zones: int, cpu: int = 256,
            memory: int = 512) -> float:
    """The price table's arithmetic, by hand: each running task's vCPU, memory
    and public IPv4 address, and a load balancer's hour, one capacity unit and
    an address per Availability Zone."""
    p = PRICES[region]
    per_task = cpu / 1024 * p.vcpu_hour + memory / 1024 * p.gb_hour + p.ipv4_hour
    balancer = p.alb_hour + p.lcu_hour + zones * p.ipv4_hour if zones else 0.0
    return tasks * per_task + balancer


def test_billing_counts_running_tasks_and_the_load_balancer_only():
    spec = LabSpec("bill", subnet_cidrs=("10.0.1.0/24", "10.0.2.0/24",
                                         "10.0.3.0/24"))
    found = Found()
    for state in ("RUNNING", "PROVISIONING", "STOPPED"):
        found.add("task", "family:bill", state.lower(), state)
    found.add("load balancer", "bill-alb", "arn:lb", "active")
    found.add("vpc", "bill_vpc", "vpc-1", "available")

    table = billing_now(found, spec, "us-east-1").set_index("resource")
    assert table.loc["Fargate vCPU", "quantity"] == pytest.approx(0.5)
    assert table.loc["public IPv4 (load balancer)", "quantity"] == 3
    assert table.loc["total", "per hour (USD)"] == \
        pytest.approx(_hourly("us-east-1", tasks=2, zones=3))

    empty = billing_now(Found(), spec, "us-east-1")
    assert list(empty["resource"]) == ["total"]
    assert empty["per hour (USD)"].iloc[-1] == 0.0


def test_still_billing_row_is_the_price_table_arithmetic(endpoint, monkeypatch):
    # A service lab of two tasks behind a load balancer, built on the emulator
    # in an account of its own (roles are account-wide)...
    account = "3" + str(uuid.uuid4().int)[:11]
    local = Session(target="local", endpoint_url=endpoint, account=account)
    built = Lab("bill" + uuid.uuid4().hex[:6], session=local, desired_count=2)
    built.ensure_service_roles()
    built.create_service_network()
    built.create_cluster()
    built.create_log_group()
    built.create_load_balancer()
    built.create_target_group()
    built.create_listener()
    built.register_service_task_definition()
    built.create_service()
    try:
        built.wait_until_stable(timeout=60)

        # ...and seen as on AWS, where the inventory says what it still costs.
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASENTINELSENTINEL")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel-secret-do-not-print")
        aws = Session(target="aws", region=built.region, endpoint_url=endpoint)
        aws.account = account  # the emulator account, by its request header
        seen = Lab(built.prefix, session=aws, desired_count=2)
        table = seen.inventory()
        assert list(table["state"][table["resource"] == "task"]) == ["RUNNING"] * 2
        expected = _hourly(built.region, tasks=2, zones=2)
        row = table[table["resource"] == "still billing"]
        assert list(row["state"]) == [f"about ${expected:.4f} per hour"]
        assert seen.billing()["per hour (USD)"].iloc[-1] == pytest.approx(expected)
    finally:
        assert built.teardown(progress=False).empty


def test_a_region_without_prices_creates_nothing_yet_lists_what_exists(
        endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASENTINELSENTINEL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel-secret-do-not-print")
    region = UNPRICED_REGION
    assert region not in PRICES
    lab = _lab(Session(target="aws", region=region, endpoint_url=endpoint),
               allowed_accounts=[ACCOUNT])

    # No estimate could be shown, so none counts as shown.
    with pytest.raises(ValueError, match=f"no prices for region '{region}'"):
        lab.cost_estimate()
    with pytest.raises(GuardError, match="cost estimate first"):
        lab.create_vpc()
    assert lab.inventory().empty

    # Something of the lab's exists there all the same (made before, or by
    # hand): the inventory and the dry run list it, with a note for the price.
    ec2 = lab.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": ec2_tags(
            lab.spec.tags(), name=lab.spec.vpc_name)}])["Vpc"]["VpcId"]
    table = lab.inventory().set_index("resource")
    assert table.loc["vpc", "id"] == vpc_id
    note = table.loc["still billing", "state"]
    assert f"no prices for {region}" in note and "$" not in note
    dry = lab.teardown()
    assert list(dry["resource"]) == ["vpc"]
    assert set(dry["action"]) == {"would delete (dry run)"}

    assert lab.teardown(confirm=lab.prefix).empty
    assert not ec2.describe_vpcs(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]


# -- run_aws and push on the aws target --------------------------------------------


def _spy_cli(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for the AWS CLI that records that it ran (the real one would
    reach AWS, since on the aws target the environment names no endpoint)."""
    ran = tmp_path / "ran"
    spy = tmp_path / "aws"
    spy.write_text(f"#!{sys.executable}\nopen({str(ran)!r}, 'a').write('ran')\n"
                   "print('{}')\n")
    spy.chmod(spy.stat().st_mode | stat.S_IXUSR)
    return spy, ran


@pytest.mark.parametrize("args", [["ecs", "list-clusters"],
                                  ["ecs", "create-cluster", "--cluster-name", "x"]])
def test_run_aws_refuses_an_unlisted_account(aws_session, tmp_path, monkeypatch,
                                             args):
    spy, ran = _spy_cli(tmp_path)
    monkeypatch.delenv("ECSLAB_ALLOWED_ACCOUNTS", raising=False)
    with pytest.raises(GuardError, match="the command was not run"):
        run_aws(aws_session, args, executable=str(spy))
    with pytest.raises(GuardError, match=r"\*{8}9012 is not on the allow list"):
        run_aws(aws_session, args, executable=str(spy),
                allowed_accounts=["111122223333"])
    assert not ran.exists()

    monkeypatch.setenv("ECSLAB_ALLOWED_ACCOUNTS", ACCOUNT)
    assert run_aws(aws_session, args, executable=str(spy)).ok
    assert ran.read_text() == "ran"


def test_the_labs_allow_list_guards_its_commands(aws_session, tmp_path,
                                                monkeypatch):
    spy, ran = _spy_cli(tmp_path)
    monkeypatch.delenv("ECSLAB_ALLOWED_ACCOUNTS", raising=False)
    lab = _lab(aws_session, allowed_accounts=["111122223333"])
    with pytest.raises(GuardError, match="the command was not run"):
        run_aws(lab.session, ["ecs", "list-clusters"], executable=str(spy))
    assert not ran.exists()
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    assert run_aws(lab.session, ["ecs", "list-clusters"], executable=str(spy)).ok
    assert ran.read_text() == "ran"


def test_push_refuses_an_unlisted_account(aws_session, tmp_path, monkeypatch):
    docker_log = tmp_path / "docker.log"
    fake = tmp_path / "docker"
    fake.write_text(f"#!{sys.executable}\nimport sys\n"
                    f"open({str(docker_log)!r}, 'a').write(' '.join(sys.argv[1:]))\n"
                    "print('99.0.0-fake')\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    engine = docker_engine(docker=str(fake))
    assert engine.available
    docker_log.unlink()
    monkeypatch.delenv("ECSLAB_ALLOWED_ACCOUNTS", raising=False)
    spec = LabSpec("push" + uuid.uuid4().hex[:6])
    with pytest.raises(GuardError, match="nothing was pushed"):
        push_image(aws_session, spec, engine=engine)
    assert not docker_log.exists()
    assert push_image(aws_session, spec, engine=engine,
                      allowed_accounts=[ACCOUNT]).ok
    assert docker_log.read_text().startswith("image push ")


def test_local_target_needs_no_guard(session):
    lab = Lab("local" + uuid.uuid4().hex[:6], session=session)
    assert lab.create_vpc().startswith("vpc-")
    assert lab.teardown().empty
