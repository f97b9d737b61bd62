"""ECS services: the scheduler that keeps a chosen number of tasks running."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request

import pandas as pd

from .account import mask
from .aws import ecs_tags

log = logging.getLogger(__name__)


def find_service(ecs, cluster: str, name: str) -> dict | None:
    """The service unless it is missing or INACTIVE (deleted)."""
    found = ecs.describe_services(cluster=cluster, services=[name],
                                  include=["TAGS"])["services"]
    for service in found:
        if service["status"] != "INACTIVE":
            return service
    return None


def ensure_service(ecs, cluster: str, name: str, task_definition: str,
                   desired_count: int, subnets: list[str], security_group: str,
                   target_group_arn: str | None, container: str, port: int,
                   tags: dict) -> dict:
    """The service, created if missing.

    No ``role`` is passed: an awsvpc service uses the service-linked role
    AWSServiceRoleForECS, and AWS refuses a role for it.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
    """
    existing = find_service(ecs, cluster, name)
    if existing:
        return existing

    params = dict(
        cluster=cluster, serviceName=name, taskDefinition=task_definition,
        desiredCount=desired_count, launchType="FARGATE", platformVersion="LATEST",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": [security_group],
            # A public IP lets tasks in a public subnet pull images; with no
            # NAT gateway, a task without one cannot reach the registry.
            "assignPublicIp": "ENABLED"}},
        tags=ecs_tags(tags), propagateTags="SERVICE",
    )
    if target_group_arn:
        params["loadBalancers"] = [{"targetGroupArn": target_group_arn,
                                    "containerName": container,
                                    "containerPort": port}]
        params["healthCheckGracePeriodSeconds"] = 60
    service = ecs.create_service(**params)["service"]
    log.info("created service %s (desired %d)", name, desired_count)
    return service


def scale(ecs, cluster: str, name: str, desired_count: int) -> dict:
    """Set the desired count; the scheduler starts or stops tasks to match."""
    if not isinstance(desired_count, int) or desired_count < 0:
        raise ValueError(f"desired count must be an integer >= 0, not "
                         f"{desired_count!r}")
    service = ecs.update_service(cluster=cluster, service=name,
                                 desiredCount=desired_count)["service"]
    log.info("scaled service %s to %d", name, desired_count)
    return service


def service_tasks(ecs, cluster: str, name: str,
                  desired_status: str = "RUNNING") -> list[dict]:
    """The service's tasks with the given desired status, described."""
    arns = ecs.list_tasks(cluster=cluster, serviceName=name,
                          desiredStatus=desired_status)["taskArns"]
    tasks = []
    for start in range(0, len(arns), 100):
        tasks += ecs.describe_tasks(cluster=cluster,
                                    tasks=arns[start:start + 100])["tasks"]
    return tasks


def task_table(tasks: list[dict]) -> pd.DataFrame:
    rows = []
    for task in tasks:
        ip = ""
        for attachment in task.get("attachments", []):
            for detail in attachment.get("details", []):
                if detail["name"] == "privateIPv4Address":
                    ip = detail["value"]
        rows.append({"task": task["taskArn"].rsplit("/", 1)[-1][:12],
                     "lastStatus": task.get("lastStatus"),
                     "desiredStatus": task.get("desiredStatus"),
                     "privateIp": ip, "startedBy": task.get("startedBy", ""),
                     "stopCode": task.get("stopCode", "")})
    return pd.DataFrame(rows, columns=["task", "lastStatus", "desiredStatus",
                                       "privateIp", "startedBy", "stopCode"])


def is_steady(service: dict) -> bool:
    """True when the service runs exactly its desired count, one deployment."""
    return (service["runningCount"] == service["desiredCount"]
            and service.get("pendingCount", 0) == 0
            and len(service.get("deployments", [])) == 1)


