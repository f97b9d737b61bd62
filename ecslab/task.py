"""Tasks: the task definition, the run-task parameter file, running and waiting.

The parameter file is the same JSON the AWS CLI reads with
``aws ecs run-task --cli-input-json file://runtask_params.json``, and it is
checked with botocore's own parameter validation, as the CLI checks it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import ParamValidator

from .aws import as_dict, ecs_tags

log = logging.getLogger(__name__)

# The documented lifecycle, in order.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
LIFECYCLE = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING",
             "STOPPING", "DEPROVISIONING", "STOPPED"]


class RunTaskParamsError(ValueError):
    """The run-task parameter file is not something ``RunTask`` accepts."""


def container_definition(name: str, image: str, memory: int, log_group: str,
                         region: str, stream_prefix: str,
                         port: int | None = None) -> dict:
    """One essential container writing its output to CloudWatch Logs (awslogs)."""
    definition = {
        "name": name,
        "image": image,
        "essential": True,
        # A hard limit equal to the task's memory: valid on Fargate, and the
        # emulator's moto core needs a container-level value.
        "memory": memory,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group, "awslogs-region": region,
                        "awslogs-stream-prefix": stream_prefix},
        },
    }
    if port is not None:
        definition["portMappings"] = [{"containerPort": port, "hostPort": port,
                                       "protocol": "tcp"}]
    return definition


def ensure_task_definition(ecs, family: str, container: dict, cpu: str, memory: str,
                           task_role_arn: str, execution_role_arn: str,
                           tags: dict) -> str:
    """The ARN of an ACTIVE Fargate revision of ``family`` matching these settings.

    A new revision is registered only when the latest one differs, so running
    the step again does not pile up revisions.
    """
    wanted = {"cpu": cpu, "memory": memory, "networkMode": "awsvpc",
              "taskRoleArn": task_role_arn, "executionRoleArn": execution_role_arn,
              "containerDefinitions": [container],
              "requiresCompatibilities": ["FARGATE"]}
    latest = _latest_revision(ecs, family)
    if latest and _same(latest, wanted):
        return latest["taskDefinitionArn"]

    arn = ecs.register_task_definition(family=family, tags=ecs_tags(tags),
                                       **wanted)["taskDefinition"]["taskDefinitionArn"]
    log.info("registered task definition %s", arn.rsplit("/", 1)[-1])
    return arn


def _latest_revision(ecs, family: str) -> dict | None:
    arns = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE",
                                     sort="DESC")["taskDefinitionArns"]
    arns = [a for a in arns if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
    if not arns:
        return None
    return ecs.describe_task_definition(taskDefinition=arns[0])["taskDefinition"]


def _same(current: dict, wanted: dict) -> bool:
    for key in ("cpu", "memory", "networkMode", "taskRoleArn", "executionRoleArn"):
        if str(current.get(key)) != str(wanted[key]):
            return False
    have = current.get("containerDefinitions", [])
    want = wanted["containerDefinitions"]
    if len(have) != len(want):
        return False
    for h, w in zip(have, want):
        for key in ("name", "image", "logConfiguration", "portMappings"):
            if key in w and _strip(h.get(key)) != _strip(w.get(key)):
                return False
    return True


def _strip(value):
    # AWS echoes defaults we did not send (empty lists, appProtocol...): compare
    # only what the lab asked for.
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v not in (None, [], {})
                and k not in ("appProtocol", "name", "secretOptions")}
    return value


def run_task_params(cluster: str, task_definition: str, subnets: list[str],
                    security_groups: list[str], tags: dict,
                    public_ip: bool = True) -> dict:
    """RunTask parameters for one Fargate task, as the CLI's JSON file holds them.

    ``assignPublicIp`` ENABLED lets a task in a public subnet pull its image from
    a public registry; without it (and with no NAT) the pull fails.
    """
    return {
        "cluster": cluster,
        "taskDefinition": task_definition,
        "count": 1,
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": subnets,
            "securityGroups": security_groups,
            "assignPublicIp": "ENABLED" if public_ip else "DISABLED",
        }},
        "tags": ecs_tags(tags),
    }


def _run_task_shape():
    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model("RunTask").input_shape


def validate_run_task_params(params: object) -> dict:
    """Check ``params`` with botocore's validator, the one the AWS CLI uses.

    Raises ``RunTaskParamsError`` naming the offending field.
    """
    if not isinstance(params, dict):
        raise RunTaskParamsError(
            f"run-task parameters must be a JSON object, not "
            f"{type(params).__name__}")
    try:
        report = ParamValidator().validate(params, _run_task_shape())
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())
    except ParamValidationError as error:
        raise RunTaskParamsError(str(error)) from None
    return params


def write_run_task_params(path: str | Path, params: dict) -> Path:
    """Validate ``params`` and write them as the CLI's ``--cli-input-json`` file."""
    validate_run_task_params(params)
    path = Path(path)
    path.write_text(json.dumps(params, indent=2) + "\n")
    log.info("wrote %s", path)
    return path


