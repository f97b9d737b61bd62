"""The task lab's library against a real emulator process: idempotency, teardown
safety with decoys, and bad input caught before any call."""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest

from ecslab import Lab, Session
from ecslab.aws import ec2_tags
from ecslab.spec import (EXECUTION_POLICY_ARN, LAB_TAG, LAB_TAG_VALUE,
                         PREFIX_TAG, TASK_EXECUTION_ROLE, LabSpec)
from ecslab.task import RunTaskParamsError, load_run_task_params


def _prefix() -> str:
    return "t" + uuid.uuid4().hex[:8]


@pytest.fixture
def lab(session):
    made = Lab(_prefix(), session=session)
    yield made
    made.teardown()


def _build(lab: Lab) -> None:
    lab.ensure_task_roles()
    lab.create_network()
    lab.create_cluster()
    lab.create_log_group()
    lab.register_task_definition()


def _counts(lab: Lab) -> dict:
    return lab.inventory().groupby("resource").size().to_dict()


def test_every_step_twice_leaves_one_of_each(lab):
    _build(lab)
    first = _counts(lab)
    _build(lab)
    # A fresh Lab object (a restarted kernel) finds everything by tag as well.
    _build(Lab(lab.prefix, session=lab.session))
    assert _counts(lab) == first
    assert first == {"cluster": 1, "internet gateway": 1, "log group": 1,
                     "route table": 1, "security group": 1, "subnet": 1,
                     "task definition": 1, "vpc": 1, "role": 2}


def test_checks_pass_after_each_step(lab, tmp_path, monkeypatch):
    _build(lab)
    for step in ("roles", "vpc", "subnet", "internet_gateway", "route_table",
                 "security_group", "cluster", "log_group", "task_definition"):
        assert lab.check(step).ok
    monkeypatch.chdir(tmp_path)
    lab.write_run_task_params()
    assert lab.check("run_task_params").ok


def test_check_fails_clearly_before_the_step(session):
    fresh = Lab(_prefix(), session=session)
    with pytest.raises(AssertionError, match="vpc: expected exactly one"):
        fresh.check("vpc")
    with pytest.raises(ValueError, match="unknown step"):
        fresh.check("nonsense")


def test_vpc_has_dns_and_route_to_gateway(lab):
    _build(lab)
    ec2 = lab.client("ec2")
    vpc_id = lab.create_vpc()
    hostnames = ec2.describe_vpc_attribute(VpcId=vpc_id,
                                           Attribute="enableDnsHostnames")
    assert hostnames["EnableDnsHostnames"]["Value"] is True
    table = ec2.describe_route_tables(RouteTableIds=[lab.create_route_table()])
    routes = table["RouteTables"][0]["Routes"]
    assert any(r.get("DestinationCidrBlock") == "0.0.0.0/0"
               and r.get("GatewayId", "").startswith("igw-") for r in routes)


def test_run_task_params_carry_the_live_resources(lab, tmp_path):
    _build(lab)
    path = lab.write_run_task_params(tmp_path / "runtask_params.json")
    params = json.loads(path.read_text())
    net = params["networkConfiguration"]["awsvpcConfiguration"]
    assert params["cluster"] == lab.spec.cluster_name
    assert params["launchType"] == "FARGATE"
    assert net["subnets"] == [lab.create_subnet()]
    assert net["securityGroups"] == [lab.create_security_group()]
    assert net["assignPublicIp"] == "ENABLED"


@pytest.mark.parametrize("content, field", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"cluster": "c", "taskDefinition": "t", "colour": "blue"}', "colour"),
    ('{"cluster": "c", "taskDefinition": "t", "count": "one"}', "count"),
    ('{"cluster": "c"}', "taskDefinition"),
])
def test_malformed_run_task_file_names_the_field(tmp_path, content, field):
    path = tmp_path / "runtask_params.json"
    path.write_text(content)
    with pytest.raises(RunTaskParamsError, match=field):
        load_run_task_params(path)


