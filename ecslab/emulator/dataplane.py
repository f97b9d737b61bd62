"""The simulated data plane: tasks that live, services that schedule, logs, targets.

moto records ECS calls but runs nothing. This module makes the emulator behave
like Fargate over time, in the emulator process, so every client sees it:

- a task walks PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING,
  STOPPING, DEPROVISIONING, STOPPED, with the timestamps, stop code and stopped
  reason AWS fills in (the task lifecycle page, ``DOC_TASK_LIFECYCLE``);
  what its containers do comes from ``images`` (hello-world exits 0, httpd
  serves until stopped);
- its network interface gets an address inside its subnet and is deleted when
  the task stops;
- containers with the ``awslogs`` driver write to
  ``<awslogs-stream-prefix>/<container-name>/<task-id>``, saying that they are
  simulated; a missing log group fails the task as on AWS;
- a scheduler per service keeps the desired count, replaces stopped tasks,
  registers task IPs in target groups, writes AWS's service events and reports
  a steady state, so boto3's waiters work; a new task definition or a forced
  deployment rolls within the service's ``deploymentConfiguration`` bounds;
- ListTasks and ListServices list only the named cluster's tasks and services
  (moto matches cluster names by substring), and ListServices only ACTIVE ones;
  ListTaskDefinitions honours ``sort`` (moto ignores it).

``speed`` multiplies every simulated duration: 1.0 is realistic, 0.02 is the
test speed, 0 is instant. ``DataPlane.wrap`` is a WSGI middleware around moto's
app that adopts new tasks and services and corrects moto's answers;
``DataPlane.start`` runs the reconciler thread that moves everything on.
"""

from __future__ import annotations

import io
import json
import logging
import random
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs

from . import images
from . import moto_adapter as moto

log = logging.getLogger(__name__)

# The AWS pages this module follows, built from their common prefix so that
# every line fits in 88 columns.
ECS_GUIDE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
DOC_TASK_LIFECYCLE = ECS_GUIDE + "task-lifecycle-explanation.html"
DOC_STOP_CODES = ECS_GUIDE + "stopped-task-error-codes.html"
DOC_CANNOT_PULL = ECS_GUIDE + "task_cannot_pull_image.html"
DOC_SERVICE_EVENTS = ECS_GUIDE + "service-event-messages.html"
DOC_TARGET_HEALTH = ("https://docs.aws.amazon.com/elasticloadbalancing/latest/"
                     "APIReference/API_TargetHealth.html")
DOC_LIST_TASK_DEFINITIONS = ("https://docs.aws.amazon.com/AmazonECS/latest/"
                             "APIReference/API_ListTaskDefinitions.html")

ECS_TARGET = "AmazonEC2ContainerServiceV20141113."
ELB_NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

# Realistic seconds spent in each phase on Fargate; multiplied by ``speed``.
DURATIONS = {
    "PROVISIONING": 4.0,   # the ENI is created and attached
    "PULL_WAIT": 1.0,      # PENDING before the image pull starts
    "PULL": 8.0,           # pulling the image
    "PENDING_TAIL": 1.0,   # PENDING after the pull
    "ACTIVATING": 2.0,     # containers start; load balancer registration
    "DEACTIVATING": 1.0,   # at least this long, more while targets drain
    "STOPPING": 2.0,       # SIGTERM and the containers exit
    "DEPROVISIONING": 5.0,  # the ENI is detached and deleted
    "RETRY_BASE": 10.0,    # a service waits this long after a failed task...
    "RETRY_CAP": 900.0,    # ...doubling each time, up to this
}

LIVE = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")
STARTING = ("PROVISIONING", "PENDING", "ACTIVATING")

# A rolling update's bounds when CreateService names none (API_DeploymentConfiguration).
DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}

SIMULATED_BANNER = ("[ecslab emulator] simulated container: no container ran on "
                    "this machine")

# AWS's wording. Stop codes and reasons: API_Task and DOC_STOP_CODES,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html
REASON_ESSENTIAL_EXITED = "Essential container in task exited"
REASON_USER = "Task stopped by user"
REASON_SCALING = "Scaling activity initiated by (deployment {deployment})"
REASON_NO_LOG_GROUP = (
    "ResourceInitializationError: failed to validate logger args: create stream "
    "has been retried 1 times: failed to create Cloudwatch log stream: "
    "ResourceNotFoundException: The specified log group does not exist. : "
    "exit status 1")
# A task with no route to the registry (no public IP behind an internet gateway,
# no NAT gateway) times out pulling its image (DOC_CANNOT_PULL).
REASON_NO_PULL = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
    "failed to resolve ref {image}: failed to do request: Head "
    "\"https://{registry}/v2/\": dial tcp: i/o timeout "
    "(simulated: the task's subnet has no route to the internet for it)")

# Service events, as the service scheduler words them (DOC_SERVICE_EVENTS).
EVENT_STARTED = "(service {service}) has started {n} tasks: {tasks}."
EVENT_STOPPED = "(service {service}) has stopped {n} running tasks: {tasks}."
EVENT_STEADY = "(service {service}) has reached a steady state."
EVENT_REGISTERED = "(service {service}) registered {n} targets in (target-group {arn})"
EVENT_DRAINING = "(service {service}) has begun draining connections on {n} tasks."
EVENT_DEREGISTERED = ("(service {service}) deregistered {n} targets in "
                      "(target-group {arn})")
EVENT_COMPLETED = "(service {service}) (deployment {deployment}) deployment completed."
EVENT_UNPLACED = "(service {service}) was unable to place a task. Reason: {reason}."
MAX_EVENTS = 100


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _arn_parts(arn: str) -> tuple[str, str]:
    """(account, region) of an ARN."""
    parts = arn.split(":")
    return parts[4], parts[3]