def wait_until_stable(ecs, cluster: str, name: str, timeout: float,
                      interval: float, on_poll=None) -> dict:
    """Poll until the service is steady; ``on_poll(service)`` sees each poll.

    Raises ``TimeoutError`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        service = find_service(ecs, cluster, name)
        if service is None:
            raise LookupError(f"service {name} does not exist in {cluster}")
        if on_poll is not None:
            on_poll(service)
        if is_steady(service):
            return service
        if time.monotonic() + interval > deadline:
            raise TimeoutError(
                f"service {name} is not steady after {timeout:.0f}s: "
                f"{service['runningCount']}/{service['desiredCount']} running")
        time.sleep(interval)


def events(service: dict, limit: int = 10) -> pd.DataFrame:
    """The newest ``limit`` service events; account ids in target group ARNs
    are masked, as in every table the course shows."""
    rows = [{"time": e["createdAt"], "message": mask(e["message"])}
            for e in service.get("events", [])[:limit]]
    return pd.DataFrame(rows, columns=["time", "message"])


# What the notebook says on the emulator instead of making a request.
NO_CONTAINER_ANSWERS = (
    "no request made: on the emulator no container runs and the load "
    "balancer's DNS name does not resolve, so nothing answers HTTP (the tasks "
    "and the targets' health are simulated); on AWS this returns httpd's "
    "default page, 'It works!'")

# While a new load balancer's name spreads through DNS and its targets pass their
# first health checks, a request cannot connect, or the load balancer answers 503
# (no healthy target) or 502/504 (a target that is still starting): each is worth
# another try.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
_RETRY_STATUSES = frozenset({502, 503, 504})
_MAX_BODY = 64 * 1024  # bytes read of an answer; the first lines are all we show


def load_balancer_url(elbv2, name: str) -> str:
    """``http://<dns name>/`` of the load balancer ``name``, which must exist."""
    try:
        balancer = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except elbv2.exceptions.LoadBalancerNotFoundException:
        raise LookupError(f"load balancer {name} does not exist; run "
                          "lab.create_load_balancer() first") from None
    return f"http://{balancer['DNSName']}/"


def http_get(url: str, timeout: float = 5.0, attempts: int = 12,
             interval: float = 10.0, lines: int = 5) -> dict:
    """GET ``url`` as a browser would; its status and the first ``lines`` lines.

    Each try waits at most ``timeout`` seconds; a failed connection or a 502, 503
    or 504 is tried again after ``interval`` seconds, ``attempts`` times in all,
    so the whole call is bounded. Returns ``url, status, body, attempts``; the
    last answer is returned even if it is a 5xx. Raises ``ConnectionError`` when
    no try got an HTTP answer at all.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts!r}")
    for attempt in range(1, attempts + 1):
        status, raw, problem = _get_once(url, timeout)
        if status is not None and (status not in _RETRY_STATUSES
                                   or attempt == attempts):
            text = raw.decode("utf-8", errors="replace")
            log.info("GET %s: HTTP %d after %d attempt(s)", url, status, attempt)
            return {"url": url, "status": status, "attempts": attempt,
                    "body": "\n".join(text.splitlines()[:lines])}
        if attempt < attempts:
            log.info("GET %s: %s; trying again in %.0fs (attempt %d of %d)", url,
                     problem or f"HTTP {status}", interval, attempt, attempts)
            time.sleep(interval)
    raise ConnectionError(f"GET {url}: no HTTP answer in {attempts} attempt(s) "
                          f"({problem}); on AWS a new load balancer's DNS name "
                          "can take a few minutes to resolve")


def _get_once(url: str, timeout: float) -> tuple[int | None, bytes, str]:
    """One GET: status and body, or ``None`` and why nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(_MAX_BODY), ""
    except urllib.error.HTTPError as error:  # an answer too, with a 4xx or 5xx
        with error:
            return error.code, error.read(_MAX_BODY), ""
    except (urllib.error.URLError, OSError) as error:  # DNS, refused, timed out
        return None, b"", str(getattr(error, "reason", error))
