"""The aws target's guards, without a network: the emulator is presented as a
non-local endpoint (target "aws"), and botocore's Stubber injects AWS's errors."""

from __future__ import annotations

import uuid

import pytest
from botocore.stub import Stubber

from ecslab import Lab, Session
from ecslab.account import GuardError, mask
from ecslab.cost import PRICES, estimate, prices_for
from ecslab.spec import LabSpec

ACCOUNT = "123456789012"  # the emulator's default account


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


def test_teardown_spares_an_untagged_decoy_and_the_default_vpc(aws_session):
    lab = _lab(aws_session, allowed_accounts=[ACCOUNT])
    lab.cost_estimate()
    lab.create_vpc()
    ec2 = aws_session.client("ec2")
    decoy = ec2.create_vpc(CidrBlock="10.7.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name",
                                          "Value": lab.spec.vpc_name}]}])
    decoy_id = decoy["Vpc"]["VpcId"]
    defaults = [v["VpcId"] for v in ec2.describe_vpcs(
        Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]]

    assert lab.teardown(confirm=lab.prefix).empty
    left = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert decoy_id in left and set(defaults) <= left
    ec2.delete_vpc(VpcId=decoy_id)


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


def test_local_target_needs_no_guard(session):
    lab = Lab("local" + uuid.uuid4().hex[:6], session=session)
    assert lab.create_vpc().startswith("vpc-")
    assert lab.teardown().empty