def test_malformed_file_runs_nothing(lab, tmp_path):
    _build(lab)
    path = tmp_path / "runtask_params.json"
    path.write_text('{"cluster": "%s", "taskDefinition": "%s", "colour": 1}'
                    % (lab.spec.cluster_name, lab.spec.task_family))
    with pytest.raises(RunTaskParamsError, match="colour"):
        lab.run_task(path)
    ecs = lab.client("ecs")
    assert ecs.list_tasks(cluster=lab.spec.cluster_name)["taskArns"] == []


@pytest.mark.parametrize("prefix, rule", [
    ("", "must not be empty"),
    ("my lab", "whitespace"),
    ("../lab", "path character"),
    ("a/b", "path character"),
    ("MyLab", "upper case"),
    ("x" * 29, "at most 28"),
    ("lab-", "would hold '--'"),
    ("internal-lab", "internal-"),
    ("9lab", "must start with a letter"),
    ("my__lab", "two separators in a row"),
    (None, "must be a string"),
])
def test_bad_prefix_is_refused_before_any_call(prefix, rule):
    # No session is passed: the check must fire before one is even made.
    with pytest.raises(ValueError, match=rule):
        Lab(prefix, target="aws")


def test_internal_is_refused_only_where_aws_refuses_it():
    assert LabSpec("internals").load_balancer_name == "internals-alb"
    with pytest.raises(ValueError, match="internal-"):
        LabSpec("internal")
    with pytest.raises(ValueError, match="internal-"):
        LabSpec("internal_lab")


def test_longest_legal_prefix_derives_legal_names():
    spec = LabSpec("a" * 28)
    assert len(spec.load_balancer_name) == 32
    assert len(spec.target_group_name) <= 32


def test_teardown_spares_decoys_and_is_idempotent(session):
    mine = Lab(_prefix(), session=session)
    other = Lab(_prefix(), session=session)
    _build(mine)
    other.create_vpc()
    ec2 = session.client("ec2")
    # Named like the lab's VPC, but without the lab's tags: someone else's.
    untagged = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc",
         "Tags": ec2_tags({}, name=mine.spec.vpc_name)}])["Vpc"]["VpcId"]
    # Tagged as a lab, but another prefix.
    wrong_prefix = ec2.create_vpc(CidrBlock="10.8.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": ec2_tags(
            {LAB_TAG: LAB_TAG_VALUE, PREFIX_TAG: mine.prefix + "x"},
            name=mine.spec.vpc_name)}])["Vpc"]["VpcId"]
    untagged_group = session.client("logs")
    untagged_group.create_log_group(logGroupName=mine.spec.log_group_name + "_copy")

    before = mine.inventory()
    dry = mine.teardown(dry_run=True)
    assert set(dry["action"]) == {"would delete (dry run)"}
    assert list(dry["id"]) == list(before["id"]) and len(dry) > 5
    assert list(mine.inventory()["id"]) == list(before["id"])  # nothing went

    remaining = mine.teardown()
    assert remaining.empty
    assert mine.check("teardown").ok
    assert mine.teardown().empty  # a second teardown is a no-op

    alive = {v["VpcId"] for v in ec2.describe_vpcs(
        VpcIds=[untagged, wrong_prefix])["Vpcs"]}
    assert alive == {untagged, wrong_prefix}
    assert len(other.inventory()) == 1
    names = [g["logGroupName"] for g in untagged_group.describe_log_groups(
        logGroupNamePrefix=mine.spec.log_group_name)["logGroups"]]
    assert names == [mine.spec.log_group_name + "_copy"]

    other.teardown()
    ec2.delete_vpc(VpcId=untagged)
    ec2.delete_vpc(VpcId=wrong_prefix)
    untagged_group.delete_log_group(logGroupName=mine.spec.log_group_name + "_copy")


def test_a_prefix_ending_another_keeps_its_tasks_apart(session):
    # "x<p>_ecs_cluster" holds "<p>_ecs_cluster": neither the inventory nor the
    # teardown of lab <p> may take the other cluster's running task for its own.
    mine = Lab(_prefix(), session=session)
    neighbour = Lab("x" + mine.prefix, session=session)
    _build(mine)
    _build(neighbour)
    family = neighbour.register_service_task_definition().rsplit("/", 1)[-1]
    ecs = session.client("ecs")
    theirs = ecs.run_task(
        cluster=neighbour.spec.cluster_name, taskDefinition=family,
        launchType="FARGATE", networkConfiguration=neighbour.run_task_params()[
            "networkConfiguration"])["tasks"][0]["taskArn"]

    assert "task" not in set(mine.inventory()["resource"])
    assert mine.teardown().empty
    task = ecs.describe_tasks(cluster=neighbour.spec.cluster_name,
                              tasks=[theirs])["tasks"][0]
    assert task["desiredStatus"] == "RUNNING"
    assert list(neighbour.inventory().query("resource == 'task'")["id"]) == [
        theirs.rsplit("/", 1)[-1]]

    assert neighbour.teardown().empty


