"""The embedded emulator: loopback only, one shared process, dummy credentials."""

import json
import os
import subprocess
import sys
import time

import pytest

from ecslab import emulator
from ecslab.emulator import dataplane, server
from ecslab.session import Session


def test_status_reports_the_running_emulator(endpoint):
    record = emulator.status()
    assert record["running"] is True
    assert record["url"] == endpoint
    assert record["host"] == "127.0.0.1"


def test_start_reuses_the_running_process(endpoint):
    first = emulator.status()["pid"]
    again = emulator.start()
    assert again["pid"] == first and again["url"] == endpoint


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_serve_refuses_non_loopback(host):
    result = subprocess.run(
        [sys.executable, "-m", "ecslab", "emulator", "serve", "--host", host],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_are_accepted(host):
    assert server.check_loopback(host)


def test_managed_policies_are_loaded(session):
    iam = session.client("iam")
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/service-role/"
                            "AmazonECSTaskExecutionRolePolicy")["Policy"]
    assert policy["PolicyName"] == "AmazonECSTaskExecutionRolePolicy"


def test_health_says_it_is_simulated(endpoint):
    record = emulator.ping(endpoint)
    assert record["simulated"] is True and record["fidelity"] is True


def test_cli_status_json(endpoint):
    result = subprocess.run([sys.executable, "-m", "ecslab", "emulator", "status",
                             "--json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert json.loads(result.stdout)["url"] == endpoint


def test_speed_parsing():
    assert server.parse_speed("fast") < server.parse_speed("realistic")
    assert server.parse_speed("0.5") == 0.5
    with pytest.raises(ValueError, match="speed must be"):
        server.parse_speed("warp")
    with pytest.raises(ValueError, match=">= 0"):
        server.parse_speed(-1)


def _cli(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "ecslab", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def _pending_task(session) -> dict:
    """Run a Fargate task on ``session``'s emulator; the task once PENDING."""
    ec2, ecs = session.client("ec2"), session.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # moto's awsvpc RunTask needs DNS hostnames on the VPC.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"][
        "SubnetId"]
    group = ec2.create_security_group(GroupName="speed", Description="speed",
                                      VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="speed")
    definition = ecs.register_task_definition(
        family="speed", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512", containerDefinitions=[{
            "name": "web", "image": "public.ecr.aws/docker/library/httpd:latest",
            "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.run_task(cluster="speed", taskDefinition=definition,
                       launchType="FARGATE", networkConfiguration={
                           "awsvpcConfiguration": {"subnets": [subnet],
                                                   "securityGroups": [group]}})[
        "tasks"][0]["taskArn"]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        task = ecs.describe_tasks(cluster="speed", tasks=[arn])["tasks"][0]
        if task["lastStatus"] != "PROVISIONING":
            return task
        time.sleep(0.1)
    raise AssertionError("the task stayed PROVISIONING for 30 s")


def test_an_emulator_started_without_ecslab_speed_runs_at_realistic_speed(tmp_path):
    """With ECSLAB_SPEED unset, ``ecslab emulator start`` serves at the realistic
    speed: it says so, and a task's phases last their realistic seconds."""
    # The test run sets ECSLAB_SPEED; only the child process goes without it, and a
    # home of its own keeps the test run's emulator running.
    before = os.environ.get("ECSLAB_SPEED")
    env = {k: v for k, v in os.environ.items() if k != "ECSLAB_SPEED"}
    env["ECSLAB_HOME"] = str(tmp_path)
    started = _cli("emulator", "start", env=env, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        record = json.loads(_cli("emulator", "status", "--json", env=env).stdout)
        realistic = server.SPEEDS["realistic"]
        assert record["speed"] == realistic == 1.0
        assert emulator.ping(record["url"])["speed"] == realistic

        # The data plane stamps each phase at its scheduled time, so these spans
        # are the phase durations times the speed, however busy this machine is.
        task = _pending_task(Session(target="local", endpoint_url=record["url"]))
        provisioning = task["connectivityAt"] - task["createdAt"]
        pull = task["pullStoppedAt"] - task["pullStartedAt"]
        assert task["lastStatus"] == "PENDING"
        assert provisioning.total_seconds() == pytest.approx(
            dataplane.DURATIONS["PROVISIONING"] * realistic, abs=0.01)
        assert pull.total_seconds() == pytest.approx(
            dataplane.DURATIONS["PULL"] * realistic, abs=0.01)
    finally:
        _cli("emulator", "stop", env=env)
    assert os.environ.get("ECSLAB_SPEED") == before


def test_serve_on_ipv6_loopback_announces_a_usable_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "ecslab", "emulator", "serve", "--host", "::1",
         "--plain"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("ecslab emulator listening on http://[::1]:"), line
        url = line.split()[-1]
        assert emulator.ping(url)["ok"] is True
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_stop_ends_the_shared_process(tmp_path):
    # A home of its own, so the test run's emulator keeps running.
    env = {**os.environ, "ECSLAB_HOME": str(tmp_path)}
    started = _cli("emulator", "start", env=env, timeout=120)
    assert started.returncode == 0 and "emulator running on" in started.stdout
    assert _cli("emulator", "status", env=env).returncode == 0
    stopped = _cli("emulator", "stop", env=env)
    assert stopped.stdout.strip() == "emulator stopped"
    status = _cli("emulator", "status", env=env)
    assert status.returncode == 3 and status.stdout.strip() == "not running"
    again = _cli("emulator", "stop", env=env)
    assert again.stdout.strip() == "emulator was not running"