@dataclass
class SimContainer:
    name: str
    behaviour: images.ImageBehaviour
    essential: bool
    log: dict | None           # awslogs options, when the driver is awslogs
    exit_at: float | None = None
    exited: bool = False


@dataclass
class SimTask:
    """The data plane's view of one task; moto's Task holds what clients see."""

    arn: str
    account: str
    region: str
    cluster: str
    status: str
    next_at: float
    containers: list[SimContainer]
    service: "SimService | None" = None
    deployment: str | None = None
    ip: str | None = None
    subnet: str | None = None
    stop_code: str | None = None
    stop_reason: str | None = None
    failed: bool = False
    drain_until: float = 0.0
    targets: list[tuple] = field(default_factory=list)
    version: int = 1

    @property
    def id(self) -> str:
        return self.arn.split("/")[-1]

    @property
    def wants_stop(self) -> bool:
        return self.stop_code is not None


@dataclass
class SimTarget:
    state: str                 # initial, healthy, draining
    since: float
    healthy_at: float
    drain_until: float = 0.0


@dataclass
class SimService:
    key: tuple                 # (account, region, cluster, name)
    arn: str
    deployments: list[dict]
    configuration: dict        # deploymentConfiguration, defaults filled in
    status: str = "ACTIVE"
    steady: bool = False
    failures: int = 0
    next_start_at: float = 0.0

    @property
    def name(self) -> str:
        return self.key[3]