def load_run_task_params(path: str | Path) -> dict:
    """Read and validate a run-task parameter file; errors name the field."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RunTaskParamsError(f"{path} does not exist: write it first") from None
    try:
        params = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunTaskParamsError(
            f"{path} is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}") from None
    return validate_run_task_params(params)


def run_task(ecs, params: dict) -> str:
    """Start the task and return its ARN; AWS's placement failures raise."""
    response = ecs.run_task(**params)
    failures = response.get("failures", [])
    if failures or not response.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}"
                            for f in failures) or "no task was started"
        raise RuntimeError(f"RunTask failed: {reasons}")
    arn = response["tasks"][0]["taskArn"]
    log.info("started task %s", arn.rsplit("/", 1)[-1])
    return arn


def describe_task(ecs, cluster: str, task_arn: str) -> dict:
    tasks = ecs.describe_tasks(cluster=cluster, tasks=[task_arn],
                               include=["TAGS"])["tasks"]
    if not tasks:
        raise LookupError(f"task {task_arn} not found in {cluster}")
    return tasks[0]


def wait_for_status(ecs, cluster: str, task_arn: str, status: str = "STOPPED",
                    timeout: float = 300, interval: float = 6.0,
                    progress: bool = False) -> dict:
    """Poll until the task reaches ``status`` (or later); its description.

    Raises ``TimeoutError`` after ``timeout`` seconds. With ``progress`` a tqdm
    bar follows the task through the lifecycle.
    """
    target = LIFECYCLE.index(status)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=target, desc="task", unit="state", bar_format=(
            "{desc}: {bar} {n_fmt}/{total_fmt} states [{elapsed}]"))
    deadline = time.monotonic() + timeout
    try:
        while True:
            task = describe_task(ecs, cluster, task_arn)
            current = task.get("lastStatus", "PROVISIONING")
            reached = LIFECYCLE.index(current) if current in LIFECYCLE else 0
            if bar is not None:
                bar.set_description(current)
                bar.update(min(reached, target) - bar.n)
            if reached >= target:
                return task
            if time.monotonic() + interval > deadline:
                raise TimeoutError(f"task {task_arn.rsplit('/', 1)[-1]} is "
                                   f"{current} after {timeout:.0f}s, not {status}")
            time.sleep(interval)
    finally:
        if bar is not None:
            bar.close()


def summarize(task: dict) -> dict:
    """The fields a learner reads first: state, stop code, reason, exit codes."""
    containers = task.get("containers", [])
    return {
        "task": task["taskArn"].rsplit("/", 1)[-1],
        "lastStatus": task.get("lastStatus"),
        "desiredStatus": task.get("desiredStatus"),
        "stopCode": task.get("stopCode"),
        "stoppedReason": task.get("stoppedReason"),
        "exitCode": containers[0].get("exitCode") if containers else None,
        "startedAt": task.get("startedAt"),
        "stoppedAt": task.get("stoppedAt"),
        "tags": as_dict(task.get("tags")),
    }
