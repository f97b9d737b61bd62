"""The aws target's guards, without a network: the emulator is presented as a
non-local endpoint (target "aws"), and botocore's Stubber injects AWS's errors."""

from __future__ import annotations

import json
import logging
import stat
import sys
import uuid
from pathlib import Path

import pytest
from botocore.stub import Stubber

from ecslab import Lab, Session
from ecslab.account import GuardError, mask
from ecslab.aws import as_dict, carries, ec2_tags
from ecslab.commands import docker_engine, run_aws
from ecslab.cost import PRICES, estimate, prices_for
from ecslab.ecr import push_image
from ecslab.iam import TASKS_TRUST, delete_role
from ecslab.spec import TASK_EXECUTION_ROLE, TASK_ROLE, LabSpec

ACCOUNT = "123456789012"  # the emulator's default account
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