def test_teardown_keeps_roles_it_did_not_make(endpoint):
    # A private account of the emulator, so no other test's roles interfere.
    session = Session(target="local", endpoint_url=endpoint,
                      account="210987654321")
    assert session.account_id() == "210987654321"
    first = Lab(_prefix(), session=session)
    first.ensure_task_roles()
    second = Lab(_prefix(), session=session)
    roles = second.ensure_task_roles()
    assert set(roles["status"]) == {"found"}
    second.teardown()
    assert session.client("iam").get_role(RoleName="AmazonECSTaskRole")
    first.teardown()
    with pytest.raises(session.client("iam").exceptions.NoSuchEntityException):
        session.client("iam").get_role(RoleName="AmazonECSTaskRole")


def test_library_never_prints(lab, capsys):
    _build(lab)
    lab.inventory()
    lab.teardown()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_preflight_refuses_a_bad_size_before_sending(session):
    from ecslab.rules import PreflightError

    lab = Lab(_prefix(), session=session, task_memory="4096")
    lab.ensure_task_roles()
    # 256 CPU allows 512, 1024 or 2048 MiB on Fargate.
    with pytest.raises(PreflightError, match="memory") as caught:
        lab.register_task_definition()
    assert caught.value.doc_url.startswith("https://docs.aws.amazon.com/")
    ecs = session.client("ecs")
    assert ecs.list_task_definitions(familyPrefix=lab.spec.task_family)[
        "taskDefinitionArns"] == []
    lab.teardown()


def test_preflight_runs_on_the_aws_target_without_sending(monkeypatch):
    from ecslab.rules import PreflightError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASENTINELSENTINEL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel")
    # Nothing listens on port 9: a request that were sent would fail to connect.
    aws = Session(target="aws", endpoint_url="http://127.0.0.1:9")
    ecs = aws.client("ecs", preflight=True)
    with pytest.raises(PreflightError, match="awsvpc"):
        ecs.register_task_definition(
            family="pf", requiresCompatibilities=["FARGATE"],
            networkMode="bridge", cpu="256", memory="512",
            containerDefinitions=[{"name": "c", "image": "i"}])


def test_someone_elses_log_group_is_not_adopted(session):
    lab = Lab(_prefix(), session=session)
    logs = session.client("logs")
    # Same name, no tags (or another lab's): not this lab's to change or delete.
    logs.create_log_group(logGroupName=lab.spec.log_group_name)
    try:
        with pytest.raises(ValueError, match="does not carry this lab's tags"):
            lab.create_log_group()
        group = logs.describe_log_groups(
            logGroupNamePrefix=lab.spec.log_group_name)["logGroups"][0]
        assert "retentionInDays" not in group
        assert lab.inventory().empty
    finally:
        logs.delete_log_group(logGroupName=lab.spec.log_group_name)

    # Its own group, found again on a re-run, is kept and given its retention.
    assert lab.create_log_group() == lab.create_log_group()
    group = logs.describe_log_groups(
        logGroupNamePrefix=lab.spec.log_group_name)["logGroups"][0]
    assert group["retentionInDays"] == 7
    assert lab.teardown().empty


def test_a_role_the_lab_made_gets_its_missing_policy_back(endpoint):
    # A crash between CreateRole and AttachRolePolicy: the re-run finishes it.
    session = Session(target="local", endpoint_url=endpoint,
                      account="210987654324")
    lab = Lab(_prefix(), session=session)
    lab.ensure_task_roles()
    iam = session.client("iam")
    iam.detach_role_policy(RoleName=TASK_EXECUTION_ROLE,
                           PolicyArn=EXECUTION_POLICY_ARN)
    roles = lab.ensure_task_roles().set_index("role")
    assert roles.loc[TASK_EXECUTION_ROLE, "missing"] == ""
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(
        RoleName=TASK_EXECUTION_ROLE)["AttachedPolicies"]] == [EXECUTION_POLICY_ARN]
    assert lab.teardown().empty


