"""The service lab's library against a real emulator process: a service behind a
load balancer is created, converges, scales, replaces a stopped task, and is torn
down with nothing left.

Each test gets its own prefix and its own emulator account, so the account-wide
IAM roles of one test never meet another's.
"""

from __future__ import annotations

import http.server
import threading
import time
import uuid

import pytest

from ecslab import Lab, Session
from ecslab.loadbalancer import DEREGISTRATION_DELAY
from ecslab.spec import (SERVICE_LINKED_ROLE, SERVICE_ROLE, TASK_EXECUTION_ROLE,
                         TASK_ROLE)
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


def test_a_stopped_standalone_task_stays_stopped_beside_the_service(live, tmp_path):
    stopped = live.stop_one_task()
    live.create_log_group()
    live.register_task_definition()
    params = live.write_run_task_params(tmp_path / "runtask_params.json")
    standalone = live.run_task(params)
    live.wait_until_stopped(standalone, progress=False)
    _settle(live)

    table = live.compare_stopped(standalone, stopped)
    alone, service = table.loc["standalone task"], table.loc["service task"]
    assert alone["lastStatus"] == "STOPPED" and alone["running now"] == 0
    assert alone["stopCode"] == "EssentialContainerExited"
    assert service["task"] == stopped and service["lastStatus"] == "STOPPED"
    assert service["stopCode"] == "UserInitiated"
    assert service["running now"] == live.service()["desiredCount"] == 3


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


# -- check cells: each passes on the lab's resource and fails, saying what is
# wrong, once the resource is changed behind the lab's back -----------------------

def _route_table_id(lab: Lab) -> str:
    return lab.create_service_network()["route_table"]


def test_subnets_check_needs_the_route_to_the_internet_gateway(lab):
    table_id = _route_table_id(lab)
    assert "0.0.0.0/0 -> igw-" in lab.check("subnets").message

    lab.client("ec2").delete_route(RouteTableId=table_id,
                                   DestinationCidrBlock="0.0.0.0/0")
    with pytest.raises(AssertionError, match=(
            rf"subnets: {lab.spec.route_table_name} has no route 0\.0\.0\.0/0, "
            r"so its subnets are not public")):
        lab.check("subnets")

    lab.create_service_network()  # the fix the message names
    assert lab.check("subnets").ok


def test_subnets_check_needs_every_subnet_associated(lab):
    ec2 = lab.client("ec2")
    table_id = _route_table_id(lab)
    [table] = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"]
    second = lab.spec.subnet_names()[1]
    association = next(a["RouteTableAssociationId"] for a in table["Associations"]
                       if a.get("SubnetId") == lab.create_subnet(1))
    ec2.disassociate_route_table(AssociationId=association)
    with pytest.raises(AssertionError, match=rf"{second} not associated with"):
        lab.check("subnets")


def _target_group_arn(lab: Lab) -> str:
    elbv2 = lab.client("elbv2")
    return elbv2.describe_target_groups(
        Names=[lab.spec.target_group_name])["TargetGroups"][0]["TargetGroupArn"]


def test_target_group_check_needs_health_check_on_root_and_ip_targets(lab):
    elbv2 = lab.client("elbv2")
    lab.create_target_group()
    assert lab.check("target_group").message.endswith("health check /")

    elbv2.modify_target_group(TargetGroupArn=_target_group_arn(lab),
                              HealthCheckPath="/healthz")
    with pytest.raises(AssertionError, match=(
            r"target_group: the health check asks for '/healthz', not '/'")):
        lab.check("target_group")
    elbv2.modify_target_group(TargetGroupArn=_target_group_arn(lab),
                              HealthCheckPath="/")
    assert lab.check("target_group").ok

    # The target type cannot be changed: an instance group of the same name.
    elbv2.delete_target_group(TargetGroupArn=_target_group_arn(lab))
    elbv2.create_target_group(
        Name=lab.spec.target_group_name, Protocol="HTTP", Port=80,
        VpcId=lab.create_vpc(), TargetType="instance", HealthCheckPath="/",
        Tags=[{"Key": k, "Value": v} for k, v in lab.spec.tags().items()])
    with pytest.raises(AssertionError, match=(
            r"target_group: target type is instance; awsvpc \(Fargate\) tasks "
            r"register by IP, so it must be 'ip'")):
        lab.check("target_group")


