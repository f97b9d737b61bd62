"""The service lab's library against a real emulator process: a service behind a
load balancer is created, converges, scales, replaces a stopped task, and is torn
down with nothing left.

Each test gets its own prefix and its own emulator account, so the account-wide
IAM roles of one test never meet another's.
"""

from __future__ import annotations

import uuid

import pytest

from ecslab import Lab, Session
from ecslab.loadbalancer import DEREGISTRATION_DELAY
from ecslab.spec import SERVICE_LINKED_ROLE
from ecslab.widgets import ServiceView, scale_control


def _prefix() -> str:
    return "s" + uuid.uuid4().hex[:8]


def _account() -> str:
    return "3" + str(uuid.uuid4().int)[:11]


@pytest.fixture
def lab(endpoint):
    session = Session(target="local", endpoint_url=endpoint, account=_account())
    made = Lab(_prefix(), session=session)
    yield made
    made.teardown()


def _build(lab: Lab) -> None:
    lab.ensure_service_roles()
    lab.create_service_network()
    lab.create_cluster()
    lab.create_log_group()
    lab.create_load_balancer()
    lab.create_target_group()
    lab.create_listener()
    lab.register_service_task_definition()


def _settle(lab: Lab) -> dict:
    """Until steady with every wanted task a healthy target (bounded)."""
    return ServiceView(lab).watch(timeout=60)


def _task_ips(lab: Lab) -> set[str]:
    return set(lab.service_tasks()["privateIp"])


def _healthy_ips(lab: Lab) -> set[str]:
    targets = lab.targets()
    return set(targets[targets["health"] == "healthy"]["target"])


@pytest.fixture
def live(lab):
    """A lab with its service created and settled at the desired count of 3."""
    _build(lab)
    lab.create_service()
    _settle(lab)
    return lab


def test_every_step_passes_its_check(lab):
    _build(lab)
    for step in ("subnets", "lb_security_group", "task_security_group",
                 "load_balancer", "target_group", "listener",
                 "service_task_definition"):
        assert lab.check(step).ok, step


def test_steps_twice_leave_one_of_each(lab):
    _build(lab)
    lab.create_service()
    first = lab.inventory().groupby("resource").size().to_dict()
    _build(lab)
    lab.create_service()
    # A fresh Lab (a restarted kernel) finds everything by tag as well.
    again = Lab(lab.prefix, session=lab.session)
    _build(again)
    again.create_service()
    assert lab.inventory().groupby("resource").size().to_dict() == first
    assert first["service"] == 1 and first["load balancer"] == 1
    assert first["target group"] == 1 and first["listener"] == 1


def test_service_becomes_stable_with_healthy_targets(lab):
    _build(lab)
    created = lab.create_service()
    assert created["desiredCount"] == 3

    assert lab.wait_until_stable(timeout=60) == {
        "desiredCount": 3, "runningCount": 3, "pendingCount": 0}
    # Stable means the targets are healthy too: the check passes at once.
    assert lab.check("service").ok
    _settle(lab)
    assert len(_task_ips(lab)) == 3
    assert _healthy_ips(lab) == _task_ips(lab)


def test_service_is_fargate_with_public_ips_and_no_role(live):
    service = live.service()
    assert service["launchType"] == "FARGATE"
    assert not service.get("roleArn")
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    assert network["assignPublicIp"] == "ENABLED"
    assert len(network["subnets"]) == 2
    [balancer] = service["loadBalancers"]
    assert (balancer["containerName"], balancer["containerPort"]) == ("httpd", 80)
    messages = " ".join(live.service_events(limit=50)["message"])
    assert "has reached a steady state" in messages


def test_scale_three_one_five(live):
    assert live.scale(1)["desiredCount"] == 1
    _settle(live)
    assert len(live.service_tasks()) == 1
    assert len(_healthy_ips(live)) == 1
    stopped = live.service_tasks("STOPPED")
    assert set(stopped["stopCode"]) == {"ServiceSchedulerInitiated"}

    live.scale(5)
    _settle(live)
    assert live.service()["runningCount"] == 5
    assert _healthy_ips(live) == _task_ips(live)
    assert len(_task_ips(live)) == 5


def test_scale_rejects_a_bad_count_before_any_call(live):
    for bad in (-1, 2.5, "3"):
        with pytest.raises(ValueError, match="desired count"):
            live.scale(bad)
    assert live.service()["desiredCount"] == 3


def test_stopped_task_is_replaced(live):
    before = set(live.service_tasks()["task"])
    stopped = live.stop_one_task()
    _settle(live)

    after = set(live.service_tasks()["task"])
    assert len(after) == 3
    assert stopped[:12] not in after
    assert len(after - before) == 1
    row = live.service_tasks("STOPPED").set_index("task").loc[stopped[:12]]
    assert row["stopCode"] == "UserInitiated"
    assert _healthy_ips(live) == _task_ips(live)


def test_target_group_drains_quickly(live):
    elbv2 = live.client("elbv2")
    arn = elbv2.describe_target_groups(
        Names=[live.spec.target_group_name])["TargetGroups"][0]["TargetGroupArn"]
    attributes = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(
        TargetGroupArn=arn)["Attributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == str(
        DEREGISTRATION_DELAY)


def test_scale_control_button_sets_the_desired_count(live):
    control = scale_control(live)
    assert control.count.value == 3
    control.count.value = 2
    control.button.click()
    assert live.service()["desiredCount"] == 2
    assert "set to <b>2</b>" in control.status.value


def test_scale_control_shows_and_raises_errors(live, monkeypatch):
    control = scale_control(live)

    def refused(count):
        raise RuntimeError(f"refused {count}")

    monkeypatch.setattr(live, "scale", refused)
    control.count.value = 4
    control.button.click()  # a click shows the error in the widget...
    assert "refused 4" in control.status.value
    with pytest.raises(RuntimeError, match="refused 5"):  # ...a cell raises it
        control.scale(5)
    assert "refused 5" in control.status.value


def test_teardown_with_a_live_service_leaves_nothing(live):
    ecs, elbv2 = live.client("ecs"), live.client("elbv2")
    assert live.teardown().empty
    assert live.check("teardown").ok

    assert live.inventory().empty
    services = ecs.describe_services(cluster=live.spec.cluster_name,
                                     services=[live.spec.service_name])["services"]
    assert all(s["status"] == "INACTIVE" for s in services)
    names = [b["LoadBalancerName"]
             for b in elbv2.describe_load_balancers()["LoadBalancers"]]
    assert live.spec.load_balancer_name not in names
    groups = [g["TargetGroupName"]
              for g in elbv2.describe_target_groups()["TargetGroups"]]
    assert live.spec.target_group_name not in groups


def test_service_linked_role_is_named_as_on_aws(lab):
    first = lab.ensure_service_roles()
    assert SERVICE_LINKED_ROLE in set(first["role"])
    again = lab.ensure_service_roles()
    assert set(again["status"]) == {"found"}
    assert lab.check("service_roles").ok