def test_teardown_says_when_each_wait_starts_and_ends(lab, tmp_path, caplog):
    _build(lab)
    lab.run_task(lab.write_run_task_params(tmp_path / "runtask_params.json"))
    waits = []
    with caplog.at_level(logging.INFO, logger="ecslab"):
        assert lab.teardown(on_wait=lambda *event: waits.append(event)).empty

    assert [(what, phase) for what, phase, _ in waits] == [
        ("1 task(s) to stop", "start"), ("1 task(s) to stop", "done")]
    assert waits[0][2] == 0.0 and waits[1][2] >= 0
    lines = [r.getMessage() for r in caplog.records
             if r.name == "ecslab.teardown"]
    assert "waiting for 1 task(s) to stop" in lines
    assert any(re.fullmatch(r"1 task\(s\) to stop after \d+\.\ds", line)
               for line in lines)


def _register_changed(lab: Lab, **changes) -> None:
    """A new revision of the lab's family, changed as a learner might by hand."""
    ecs = lab.client("ecs")
    current = ecs.describe_task_definition(
        taskDefinition=lab.spec.task_family)["taskDefinition"]
    container = dict(current["containerDefinitions"][0],
                     **changes.pop("container", {}))
    request = {key: current[key] for key in (
        "family", "cpu", "memory", "networkMode", "requiresCompatibilities",
        "taskRoleArn", "executionRoleArn")}
    request.update(changes)
    ecs.register_task_definition(containerDefinitions=[container],
                                 **{k: v for k, v in request.items()
                                    if v is not None})


@pytest.mark.parametrize("changes, problem", [
    ({"cpu": "512", "memory": "1024"}, "asks for 512 CPU units / 1024 MiB"),
    ({"taskRoleArn": None}, "taskRoleArn is missing"),
    ({"container": {"image": "public.ecr.aws/docker/library/httpd:latest"}},
     "runs public.ecr.aws/docker/library/httpd:latest"),
    ({"container": {"logConfiguration": {"logDriver": "json-file"}}},
     "log driver is json-file"),
])
def test_task_definition_check_names_what_differs(lab, changes, problem):
    _build(lab)
    assert lab.check("task_definition").ok

    _register_changed(lab, **changes)
    with pytest.raises(AssertionError, match=re.escape(problem)):
        lab.check("task_definition")

    # The lab's step registers a matching revision again, and the check passes.
    lab.register_task_definition()
    assert lab.check("task_definition").ok


def test_run_task_file_check_needs_a_public_ip(lab, tmp_path, monkeypatch):
    _build(lab)
    monkeypatch.chdir(tmp_path)
    lab.write_run_task_params(public_ip=False)
    with pytest.raises(AssertionError, match="assignPublicIp is DISABLED"):
        lab.check("run_task_params")

    lab.write_run_task_params()
    assert lab.check("run_task_params").ok


def test_waiting_for_a_task_is_bounded(lab, tmp_path):
    _build(lab)
    task = lab.run_task(lab.write_run_task_params(tmp_path / "runtask_params.json"))

    # At test speed hello-world needs about half a second to stop, so a wait
    # with no time at all gives up at once, naming the state it saw.
    with pytest.raises(TimeoutError, match=r"is [A-Z]+ after 0s, not STOPPED"):
        lab.wait_until_stopped(task, timeout=0, progress=False)
    assert lab.wait_until_stopped(task, timeout=30, progress=False)[
        "lastStatus"] == "STOPPED"


def test_waiting_shows_progress_through_the_lifecycle(lab, tmp_path, capsys):
    _build(lab)
    task = lab.run_task(lab.write_run_task_params(tmp_path / "runtask_params.json"))
    lab.wait_until_stopped(task, timeout=30)

    # Outside a notebook tqdm draws on stderr; the last frame is the end state.
    bar = capsys.readouterr().err
    assert "STOPPED" in bar and "7/7 states" in bar