def test_listener_check_needs_http_80_forwarding_to_the_lab_group(lab):
    elbv2 = lab.client("elbv2")
    lab.create_service_network()
    lab.create_listener()
    assert lab.check("listener").message == (
        f"HTTP:80 forwards to {lab.spec.target_group_name}")
    balancer = elbv2.describe_load_balancers(
        Names=[lab.spec.load_balancer_name])["LoadBalancers"][0]
    [listener] = elbv2.describe_listeners(
        LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    arn = listener["ListenerArn"]

    elbv2.modify_listener(ListenerArn=arn, DefaultActions=[{
        "Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "503", "ContentType": "text/plain"}}])
    with pytest.raises(AssertionError, match=(
            r"listener: its default action is fixed-response, not forward")):
        lab.check("listener")

    other = elbv2.create_target_group(
        Name="other-tg" + lab.prefix[1:5], Protocol="HTTP", Port=80,
        VpcId=lab.create_vpc(), TargetType="ip")["TargetGroups"][0]
    elbv2.modify_listener(ListenerArn=arn, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": other["TargetGroupArn"]}])
    with pytest.raises(AssertionError, match=(
            rf"listener: it forwards to \['{other['TargetGroupName']}'\], not to "
            rf"the lab's target group {lab.spec.target_group_name}")):
        lab.check("listener")

    elbv2.modify_listener(ListenerArn=arn, Port=8080, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": _target_group_arn(lab)}])
    with pytest.raises(AssertionError, match=(
            r"listener: \S+ has no listener on port 80 \(it has HTTP:8080\)")):
        lab.check("listener")

    elbv2.modify_listener(ListenerArn=arn, Port=80)
    assert lab.check("listener").ok


def _register_variant(lab: Lab, revision: int, **changes) -> None:
    """A new revision of the service family: ``revision``, with ``changes``."""
    ecs = lab.client("ecs")
    current = ecs.describe_task_definition(
        taskDefinition=f"{lab.spec.service_family}:{revision}")["taskDefinition"]
    params = {key: current[key] for key in (
        "family", "cpu", "memory", "networkMode", "taskRoleArn",
        "executionRoleArn", "containerDefinitions", "requiresCompatibilities")}
    container = {**params["containerDefinitions"][0],
                 **changes.pop("container", {})}
    for key in [k for k, v in container.items() if v is None]:
        del container[key]
    params.update(changes, containerDefinitions=[container])
    ecs.register_task_definition(**params)


@pytest.mark.parametrize("changes, problem", [
    ({"container": {"image": "public.ecr.aws/nginx/nginx:latest"}},
     r"the container runs public\.ecr\.aws/nginx/nginx:latest, not "
     r"public\.ecr\.aws/docker/library/httpd:latest"),
    ({"requiresCompatibilities": ["EC2"], "networkMode": "bridge"},
     r":2 is not marked compatible with FARGATE \(\['EC2'\]\)"),
    ({"container": {"logConfiguration": None}},
     r"the container's log driver is None, not awslogs"),
    ({"container": {"logConfiguration": {"logDriver": "awslogs", "options": {
        "awslogs-group": "elsewhere", "awslogs-region": "ap-northeast-1",
        "awslogs-stream-prefix": "ecs"}}}},
     r"the container logs to elsewhere, not to \S+_esc_task_log_group"),
])
def test_service_task_definition_check_names_what_is_wrong(lab, changes, problem):
    lab.create_log_group()
    lab.register_service_task_definition()
    assert "Fargate, awsvpc, public.ecr.aws/docker/library/httpd:latest on port " \
           "80, awslogs" in lab.check("service_task_definition").message

    _register_variant(lab, 1, **changes)
    with pytest.raises(AssertionError, match="service_task_definition: .*" + problem):
        lab.check("service_task_definition")

    # A revision as the lab registers it is the fix. (The lab's own step would
    # compare with revision 1: the emulator's ListTaskDefinitions ignores
    # sort=DESC.)
    _register_variant(lab, 1)
    assert lab.check("service_task_definition").message.startswith(
        f"{lab.spec.service_family}:3 — Fargate")


# -- the live picture --------------------------------------------------------------

@pytest.mark.parametrize("public_ip, attach, problem", [
    ("DISABLED", True, "assignPublicIp is DISABLED"),
    ("ENABLED", False, "it is not attached to"),
])
def test_service_check_names_how_the_service_was_made_wrong(lab, public_ip,
                                                            attach, problem):
    _build(lab)
    spec = lab.spec
    balancers = [{"targetGroupArn": _target_group_arn(lab),
                  "containerName": spec.service_container_name,
                  "containerPort": spec.container_port}] if attach else []

    # The lab's service, made by hand the way a learner might get it wrong.
    lab.client("ecs").create_service(
        cluster=spec.cluster_name, serviceName=spec.service_name,
        taskDefinition=spec.service_family, desiredCount=1, launchType="FARGATE",
        loadBalancers=balancers, networkConfiguration={"awsvpcConfiguration": {
            "subnets": [lab.create_subnet(0), lab.create_subnet(1)],
            "securityGroups": [lab.create_service_security_group()],
            "assignPublicIp": public_ip}})
    with pytest.raises(AssertionError, match=f"service: {problem}"):
        lab.check("service")


def test_live_picture_of_a_built_service_lab_is_complete(lab):
    # Notebook 02's roles: account-wide, made earlier under another prefix.
    earlier = Lab(_prefix(), session=lab.session)
    earlier.ensure_service_roles()
    _build(lab)
    lab.create_service()
    _settle(lab)

    svg = lab.draw("service").data
    assert "(not created yet)" not in svg  # the title's legend aside
    assert "account-wide, not this lab's" in svg
    assert svg.count("<image ") == lab.draw("service", live=False).data.count(
        "<image ")

    # The picture borrows the roles; the inventory and teardown leave them be.
    assert "role" not in set(lab.inventory()["resource"])
    assert lab.teardown().empty
    iam = lab.client("iam")
    for name in (TASK_ROLE, TASK_EXECUTION_ROLE, SERVICE_ROLE):
        assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    assert "(not created yet)" in lab.draw("service").data  # the rest is gone


# -- what the load balancer serves ----------------------------------------------

def test_request_load_balancer_makes_no_request_on_the_emulator(lab):
    lab.create_service_network()
    dns = lab.create_load_balancer()["dns"]
    answer = lab.request_load_balancer()
    assert answer["url"] == f"http://{dns}/"
    assert answer["status"] is None and answer["attempts"] == 0
    assert answer["simulated"] is True
    assert "no container runs" in answer["note"]
    assert "It works!" in answer["note"]  # what AWS would answer, said plainly


def test_request_load_balancer_needs_a_load_balancer(lab):
    with pytest.raises(LookupError, match="run lab.create_load_balancer"):
        lab.request_load_balancer()


class _Httpd(http.server.BaseHTTPRequestHandler):
    """httpd's default page, after ``unhealthy`` 503s (no healthy target yet)."""

    unhealthy = 0
    requests = 0

    def do_GET(self):
        type(self).requests += 1
        if type(self).requests <= type(self).unhealthy:
            self.send_response(503)
            body = b"<html><body><h1>503 Service Temporarily Unavailable</h1>"
        else:
            self.send_response(200)
            body = (b"<html><body><h1>It works!</h1></body></html>\n"
                    b"second line\nthird line\n")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # keep the test's output quiet


@pytest.fixture
def httpd(monkeypatch):
    """A tiny HTTP server on 127.0.0.1 standing in for the load balancer."""
    for key in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(key, raising=False)
    handler = type("Handler", (_Httpd,), {"requests": 0, "unhealthy": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws_lab(endpoint, monkeypatch):
    """A Lab on the aws target (the emulator stands in; nothing reaches AWS)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASENTINELSENTINEL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sentinel-secret-do-not-print")
    session = Session(target="aws", region="ap-northeast-1", endpoint_url=endpoint)
    return Lab(_prefix(), session=session)


def test_request_load_balancer_on_aws_retries_until_it_works(aws_lab, httpd):
    httpd.RequestHandlerClass.unhealthy = 2
    url = f"http://127.0.0.1:{httpd.server_port}/"
    answer = aws_lab.request_load_balancer(url=url, interval=0.01, lines=2)
    assert answer == {"url": url, "status": 200, "attempts": 3, "simulated": False,
                      "body": "<html><body><h1>It works!</h1></body></html>\n"
                              "second line"}
    assert httpd.RequestHandlerClass.requests == 3


def test_request_load_balancer_on_aws_is_bounded(aws_lab, httpd):
    httpd.RequestHandlerClass.unhealthy = 100
    url = f"http://127.0.0.1:{httpd.server_port}/"
    answer = aws_lab.request_load_balancer(url=url, attempts=3, interval=0.01)
    assert (answer["status"], answer["attempts"]) == (503, 3)
    assert httpd.RequestHandlerClass.requests == 3

    # Nothing listening at all: a clear error after the last attempt.
    closed = f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=r"no HTTP answer in 2 attempt"):
        aws_lab.request_load_balancer(url=closed, attempts=2, interval=0.01,
                                      timeout=1)
    assert time.monotonic() - started < 5
