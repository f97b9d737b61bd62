"""The task lab through the AWS CLI: one ``aws`` process per step, as a learner
typing the handout's commands by hand (with no pauses for typing)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from ecslab import task as task_steps
from ecslab.iam import TASKS_TRUST
from ecslab.spec import EXECUTION_POLICY_ARN, TASK_EXECUTION_ROLE, TASK_ROLE, LabSpec

STEP_TIMEOUT = 60.0
WAIT_TIMEOUT = 60.0


class CliRun:
    """Runs ``aws`` commands one process each; counts them, their time and failures."""

    def __init__(self, env: dict, workdir: Path):
        self.env = env
        self.workdir = Path(workdir)
        self.processes = 0
        self.failures: list[str] = []
        self.times: list[tuple[str, float]] = []  # (command, seconds) per process

    def __call__(self, *args: str, query: str | None = None,
                 expect_failure: bool = False) -> str:
        command = ["aws", *args, "--output", "text"]
        if query:
            command += ["--query", query]
        self.processes += 1
        began = time.perf_counter()
        done = subprocess.run(command, env=self.env, cwd=self.workdir,
                              capture_output=True, text=True, timeout=STEP_TIMEOUT)
        self.times.append((" ".join(args[:2]), time.perf_counter() - began))
        if done.returncode != 0 and not expect_failure:
            self.failures.append(f"{' '.join(args[:2])}: "
                                 f"{done.stderr.strip().splitlines()[-1:]}"[:300])
        return done.stdout.strip() if done.returncode == 0 else ""


def _ec2_tags(kind: str, name: str, tags: dict) -> str:
    pairs = {"Name": name, **tags}
    inner = ",".join(f"{{Key={k},Value={v}}}" for k, v in pairs.items())
    return f"ResourceType={kind},Tags=[{inner}]"


def run_cli_lab(session, prefix: str, workdir: Path) -> dict:
    """Every step of the task lab as ``aws`` commands; timings and counts."""
    spec = LabSpec(prefix=prefix, region=session.region)
    tags = spec.tags()
    workdir = Path(workdir)
    aws = CliRun(session.cli_env(), workdir)
    (workdir / "trust.json").write_text(json.dumps(TASKS_TRUST))
    steps: dict[str, float] = {}
    began = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal began
        now = time.perf_counter()
        steps[name] = now - began
        began = now

    # Prerequisite roles: look first, create when missing.
    arns, created = {}, []
    for role in (TASK_ROLE, TASK_EXECUTION_ROLE):
        arns[role] = aws("iam", "get-role", "--role-name", role, query="Role.Arn",
                         expect_failure=True)
        if not arns[role]:
            created.append(role)
            arns[role] = aws("iam", "create-role", "--role-name", role,
                             "--assume-role-policy-document", "file://trust.json",
                             "--tags", *(f"Key={k},Value={v}" for k, v in tags.items()),
                             query="Role.Arn")
    aws("iam", "attach-role-policy", "--role-name", TASK_EXECUTION_ROLE,
        "--policy-arn", EXECUTION_POLICY_ARN)
    lap("roles")

    vpc = aws("ec2", "create-vpc", "--cidr-block", spec.vpc_cidr,
              "--tag-specifications", _ec2_tags("vpc", spec.vpc_name, tags),
              query="Vpc.VpcId")
    aws("ec2", "modify-vpc-attribute", "--vpc-id", vpc, "--enable-dns-support",
        '{"Value":true}')
    aws("ec2", "modify-vpc-attribute", "--vpc-id", vpc, "--enable-dns-hostnames",
        '{"Value":true}')
    subnet = aws("ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block",
                 spec.subnet_cidrs[0], "--availability-zone", f"{spec.region}a",
                 "--tag-specifications",
                 _ec2_tags("subnet", spec.subnet_name, tags), query="Subnet.SubnetId")
    igw = aws("ec2", "create-internet-gateway", "--tag-specifications",
              _ec2_tags("internet-gateway", spec.internet_gateway_name, tags),
              query="InternetGateway.InternetGatewayId")
    aws("ec2", "attach-internet-gateway", "--internet-gateway-id", igw,
        "--vpc-id", vpc)
    table = aws("ec2", "create-route-table", "--vpc-id", vpc, "--tag-specifications",
                _ec2_tags("route-table", spec.route_table_name, tags),
                query="RouteTable.RouteTableId")
    aws("ec2", "create-route", "--route-table-id", table, "--destination-cidr-block",
        "0.0.0.0/0", "--gateway-id", igw)
    association = aws("ec2", "associate-route-table", "--route-table-id", table,
                      "--subnet-id", subnet, query="AssociationId")
    group = aws("ec2", "create-security-group", "--group-name",
                spec.security_group_name, "--description", "ecslab: ECS tasks",
                "--vpc-id", vpc, "--tag-specifications",
                _ec2_tags("security-group", spec.security_group_name, tags),
                query="GroupId")
    lap("network")

    aws("ecs", "create-cluster", "--cluster-name", spec.cluster_name, "--settings",
        "name=containerInsights,value=enabled",
        "--tags", *(f"key={k},value={v}" for k, v in tags.items()))
    lap("cluster")
    aws("logs", "create-log-group", "--log-group-name", spec.log_group_name,
        "--tags", ",".join(f"{k}={v}" for k, v in tags.items()))
    lap("log group")

    container = task_steps.container_definition(
        spec.task_container_name, spec.task_image, int(spec.task_memory),
        spec.log_group_name, spec.region, spec.log_stream_prefix)
    (workdir / "taskdef.json").write_text(json.dumps({
        "family": spec.task_family, "cpu": spec.task_cpu, "memory": spec.task_memory,
        "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "taskRoleArn": arns[TASK_ROLE], "executionRoleArn": arns[TASK_EXECUTION_ROLE],
        "containerDefinitions": [container],
        "tags": [{"key": k, "value": v} for k, v in tags.items()]}))
    definition = aws("ecs", "register-task-definition", "--cli-input-json",
                     "file://taskdef.json", query="taskDefinition.taskDefinitionArn")
    lap("task definition")
    task_steps.write_run_task_params(workdir / "runtask_params.json",
                                     task_steps.run_task_params(
                                         spec.cluster_name, spec.task_family,
                                         [subnet], [group], tags))
    lap("run-task file")

    task = aws("ecs", "run-task", "--cli-input-json", "file://runtask_params.json",
               query="tasks[0].taskArn")
    lap("run task")
    # A learner re-runs describe-tasks until the task says STOPPED.
    status, polls, deadline = "", 0, time.monotonic() + WAIT_TIMEOUT
    while task and status != "STOPPED" and time.monotonic() < deadline:
        status = aws("ecs", "describe-tasks", "--cluster", spec.cluster_name,
                     "--tasks", task, query="tasks[0].lastStatus")
        polls += 1
    lap("wait STOPPED")
    stream = f"{spec.log_stream_prefix}/{spec.task_container_name}/" \
             f"{task.rsplit('/', 1)[-1]}"
    events = aws("logs", "get-log-events", "--log-group-name", spec.log_group_name,
                 "--log-stream-name", stream, query="length(events)")
    lap("read logs")

    aws("ecs", "deregister-task-definition", "--task-definition", definition)
    aws("ecs", "delete-cluster", "--cluster", spec.cluster_name)
    aws("logs", "delete-log-group", "--log-group-name", spec.log_group_name)
    for role in created:  # only the roles this run made
        if role == TASK_EXECUTION_ROLE:
            aws("iam", "detach-role-policy", "--role-name", role,
                "--policy-arn", EXECUTION_POLICY_ARN)
        aws("iam", "delete-role", "--role-name", role)
    aws("ec2", "delete-security-group", "--group-id", group)
    aws("ec2", "disassociate-route-table", "--association-id", association)
    aws("ec2", "delete-route-table", "--route-table-id", table)
    aws("ec2", "detach-internet-gateway", "--internet-gateway-id", igw,
        "--vpc-id", vpc)
    aws("ec2", "delete-internet-gateway", "--internet-gateway-id", igw)
    aws("ec2", "delete-subnet", "--subnet-id", subnet)
    aws("ec2", "delete-vpc", "--vpc-id", vpc)
    lap("teardown")

    return {"seconds": round(sum(steps.values()), 3),
            "steps": {k: round(v, 3) for k, v in steps.items()},
            "processes": aws.processes, "status_polls": polls,
            "task_status": status or None,
            "log_events": int(events) if events.isdigit() else 0,
            "slowest": sorted(aws.times, key=lambda t: -t[1])[:3],
            "errors": aws.failures}