class DataPlane:
    """Runs tasks and services over time inside the emulator process.

    ``wrap(app)`` returns the WSGI middleware; ``start()``/``stop()`` run and end
    the reconciler thread. Thread-safe: one lock guards every model change.
    """

    def __init__(self, speed: float):
        self.speed = float(speed)
        self._lock = threading.RLock()
        self._tasks: dict[str, SimTask] = {}
        self._services: dict[tuple, SimService] = {}
        self._targets: dict[tuple, SimTarget] = {}
        self._rng = random.Random()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle of the reconciler ---------------------------------------------

    def wrap(self, app):
        """moto's WSGI ``app`` behind the data plane's middleware."""
        return _Middleware(app, self)

    def start(self) -> None:
        """Start the reconciler thread (idempotent)."""
        if self._thread is not None:
            return
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="ecslab-dataplane",
                                        daemon=True)
        self._thread.start()
        log.info("data plane started (speed %s)", self.speed)

    def stop(self) -> None:
        """Stop the reconciler thread and wait for it."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        # Tick often enough that a phase of the shortest scaled duration is seen.
        period = min(0.5, max(0.02, self.speed * 0.5))
        while not self._halt.wait(period):
            try:
                self.advance()
            except Exception:
                log.exception("data plane tick failed")

    def scaled(self, seconds: float) -> float:
        return seconds * self.speed

    def advance(self, now: float | None = None) -> None:
        """Move every task and service on to ``now`` (default: the clock)."""
        with self._lock:
            now = time.time() if now is None else now
            for task in list(self._tasks.values()):
                if task.status == "STOPPED":
                    continue
                try:
                    self._advance_task(task, now)
                except Exception:
                    # Its model vanished (say, the cluster was deleted): let it go
                    # rather than fail every tick.
                    log.exception("task %s could not advance; dropped", task.id)
                    task.status = "STOPPED"
            self._advance_targets(now)
            for service in list(self._services.values()):
                self._advance_service(service, now)
            self._count_clusters()

    # --- tasks ---------------------------------------------------------------

    def adopt_task(self, task_arn: str, service: SimService | None = None,
                   deployment: str | None = None) -> SimTask | None:
        """Take a task moto just created under the data plane's control."""
        account, region = _arn_parts(task_arn)
        model = moto.find_task(account, region, task_arn)
        if model is None or task_arn in self._tasks:
            return self._tasks.get(task_arn)
        now = time.time()

        definition = moto.task_definition_of(model)
        containers = []
        for spec in definition.container_definitions:
            config = spec.get("logConfiguration") or {}
            options = config.get("options") if config.get("logDriver") == "awslogs" \
                else None
            containers.append(SimContainer(
                name=spec.get("name"), essential=spec.get("essential", True),
                behaviour=images.behaviour_for(spec.get("image")), log=options))

        moto.hold_task_status(model, "PROVISIONING")
        moto.rebuild_containers(model)
        for container, spec in zip(model.containers, definition.container_definitions):
            moto.set_container(container, last_status="PENDING", exitCode=None,
                               health_status="UNKNOWN",
                               runtime_id=f"{model.id}-simulated")
        fargate = (model.launch_type == "FARGATE"
                   or model.capacity_provider_name in ("FARGATE", "FARGATE_SPOT"))
        moto.set_task(
            model, desired_status="RUNNING", created_at=_utc(now),
            health_status="UNKNOWN", version=1, stopped_reason=None,
            cpu=definition.cpu, memory=definition.memory,
            platform_version=(model.platform_version or "1.4.0") if fargate
            else None,
            platform_family="Linux" if fargate else None,
            ephemeral_storage={"sizeInGiB": 20} if fargate else None)

        sim = SimTask(arn=task_arn, account=account, region=region,
                      cluster=model.cluster_name, status="PROVISIONING",
                      next_at=now + self.scaled(DURATIONS["PROVISIONING"]),
                      containers=containers,
                      service=service, deployment=deployment)
        attachment = moto.task_eni_attachment(model)
        if attachment is not None:
            subnet = moto.attachment_detail(attachment, "subnetId")
            sim.subnet = subnet
            moto.set_task(model, availability_zone=moto.subnet_of(
                account, region, subnet)["availability_zone"])
            moto.set_attachment_status(model, "PRECREATED")
            sim.ip = moto.place_task_eni(account, region, model, self._rng)
        self._tasks[task_arn] = sim
        log.info("task %s: PROVISIONING", sim.id)
        return sim

    def request_stop(self, sim: SimTask, code: str, reason: str,
                     now: float | None = None) -> None:
        """Ask a task to stop (StopTask, the scheduler, a failure)."""
        if sim.wants_stop or sim.status == "STOPPED":
            return
        now = time.time() if now is None else now
        sim.stop_code, sim.stop_reason = code, reason
        model = self._model(sim)
        moto.set_task(model, desired_status="STOPPED", stop_code=code,
                      stopped_reason=reason, stopping_at=_utc(now))

        # A task that never ran skips straight to releasing its interface.
        if sim.status in ("PROVISIONING", "PENDING"):
            self._enter(sim, "DEPROVISIONING", now)
        elif sim.status in ("ACTIVATING", "RUNNING"):
            self._enter(sim, "DEACTIVATING", now)

    def _model(self, sim: SimTask):
        return moto.find_task(sim.account, sim.region, sim.arn)

    def _enter(self, sim: SimTask, status: str, at: float) -> None:
        """Put a task in ``status`` at time ``at`` and schedule what comes next."""
        model = self._model(sim)
        if model is None:
            sim.status = "STOPPED"
            return
        sim.status = status
        sim.version += 1
        moto.set_task(model, last_status=status, version=sim.version)
        log.debug("task %s: %s", sim.id, status)
        getattr(self, f"_on_{status.lower()}")(sim, model, at)

    def _advance_task(self, sim: SimTask, now: float) -> None:
        # Step through every transition that fell due since the last tick, each
        # at its own scheduled time, so the timestamps read as on AWS.
        while sim.status != "STOPPED" and sim.next_at <= now:
            at = sim.next_at
            following = {
                "PROVISIONING": "PENDING", "PENDING": "ACTIVATING",
                "ACTIVATING": "RUNNING", "DEACTIVATING": "STOPPING",
                "STOPPING": "DEPROVISIONING", "DEPROVISIONING": "STOPPED",
            }
            if sim.status == "RUNNING":
                self._container_exits(sim, at)
            elif sim.status == "PENDING" and not (self._image_reachable(sim, at)
                                                  and self._logs_ready(sim, at)):
                continue
            else:
                self._enter(sim, following[sim.status], at)

    def _on_pending(self, sim, model, at):
        pull_start = at + self.scaled(DURATIONS["PULL_WAIT"])
        pull_stop = pull_start + self.scaled(DURATIONS["PULL"])
        moto.set_attachment_status(model, "ATTACHED")
        moto.set_task(model, connectivity="CONNECTED", connectivity_at=_utc(at),
                      pull_started_at=_utc(pull_start),
                      pull_stopped_at=_utc(pull_stop))
        for container in model.containers:
            moto.set_container(container,
                               network_interfaces=self._container_enis(model))
        sim.next_at = pull_stop + self.scaled(DURATIONS["PENDING_TAIL"])

    def _image_reachable(self, sim: SimTask, at: float) -> bool:
        """Fail the task as AWS does when its image cannot be pulled: a public
        subnet task needs a public IP, or a NAT gateway, to reach the registry."""
        model = self._model(sim)
        if moto.internet_path(sim.account, sim.region, model) is not None:
            return True
        image = moto.task_definition_of(model).container_definitions[0].get(
            "image", "")
        registry = image.split("/", 1)[0] if "/" in image else "registry-1.docker.io"
        reason = REASON_NO_PULL.format(image=image, registry=registry)
        for container in model.containers:
            moto.set_container(container, reason=reason)
        self._fail_to_start(sim, at, reason)
        return False

    def _logs_ready(self, sim: SimTask, at: float) -> bool:
        """Check every awslogs group at the end of PENDING; fail the task if missing.

        On Fargate the log driver is set up before any container starts, and a
        missing group stops the task with ResourceInitializationError.
        """
        for container in sim.containers:
            if not container.log:
                continue
            group = container.log.get("awslogs-group", "")
            region = container.log.get("awslogs-region", sim.region)
            if moto.log_group_exists(sim.account, region, group):
                continue
            if str(container.log.get("awslogs-create-group", "")).lower() == "true":
                moto.create_log_group(sim.account, region, group)
                continue
            self._fail_to_start(sim, at, REASON_NO_LOG_GROUP)
            return False
        return True

    def _fail_to_start(self, sim: SimTask, at: float, reason: str) -> None:
        sim.failed = True
        model = self._model(sim)
        for container in model.containers:
            moto.set_container(container, last_status="STOPPED")
        moto.set_task(model, execution_stopped_at=_utc(at))
        self.request_stop(sim, "TaskFailedToStart", reason, now=at)
        log.info("task %s failed to start: %s", sim.id, reason)

    def _on_activating(self, sim, model, at):
        sim.next_at = at + self.scaled(DURATIONS["ACTIVATING"])

        # On AWS the load balancer registration happens while ACTIVATING.
        if sim.service is not None and sim.ip:
            self._register_targets(sim.service, sim, at)

    def _on_running(self, sim, model, at):
        moto.set_task(model, started_at=_utc(at))
        if sim.service is not None:
            sim.service.failures = 0
        for container, sim_container in zip(model.containers, sim.containers):
            moto.set_container(container, last_status="RUNNING")
            if sim_container.behaviour.exits:
                sim_container.exit_at = at + self.scaled(
                    sim_container.behaviour.run_seconds)
            self._write_logs(sim, sim_container, at, started=True)
        exits = [c.exit_at for c in sim.containers if c.exit_at is not None
                 and not c.exited]
        sim.next_at = min(exits) if exits else float("inf")

    def _container_enis(self, model) -> list[dict]:
        attachment = moto.task_eni_attachment(model)
        if attachment is None:
            return []
        return [{"attachmentId": attachment["id"], "privateIpv4Address":
                 moto.attachment_detail(attachment, "privateIPv4Address")}]

    def _container_exits(self, sim: SimTask, at: float) -> None:
        """Containers whose run ends at ``at`` exit; an essential one stops the task."""
        model = self._model(sim)
        essential_exit = False
        for container, sim_container in zip(model.containers, sim.containers):
            if sim_container.exit_at is None or sim_container.exited \
                    or sim_container.exit_at > at:
                continue
            sim_container.exited = True
            moto.set_container(container, last_status="STOPPED",
                               exitCode=sim_container.behaviour.exit_code)
            self._write_logs(sim, sim_container, at, started=False)
            essential_exit = essential_exit or sim_container.essential

        if essential_exit:
            moto.set_task(model, execution_stopped_at=_utc(at))
            self.request_stop(sim, "EssentialContainerExited",
                              REASON_ESSENTIAL_EXITED, now=at)
            return
        pending = [c.exit_at for c in sim.containers
                   if c.exit_at is not None and not c.exited]
        sim.next_at = min(pending) if pending else float("inf")

    def _on_deactivating(self, sim, model, at):
        if sim.service is not None and sim.targets:
            self._drain_targets(sim.service, sim, at)
        sim.next_at = max(at + self.scaled(DURATIONS["DEACTIVATING"]),
                          sim.drain_until)

    def _on_stopping(self, sim, model, at):
        # Containers still running get SIGTERM and exit now.
        stop_at = at + self.scaled(DURATIONS["STOPPING"])
        for container, sim_container in zip(model.containers, sim.containers):
            if container.last_status == "RUNNING":
                sim_container.exited = True
                moto.set_container(container, last_status="STOPPED",
                                   exitCode=sim_container.behaviour.exit_code)
                self._write_logs(sim, sim_container, at, started=False)
        if getattr(model, "execution_stopped_at", None) is None:
            moto.set_task(model, execution_stopped_at=_utc(stop_at))
        sim.next_at = stop_at

    def _on_deprovisioning(self, sim, model, at):
        for container in model.containers:
            if container.last_status != "STOPPED":
                moto.set_container(container, last_status="STOPPED")
        if getattr(model, "execution_stopped_at", None) is None:
            moto.set_task(model, execution_stopped_at=_utc(at))
        moto.set_attachment_status(model, "DELETED")
        sim.next_at = at + self.scaled(DURATIONS["DEPROVISIONING"])

    def _on_stopped(self, sim, model, at):
        moto.set_task(model, stopped_at=_utc(at), connectivity=None)
        moto.delete_task_eni(sim.account, sim.region, model)
        sim.next_at = float("inf")
        log.info("task %s: STOPPED (%s)", sim.id, sim.stop_code)

        service = sim.service
        if service is not None and sim.failed:
            service.failures += 1
            delay = min(DURATIONS["RETRY_BASE"] * 2 ** (service.failures - 1),
                        DURATIONS["RETRY_CAP"])
            # Even at instant speed a failing service must not spin.
            service.next_start_at = at + max(self.scaled(delay), 0.2)
            for deployment in service.deployments:
                if deployment["id"] == sim.deployment:
                    deployment["failedTasks"] = deployment.get("failedTasks", 0) + 1

    def _write_logs(self, sim: SimTask, container: SimContainer, at: float,
                    started: bool) -> None:
        """Write a container's simulated output to CloudWatch Logs (awslogs)."""
        if not container.log:
            return
        if started:
            lines = [SIMULATED_BANNER, *container.behaviour.output]
        else:
            lines = [f"[ecslab emulator] simulated container exited with code "
                     f"{container.behaviour.exit_code}"]
        prefix = container.log.get("awslogs-stream-prefix")
        stream = f"{prefix}/{container.name}/{sim.id}" if prefix else sim.id
        region = container.log.get("awslogs-region", sim.region)
        first_ms = int(at * 1000)
        events = [(first_ms + i, line or " ") for i, line in enumerate(lines)]
        try:
            moto.write_log_events(sim.account, region,
                                  container.log["awslogs-group"], stream, events)
        except Exception:
            # The group was deleted while the task ran: AWS drops the lines too.
            log.warning("could not write logs of task %s to %s", sim.id, stream)

    # --- load balancer targets ---------------------------------------------------

    def _register_targets(self, service: SimService, sim: SimTask, at: float):
        model = moto.find_service(*service.key)
        for balancer in (model.load_balancers if model else []):
            arn = balancer.get("targetGroupArn")
            group = moto.target_group_of(sim.account, sim.region, arn) if arn else None
            if group is None:
                continue
            port = int(balancer.get("containerPort") or 80)
            timing = moto.target_group_timing(group)
            moto.register_target(sim.account, sim.region, arn, sim.ip, port)
            key = (sim.account, sim.region, arn, sim.ip, port)
            self._targets[key] = SimTarget(
                state="initial", since=at,
                healthy_at=at + self.scaled(timing["healthy_after"]))
            sim.targets.append(key)
            self._event(service, at, EVENT_REGISTERED.format(
                service=service.name, n=1, arn=arn))

    def _drain_targets(self, service: SimService, sim: SimTask, at: float):
        self._event(service, at, EVENT_DRAINING.format(service=service.name, n=1))
        for key in sim.targets:
            target = self._targets.get(key)
            group = moto.target_group_of(sim.account, sim.region, key[2])
            if target is None or group is None:
                continue
            drain = self.scaled(moto.target_group_timing(group)["drain"])
            target.state, target.since = "draining", at
            target.drain_until = at + drain
            sim.drain_until = max(sim.drain_until, target.drain_until)
            self._event(service, at, EVENT_DEREGISTERED.format(
                service=service.name, n=1, arn=key[2]))

    def _advance_targets(self, now: float) -> None:
        for key, target in list(self._targets.items()):
            if target.state == "initial" and target.healthy_at <= now:
                target.state, target.since = "healthy", target.healthy_at
            elif target.state == "draining" and target.drain_until <= now:
                account, region, arn, ip, port = key
                moto.deregister_target(account, region, arn, ip, port)
                del self._targets[key]

    def target_health(self, arn: str, target_id: str, port: str) -> SimTarget | None:
        for key, target in self._targets.items():
            if key[2] == arn and key[3] == target_id and str(key[4]) == str(port):
                return target
        return None

    # --- services ----------------------------------------------------------------

    def adopt_service(self, service_arn: str, cluster: str, name: str,
                      configuration: dict | None = None) -> None:
        """Take a service moto just created under a scheduler.

        ``configuration`` is CreateService's ``deploymentConfiguration``; moto
        keeps none, and AWS answers the defaults for what is left out.
        """
        account, region = _arn_parts(service_arn)
        model = moto.find_service(account, region, cluster, name)
        if model is None:
            return
        key = (account, region, cluster, name)
        now = time.time()
        deployments = [dict(d) for d in model.deployments[:1]]
        for deployment in deployments:
            deployment.update(status="PRIMARY", runningCount=0, pendingCount=0,
                              failedTasks=0, rolloutState="IN_PROGRESS",
                              rolloutStateReason="ECS deployment "
                              f"{deployment['id']} in progress.",
                              createdAt=_utc(now), updatedAt=_utc(now))
        self._services[key] = SimService(
            key=key, arn=service_arn, deployments=deployments,
            configuration=_deployment_configuration(DEFAULT_DEPLOYMENT_CONFIGURATION,
                                                    configuration))
        # moto gets copies: its UpdateService rewrites deployment dicts in place.
        moto.set_service(model, running_count=0, pending_count=0, events=[],
                         deployments=[dict(d) for d in deployments],
                         deployment_configuration=self._services[key].configuration)

    def service_updated(self, service_arn: str, cluster: str, name: str,
                        new_deployment: bool,
                        configuration: dict | None = None) -> None:
        """Fix moto's answer to UpdateService; start a deployment when asked.

        A new task definition or ``forceNewDeployment`` starts a new PRIMARY
        deployment; the old one turns ACTIVE until its tasks are replaced. A
        ``deploymentConfiguration`` changes only the members it names (moto
        would replace the whole of it).
        """
        service = self._services.get((*_arn_parts(service_arn), cluster, name))
        model = moto.find_service(*service.key) if service else None
        if model is None:
            return
        now = time.time()
        service.configuration = _deployment_configuration(service.configuration,
                                                          configuration)
        moto.set_service(model, deployment_configuration=service.configuration,
                         task_definition=moto.resolve_task_definition(
                             service.key[0], service.key[1], model.task_definition))
        primary = service.deployments[0] if service.deployments else None
        changed = primary is not None and (
            new_deployment or model.task_definition != primary["taskDefinition"])
        if changed:
            for deployment in service.deployments:
                deployment["status"] = "ACTIVE"
            fresh = dict(primary, id=f"ecs-svc/{self._rng.randrange(10**18, 10**19)}",
                         status="PRIMARY", taskDefinition=model.task_definition,
                         runningCount=0, pendingCount=0, failedTasks=0,
                         createdAt=_utc(now), updatedAt=_utc(now))
            service.deployments.insert(0, fresh)
            service.failures, service.next_start_at = 0, 0.0
        if service.deployments:
            service.deployments[0]["desiredCount"] = model.desired_count
        service.steady = False
        self._sync_service(service, model, now)

    def service_deleted(self, service_arn: str, cluster: str, name: str) -> None:
        """A deleted service drains: DRAINING until its tasks stopped, then INACTIVE."""
        service = self._services.get((*_arn_parts(service_arn), cluster, name))
        model = moto.find_service(*service.key) if service else None
        if model is None:
            return
        service.status = "DRAINING"
        moto.set_service(model, status="DRAINING", desired_count=0)
        self._advance_service(service, time.time())

    def _service_tasks(self, service: SimService) -> list[SimTask]:
        return [t for t in self._tasks.values() if t.service is service
                and t.status != "STOPPED"]

    def _advance_service(self, service: SimService, now: float) -> None:
        model = moto.find_service(*service.key)
        if model is None or service.status == "INACTIVE":
            return
        if model.status == "INACTIVE" and service.status != "DRAINING":
            service.status = "DRAINING"
        desired = 0 if service.status == "DRAINING" else model.desired_count
        primary = service.deployments[0]
        live = [t for t in self._service_tasks(service) if not t.wants_stop]
        mine = [t for t in live if t.deployment == primary["id"]]
        older = [t for t in live if t.deployment != primary["id"]]

        # A rolling update (API_DeploymentConfiguration) keeps at most
        # maximumPercent of the desired count RUNNING or PENDING (rounded down), and
        # at least minimumHealthyPercent RUNNING and healthy (rounded up).
        bounds = service.configuration
        room = desired - len(mine)
        if older:
            ceiling = desired * bounds["maximumPercent"] // 100
            room = min(room, ceiling - len(mine) - len(older))
        if room > 0 and now >= service.next_start_at:
            self._start_tasks(service, model, room, now)
        elif len(mine) > desired:
            # Scale in: stop tasks not yet running first, then the newest.
            order = sorted(mine, key=lambda t: (t.status == "RUNNING", -t.version))
            self._stop_tasks(service, order[:len(mine) - desired], primary, now)

        # Old tasks go as far as the floor allows: those not healthy first, as
        # stopping them costs no healthy capacity, then healthy ones above it.
        if older:
            floor = -(-desired * bounds["minimumHealthyPercent"] // 100)
            healthy = sum(self._healthy(t) for t in live)
            order = sorted(older, key=lambda t: (self._healthy(t), -t.version))
            spare = sum(not self._healthy(t) for t in older) + max(0, healthy - floor)
            if spare > 0:
                self._stop_tasks(service, order[:spare], primary, now)

        self._sync_service(service, model, now)

    def _healthy(self, task: SimTask) -> bool:
        # RUNNING, and healthy in each target group it is registered in.
        return (task.status == "RUNNING" and not task.wants_stop
                and all(self._targets[k].state == "healthy" for k in task.targets
                        if k in self._targets))

    def _start_tasks(self, service, model, count, now) -> None:
        primary = service.deployments[0]
        try:
            placed: dict[str, int] = {}
            for task in self._service_tasks(service):
                if task.subnet and not task.wants_stop:
                    placed[task.subnet] = placed.get(task.subnet, 0) + 1
            created = moto.run_service_tasks(
                service.key[0], service.key[1], model, count,
                started_by=primary["id"], task_definition=primary["taskDefinition"],
                placed=placed)
        except Exception as error:
            self._event(service, now, EVENT_UNPLACED.format(
                service=service.name, reason=str(error)))
            service.next_start_at = now + max(self.scaled(DURATIONS["RETRY_BASE"]),
                                              0.2)
            return
        started = [self.adopt_task(t.task_arn, service, primary["id"])
                   for t in created]
        ids = " ".join(f"(task {t.id})" for t in started if t)
        self._event(service, now, EVENT_STARTED.format(
            service=service.name, n=len(started), tasks=ids))

    def _stop_tasks(self, service, tasks, primary, now) -> None:
        reason = REASON_SCALING.format(deployment=primary["id"])
        for task in tasks:
            self.request_stop(task, "ServiceSchedulerInitiated", reason, now)
        ids = " ".join(f"(task {t.id})" for t in tasks)
        self._event(service, now, EVENT_STOPPED.format(
            service=service.name, n=len(tasks), tasks=ids))

    def _sync_service(self, service: SimService, model, now: float) -> None:
        """Write counts, deployments, status and the steady-state event to moto."""
        tasks = self._service_tasks(service)
        for deployment in service.deployments:
            own = [t for t in tasks if t.deployment == deployment["id"]]
            running = sum(t.status == "RUNNING" for t in own)
            pending = sum(t.status in STARTING for t in own)
            if (running, pending) != (deployment["runningCount"],
                                      deployment["pendingCount"]):
                deployment.update(runningCount=running, pendingCount=pending,
                                  updatedAt=_utc(now))

        # Old deployments leave the list once their tasks are gone.
        service.deployments[1:] = [
            d for d in service.deployments[1:]
            if any(t.deployment == d["id"] for t in tasks)]

        primary = service.deployments[0]
        desired = 0 if service.status == "DRAINING" else model.desired_count
        primary["desiredCount"] = desired
        healthy = all(self._targets[k].state == "healthy"
                      for t in tasks for k in t.targets
                      if k in self._targets and not t.wants_stop)
        steady = (primary["runningCount"] == desired and primary["pendingCount"] == 0
                  and len(service.deployments) == 1 and healthy
                  and all(t.status == "RUNNING" and not t.wants_stop for t in tasks))
        if steady and primary["rolloutState"] != "COMPLETED":
            primary.update(rolloutState="COMPLETED", rolloutStateReason=(
                f"ECS deployment {primary['id']} completed."))
            self._event(service, now, EVENT_COMPLETED.format(
                service=service.name, deployment=primary["id"]))
        if steady and not service.steady:
            self._event(service, now, EVENT_STEADY.format(service=service.name))
        service.steady = steady

        running = sum(t.status == "RUNNING" for t in tasks)
        pending = sum(t.status in STARTING for t in tasks)
        status = service.status
        if status == "DRAINING" and not tasks:
            status = service.status = "INACTIVE"
            log.info("service %s: INACTIVE", service.name)
        moto.set_service(model, running_count=running, pending_count=pending,
                         deployments=[dict(d) for d in service.deployments],
                         status=status)

    def _event(self, service: SimService, at: float, message: str) -> None:
        model = moto.find_service(*service.key)
        if model is None:
            return
        events = [{"id": str(uuid.uuid4()), "createdAt": _utc(at),
                   "message": message}, *model.events][:MAX_EVENTS]
        moto.set_service(model, events=events)
        log.info("%s", message)

    def _count_clusters(self) -> None:
        counts: dict[tuple, list[int]] = {}
        for task in self._tasks.values():
            entry = counts.setdefault((task.account, task.region, task.cluster),
                                      [0, 0, 0])
            entry[0] += task.status == "RUNNING"
            entry[1] += task.status in STARTING
        for service in self._services.values():
            if service.status == "ACTIVE":
                counts.setdefault(service.key[:3], [0, 0, 0])[2] += 1
        for (account, region, cluster), (running, pending, services) in counts.items():
            moto.set_cluster_counts(account, region, cluster, running, pending,
                                    services)

    # --- filters moto does not apply ---------------------------------------------

    def filter_task_arns(self, arns: list[str], params: dict) -> list[str]:
        """Apply ListTasks' ``serviceName`` and default ``desiredStatus`` filters.

        https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html:
        with no ``desiredStatus`` only tasks whose desired status is RUNNING are
        listed.
        """
        wanted = params.get("desiredStatus") or "RUNNING"
        service = params.get("serviceName")
        # moto matches the cluster by substring of the task's cluster ARN (a
        # cluster "lab" lists "mylab"'s tasks too) and, with no cluster named, lists
        # every cluster's; AWS lists the named cluster's, or "default"'s.
        cluster = (params.get("cluster") or "default").split("/")[-1]
        kept = []
        for arn in arns:
            sim = self._tasks.get(arn)
            desired = "STOPPED" if sim and (sim.wants_stop or sim.status == "STOPPED") \
                else "RUNNING"
            in_cluster = sim.cluster if sim else None
            if sim is None:
                model = moto.find_task(*_arn_parts(arn), arn)
                desired = getattr(model, "desired_status", "RUNNING")
                in_cluster = getattr(model, "cluster_arn", "").split("/")[-1]
            if desired != wanted or in_cluster != cluster:
                continue
            if service and (sim is None or sim.service is None
                            or sim.service.name != service.split("/")[-1]):
                continue
            kept.append(arn)
        return kept


class _Middleware:
    """WSGI layer between clients and moto: adopts, corrects, and controls."""

    def __init__(self, app, plane: DataPlane):
        self.app = app
        self.plane = plane

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(images.CONTROL_PATH):
            return self._images(environ, start_response)

        target = environ.get("HTTP_X_AMZ_TARGET", "")
        scope = environ.get("HTTP_AUTHORIZATION", "")
        if target.startswith(ECS_TARGET):
            return self._ecs(environ, start_response, target[len(ECS_TARGET):])
        if "/elasticloadbalancing/" in scope:
            return self._elb(environ, start_response)
        if target.startswith("Logs_") or "/ec2/" in scope:
            # Reads of logs and interfaces must not see a half-written change.
            with self.plane._lock:
                return self._buffered(self.app, environ, start_response)
        return self.app(environ, start_response)

    # --- plumbing ------------------------------------------------------------------

    @staticmethod
    def _read_body(environ) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    @staticmethod
    def _call(app, environ) -> tuple[str, list, bytes]:
        captured = {}

        def start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = app(environ, start)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return captured["status"], captured["headers"], body

    @staticmethod
    def _reply(start_response, status, headers, body: bytes):
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def _buffered(self, app, environ, start_response):
        return self._reply(start_response, *self._call(app, environ))

    def _ecs_call(self, environ, action: str, params: dict) -> dict | None:
        """Ask moto an ECS question with the caller's identity; its JSON answer."""
        data = json.dumps(params).encode()
        sub = dict(environ, **{"HTTP_X_AMZ_TARGET": ECS_TARGET + action,
                               "wsgi.input": io.BytesIO(data),
                               "CONTENT_LENGTH": str(len(data))})
        status, _, body = self._call(self.app, sub)
        return json.loads(body) if status.startswith("200") else None

    # --- ECS -----------------------------------------------------------------------

    def _ecs(self, environ, start_response, action):
        body = self._read_body(environ)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        plane = self.plane
        with plane._lock:
            plane.advance()
            if action == "StopTask":
                refused = self._refuse_unknown_task(environ, params)
                if refused:
                    return self._reply(start_response, *refused)

            status, headers, answer = self._call(self.app, environ)
            if not status.startswith("200"):
                return self._reply(start_response, status, headers, answer)
            try:
                answer = self._after(environ, action, params, answer)
            except Exception:
                log.exception("data plane could not handle %s; answering as moto did",
                              action)
            return self._reply(start_response, status, headers, answer)

    def _after(self, environ, action, params, answer: bytes) -> bytes:
        """Adopt what moto created and answer with the data plane's view."""
        plane = self.plane
        data = json.loads(answer)
        cluster = params.get("cluster", "default").split("/")[-1]

        if action in ("RunTask", "StartTask"):
            for task in data.get("tasks", []):
                plane.adopt_task(task["taskArn"])
            arns = [t["taskArn"] for t in data.get("tasks", [])]
            if arns:
                fresh = self._ecs_call(environ, "DescribeTasks", {
                    "cluster": cluster, "tasks": arns, "include": ["TAGS"]})
                data["tasks"] = fresh["tasks"] if fresh else data["tasks"]

        elif action == "StopTask":
            arn = data["task"]["taskArn"]
            sim = plane._tasks.get(arn)
            if sim is not None:
                # moto marks the task STOPPED at once; the data plane walks it
                # there. A task already stopping keeps its first reason.
                model = plane._model(sim)
                stopping = sim.wants_stop or sim.status == "STOPPED"
                moto.set_task(model, last_status=sim.status,
                              stopped_reason=sim.stop_reason,
                              desired_status="STOPPED" if stopping else "RUNNING")
                if not stopping:
                    plane.request_stop(sim, "UserInitiated",
                                       params.get("reason") or REASON_USER)
                fresh = self._ecs_call(environ, "DescribeTasks", {
                    "cluster": cluster, "tasks": [arn]})
                if fresh and fresh["tasks"]:
                    data["task"] = fresh["tasks"][0]

        elif action == "ListTasks":
            data["taskArns"] = plane.filter_task_arns(data.get("taskArns", []),
                                                      params)

        elif action == "ListTaskDefinitions":
            data["taskDefinitionArns"] = sorted_task_definition_arns(
                data.get("taskDefinitionArns", []), params.get("sort", "ASC"))

        elif action == "ListServices":
            # API_DeleteService: a DRAINING service is no longer visible in
            # ListServices (nor is an INACTIVE one); DescribeServices still shows it.
            account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or moto.default_account()
            data["serviceArns"] = moto.listed_service_arns(
                account, _region_of(environ), cluster, data.get("serviceArns", []))

        elif action in ("CreateService", "UpdateService", "DeleteService"):
            service = data["service"]
            name = service["serviceName"]
            cluster = service["clusterArn"].split("/")[-1]
            if action == "CreateService":
                plane.adopt_service(service["serviceArn"], cluster, name,
                                    params.get("deploymentConfiguration"))
            elif action == "UpdateService":
                plane.service_updated(service["serviceArn"], cluster, name,
                                      bool(params.get("forceNewDeployment")),
                                      params.get("deploymentConfiguration"))
            else:
                plane.service_deleted(service["serviceArn"], cluster, name)
            fresh = self._ecs_call(environ, "DescribeServices", {
                "cluster": cluster, "services": [name]})
            if fresh and fresh["services"]:
                data["service"] = fresh["services"][0]
        else:
            return answer
        return json.dumps(data).encode()

    def _refuse_unknown_task(self, environ, params):
        # moto answers HTTP 500 for an unknown task; AWS answers this.
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html
        account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or moto.default_account()
        region = _region_of(environ)
        try:
            task = moto.find_task_in_cluster(account, region,
                                             params.get("cluster", "default"),
                                             params.get("task", ""))
        except Exception:
            return None  # moto reports the missing cluster itself
        if task is not None:
            return None
        body = json.dumps({"__type": "InvalidParameterException",
                           "message": "The referenced task was not found."}).encode()
        return ("400 Bad Request",
                [("Content-Type", "application/x-amz-json-1.1")], body)

    # --- ELBv2 ---------------------------------------------------------------------

    def _elb(self, environ, start_response):
        body = self._read_body(environ)
        form = parse_qs(body.decode(errors="replace"))
        action = (form.get("Action") or [""])[0]
        with self.plane._lock:
            self.plane.advance()
            status, headers, answer = self._call(self.app, environ)
            if action == "DescribeTargetHealth" and status.startswith("200"):
                try:
                    answer = self._target_health(form["TargetGroupArn"][0], answer)
                except Exception:
                    log.exception("could not correct DescribeTargetHealth")
            return self._reply(start_response, status, headers, answer)

    def _target_health(self, arn: str, answer: bytes) -> bytes:
        """Report the data plane's target states (``DOC_TARGET_HEALTH``): initial,
        healthy, draining."""
        ET.register_namespace("", ELB_NS)
        root = ET.fromstring(answer)
        q = f"{{{ELB_NS}}}"
        reasons = {
            "initial": ("Elb.RegistrationInProgress",
                        "Target registration is in progress"),
            "draining": ("Target.DeregistrationInProgress",
                         "Target deregistration is in progress"),
        }
        for member in root.iter(f"{q}member"):
            target_id = member.findtext(f"{q}Target/{q}Id")
            port = member.findtext(f"{q}Target/{q}Port")
            sim = self.plane.target_health(arn, target_id, port)
            health = member.find(f"{q}TargetHealth")
            if sim is None or health is None:
                continue
            for child in list(health):
                health.remove(child)
            ET.SubElement(health, f"{q}State").text = sim.state
            if sim.state in reasons:
                reason, description = reasons[sim.state]
                ET.SubElement(health, f"{q}Reason").text = reason
                ET.SubElement(health, f"{q}Description").text = description
        return ET.tostring(root, encoding="utf-8", xml_declaration=False)

    # --- control path: image behaviours -----------------------------------------------

    def _images(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "GET":
            return self._json(start_response, "200 OK", images.registered())
        if method != "POST":
            return self._json(start_response, "405 Method Not Allowed",
                              {"error": "use GET to list or POST to register"})
        try:
            payload = json.loads(self._read_body(environ) or b"{}")
            behaviour = images.register_image(payload["pattern"],
                                              payload.get("behaviour") or {})
        except (ValueError, KeyError, TypeError) as error:
            return self._json(start_response, "400 Bad Request", {
                "error": f"expected {{'pattern': str, 'behaviour': {{...}}}}: "
                         f"{error}"})
        return self._json(start_response, "200 OK", {
            "pattern": payload["pattern"], "behaviour": behaviour.to_dict()})

    def _json(self, start_response, status, payload):
        body = json.dumps(payload).encode()
        return self._reply(start_response, status,
                           [("Content-Type", "application/json")], body)


def _deployment_configuration(base: dict, given: dict | None) -> dict:
    """``base`` with the members ``given`` names replaced, one level deep."""
    merged = {key: dict(value) if isinstance(value, dict) else value
              for key, value in base.items()}
    for key, value in (given or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def sorted_task_definition_arns(arns: list[str], order: str) -> list[str]:
    """ListTaskDefinitions' order (``DOC_LIST_TASK_DEFINITIONS``): by family,
    then by revision as a number, so ASC lists a family's newest revision last
    and DESC first; code that reads "the latest revision" depends on it."""

    def key(arn: str) -> tuple[str, int]:
        family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
        return family, int(revision) if revision.isdigit() else 0

    return sorted(arns, key=key, reverse=str(order).upper() == "DESC")


def _region_of(environ) -> str:
    # SigV4: Credential=<key>/<date>/<region>/<service>/aws4_request
    scope = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return scope.split("Credential=")[1].split("/")[2]
    except IndexError:
        return "us-east-1"
