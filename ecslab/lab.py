"""``Lab``: the one object a notebook uses for every step of a lab.

Each step is idempotent: it finds the resource by the lab's tags or creates it
with them, so running a cell again (or the whole notebook after a crash) finishes
the job without duplicates.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path

import pandas as pd

from . import account as account_guard
from . import cluster as cluster_steps
from . import cost
from . import iam as iam_steps
from . import inventory
from . import logs as log_steps
from . import loadbalancer as lb_steps
from . import network
from . import service as service_steps
from . import task as task_steps
from . import teardown as teardown_steps
from .check import Check
from .session import DEFAULT_REGION, Session
from .spec import (SERVICE_ROLE, TASK_EXECUTION_ROLE, TASK_ROLE, LabSpec,
                   validate_prefix)

log = logging.getLogger(__name__)


class RoleNotUsableError(RuntimeError):
    """On AWS, ECS still could not assume a lab role when the retries ran out."""


def _creates(method):
    """Mark a step that creates or changes resources: on AWS, guard it first."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        self._guard_create()
        return method(self, *args, **kwargs)

    return guarded


def _masked(frame: pd.DataFrame) -> pd.DataFrame:
    """Mask account ids in every text column, for display in shared notebooks."""
    frame = frame.copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(
                lambda v: account_guard.mask(v) if isinstance(v, str) else v)
    return frame


class Lab:
    """A learner's lab: a prefix, a target (local or aws) and a region.

    >>> lab = Lab("demo")                      # local emulator, ap-northeast-1
    >>> lab.create_vpc()                       # doctest: +SKIP
    """

    def __init__(self, prefix: str, target: str | None = None,
                 region: str = DEFAULT_REGION, session: Session | None = None,
                 profile: str | None = None,
                 allowed_accounts: list[str] | None = None, **settings):
        validate_prefix(prefix)
        self.spec = LabSpec(prefix=prefix, region=region, **settings)
        self.session = session or Session(target=target, region=region,
                                          profile=profile)
        self._ids: dict[str, str] = {}
        self._allowed = account_guard.allowed_accounts(allowed_accounts)
        if allowed_accounts is not None:
            self.session.allowed_accounts = list(allowed_accounts)
        self._account: str | None = None
        self._estimate_shown = False

    # -- where we are ----------------------------------------------------------
    @property
    def prefix(self) -> str:
        return self.spec.prefix

    @property
    def target(self) -> str:
        return self.session.target

    @property
    def region(self) -> str:
        return self.session.region

    def client(self, service: str):
        """A plain boto3 client for this target (no preflight: the course uses it
        to show AWS's own answer to a mistake)."""
        return self.session.client(service)

    def _aws(self, service: str):
        # The lab's own steps check each request against ecslab.rules first.
        return self.session.client(service, preflight=True)

    def __repr__(self) -> str:
        return f"Lab(prefix={self.prefix!r}, target={self.target!r}, " \
               f"region={self.region!r})"

    def account(self) -> str:
        """The account id the session acts in (cached)."""
        if self._account is None:
            self._account = self.session.account_id()
        return self._account

    def whereami(self) -> dict:
        """Target, region and (masked) account: what the next step will touch."""
        where = {"target": self.target, "region": self.region,
                 "account": account_guard.mask(self.account())}
        if self.session.is_local:
            where["endpoint"] = self.session.endpoint_url
            where["note"] = "embedded emulator: simulated, free, nothing leaves " \
                            "this machine"
        else:
            where["endpoint"] = "AWS"
            where["note"] = "a real account: resources cost money until teardown"
        return where

    def cost_estimate(self, service: bool = False) -> pd.DataFrame:
        """Hourly cost on AWS of the task lab (or the service lab), per resource.

        On the ``aws`` target nothing is created before this has been shown; a
        region without prices raises ``ValueError`` and so still creates nothing.
        """
        table = cost.estimate(self.spec, self.region, service=service)
        self._estimate_shown = True  # only once there is a table to show
        return table

    def _guard_create(self) -> None:
        if self.session.is_local:
            return
        account_guard.check_allowed(self.account(), self._allowed)
        if not self._estimate_shown:
            raise account_guard.GuardError(
                "show the cost estimate first: run lab.cost_estimate() (or "
                "lab.cost_estimate(service=True) for the service lab); nothing "
                "was created")

    @property
    def poll_interval(self) -> float:
        """How often to ask for progress: quick on the emulator, AWS-paced on AWS."""
        if self.session.is_local:
            from .emulator import ping

            record = ping(self.session.endpoint_url) or {}
            return max(0.05, min(2.0, 2.0 * record.get("speed", 1.0)))
        return 6.0

    # -- prerequisites ---------------------------------------------------------
    @_creates
    def ensure_task_roles(self) -> pd.DataFrame:
        """Check AmazonECSTaskRole and AmazonECSTaskExecutionRole; create if missing.

        Returns a table saying, per role, whether it was found or created.
        """
        iam = self._aws("iam")
        rows = [iam_steps.ensure_role(iam, name, self.spec.tags())
                for name in (TASK_ROLE, TASK_EXECUTION_ROLE)]
        self._ids.update({r["role"]: r["arn"] for r in rows})
        return _masked(pd.DataFrame(rows))

    def _role_arn(self, name: str) -> str:
        if name not in self._ids:
            self.ensure_task_roles()
        return self._ids[name]

    # -- network ---------------------------------------------------------------
    @_creates
    def create_vpc(self) -> str:
        """``<prefix>_vpc`` with DNS support and DNS hostnames on."""
        vpc_id = network.ensure_vpc(self._aws("ec2"), self.spec.vpc_name,
                                    self.spec.vpc_cidr, self.spec.tags())
        self._ids["vpc"] = vpc_id
        return vpc_id

    def _vpc(self) -> str:
        return self._ids.get("vpc") or self.create_vpc()

    @_creates
    def create_subnet(self, index: int = 0) -> str:
        """Public subnet number ``index`` (0: ``<prefix>_public_subnet``)."""
        zones = network.availability_zones(self._aws("ec2"),
                                           len(self.spec.subnet_cidrs))
        subnet_id = network.ensure_subnet(
            self._aws("ec2"), self._vpc(), self.spec.subnet_names()[index],
            self.spec.subnet_cidrs[index], zones[index], self.spec.tags())
        self._ids[f"subnet{index}"] = subnet_id
        return subnet_id

    def _subnet(self, index: int = 0) -> str:
        return self._ids.get(f"subnet{index}") or self.create_subnet(index)

    @_creates
    def create_internet_gateway(self) -> str:
        igw_id = network.ensure_internet_gateway(
            self._aws("ec2"), self._vpc(), self.spec.internet_gateway_name,
            self.spec.tags())
        self._ids["igw"] = igw_id
        return igw_id

    @_creates
    def create_route_table(self, subnets: int = 1) -> str:
        """Route 0.0.0.0/0 to the gateway; associate the first ``subnets`` subnets."""
        igw_id = self._ids.get("igw") or self.create_internet_gateway()
        table_id = network.ensure_route_table(
            self._aws("ec2"), self._vpc(), igw_id,
            [self._subnet(i) for i in range(subnets)],
            self.spec.route_table_name, self.spec.tags())
        self._ids["route_table"] = table_id
        return table_id

    @_creates
    def create_security_group(self) -> str:
        """``<prefix>_sg_ecs``: no inbound rule (the task only calls out)."""
        group_id = network.ensure_security_group(
            self._aws("ec2"), self._vpc(), self.spec.security_group_name,
            "ecslab: ECS tasks", self.spec.tags())
        self._ids["sg"] = group_id
        return group_id

    def create_network(self) -> dict:
        """Every network step of the task lab, in order; their ids."""
        return {"vpc": self.create_vpc(), "subnet": self.create_subnet(),
                "internet_gateway": self.create_internet_gateway(),
                "route_table": self.create_route_table(),
                "security_group": self.create_security_group()}

    # -- ECS -------------------------------------------------------------------
    @_creates
    def create_cluster(self) -> str:
        """``<prefix>_ecs_cluster`` with Container Insights on."""
        arn = cluster_steps.ensure_cluster(self._aws("ecs"), self.spec.cluster_name,
                                           self.spec.tags())
        self._ids["cluster"] = arn
        return self.spec.cluster_name

    @_creates
    def create_log_group(self) -> str:
        """``<prefix>_esc_task_log_group``, where awslogs writes the task's output."""
        return log_steps.ensure_log_group(self._aws("logs"),
                                          self.spec.log_group_name, self.spec.tags())

    @_creates
    def register_task_definition(self) -> str:
        """The hello-world task definition: Fargate, awsvpc, 256 CPU / 512 MiB."""
        spec = self.spec
        container = task_steps.container_definition(
            spec.task_container_name, spec.task_image, int(spec.task_memory),
            spec.log_group_name, self.region, spec.log_stream_prefix)
        arn = task_steps.ensure_task_definition(
            self._aws("ecs"), spec.task_family, container, spec.task_cpu,
            spec.task_memory, self._role_arn(TASK_ROLE),
            self._role_arn(TASK_EXECUTION_ROLE), spec.tags())
        self._ids["task_definition"] = arn
        return arn.rsplit("/", 1)[-1]

    # -- running a task --------------------------------------------------------
    def run_task_params(self, public_ip: bool = True) -> dict:
        """RunTask parameters built from the live resources."""
        return task_steps.run_task_params(
            cluster=self.spec.cluster_name,
            task_definition=self.spec.task_family,
            subnets=[self._subnet(0)],
            security_groups=[self._ids.get("sg") or self.create_security_group()],
            tags=self.spec.tags(), public_ip=public_ip)

    def write_run_task_params(self, path: str | Path = "runtask_params.json",
                              public_ip: bool = True) -> Path:
        """Write ``runtask_params.json`` for ``aws ecs run-task --cli-input-json``.

        ``public_ip=False`` writes ``assignPublicIp: DISABLED``: on AWS, a task in
        a public subnet without a public IP (and no NAT) cannot pull its image.
        """
        return task_steps.write_run_task_params(
            path, self.run_task_params(public_ip=public_ip))

    @_creates
    def run_task(self, path: str | Path = "runtask_params.json") -> str:
        """Validate the parameter file, then start the task it describes; its id."""
        params = task_steps.load_run_task_params(path)
        arn = self._retry_iam(lambda: task_steps.run_task(self._aws("ecs"), params))
        self._ids["task"] = arn
        return arn.rsplit("/", 1)[-1]

    def _retry_iam(self, call, timeout: float = 120, interval: float = 10):
        """On AWS a new role takes a while to be usable ("unable to assume the
        role"): retry that, and nothing else, for at most ``timeout`` seconds;
        then ``RoleNotUsableError``. On the emulator a role is usable at once,
        so the error is raised as it comes."""
        from botocore.exceptions import ClientError

        deadline = time.monotonic() + timeout
        tries = 0
        while True:
            tries += 1
            try:
                return call()
            except (ClientError, RuntimeError) as error:
                if self.session.is_local or "assume" not in str(error).lower():
                    raise
                # AWS's message names the role's ARN, account id and all.
                said = account_guard.mask(str(error))
                if time.monotonic() + interval > deadline:
                    raise RoleNotUsableError(
                        f"ECS still could not use the lab's IAM role after "
                        f"{tries} tries over {timeout:.0f}s. A new role is "
                        "usually usable within a minute or two; if it is not, "
                        "check that it exists and trusts ecs-tasks.amazonaws.com "
                        f"(lab.check('roles')). AWS said: {said}") from error
                log.info("IAM role not usable yet, retrying in %.0fs: %s",
                         interval, said)
                time.sleep(interval)

    def wait_until_stopped(self, task_arn: str | None = None, timeout: float = 600,
                           progress: bool = True) -> dict:
        """Follow the task to STOPPED (bounded by ``timeout``); its summary."""
        arn = task_arn or self._ids["task"]
        task = task_steps.wait_for_status(
            self._aws("ecs"), self.spec.cluster_name, arn, "STOPPED",
            timeout=timeout, interval=self.poll_interval, progress=progress)
        return task_steps.summarize(task)

    def describe_task(self, task_arn: str | None = None) -> dict:
        arn = task_arn or self._ids["task"]
        return task_steps.summarize(task_steps.describe_task(
            self._aws("ecs"), self.spec.cluster_name, arn))

    def task_logs(self, task_arn: str | None = None) -> pd.DataFrame:
        """The task's log events from its awslogs stream."""
        arn = task_arn or self._ids["task"]
        stream = log_steps.stream_name(self.spec.log_stream_prefix,
                                       self.spec.task_container_name,
                                       arn.rsplit("/", 1)[-1])
        return log_steps.read_events(self._aws("logs"), self.spec.log_group_name,
                                     stream)

    # -- the service lab -------------------------------------------------------
    @_creates
    def ensure_service_roles(self) -> pd.DataFrame:
        """The task roles, AmazonECSServiceRole, and the service-linked role.

        An awsvpc service is never given a role: ECS acts through the
        service-linked role AWSServiceRoleForECS, which this makes sure exists.
        """
        iam = self._aws("iam")
        rows = [iam_steps.ensure_role(iam, name, self.spec.tags())
                for name in (TASK_ROLE, TASK_EXECUTION_ROLE, SERVICE_ROLE)]
        rows.append(iam_steps.ensure_service_linked_role(iam))
        self._ids.update({r["role"]: r["arn"] for r in rows})
        return _masked(pd.DataFrame(rows))

    @_creates
    def create_load_balancer_security_group(self) -> str:
        """``<prefix>_sg_alb``: HTTP on port 80 from anywhere."""
        group_id = network.ensure_security_group(
            self._aws("ec2"), self._vpc(), self.spec.lb_security_group_name,
            "ecslab: load balancer", self.spec.tags(),
            ingress=[network.http_from_anywhere(self.spec.container_port)])
        self._ids["sg_alb"] = group_id
        return group_id

    @_creates
    def create_service_security_group(self) -> str:
        """``<prefix>_sg_ecs`` admitting port 80 only from the load balancer group."""
        alb_group = (self._ids.get("sg_alb")
                     or self.create_load_balancer_security_group())
        group_id = network.ensure_security_group(
            self._aws("ec2"), self._vpc(), self.spec.security_group_name,
            "ecslab: ECS tasks", self.spec.tags(),
            ingress=[network.http_from_group(alb_group, self.spec.container_port)])
        self._ids["sg"] = group_id
        return group_id

    def create_service_network(self) -> dict:
        """The task lab's network plus a second public subnet and both groups."""
        ids = {"vpc": self.create_vpc()}
        ids["subnets"] = [self.create_subnet(i)
                          for i in range(len(self.spec.subnet_cidrs))]
        ids["internet_gateway"] = self.create_internet_gateway()
        ids["route_table"] = self.create_route_table(
            subnets=len(self.spec.subnet_cidrs))
        ids["lb_security_group"] = self.create_load_balancer_security_group()
        ids["task_security_group"] = self.create_service_security_group()
        return ids

    @_creates
    def create_load_balancer(self) -> dict:
        """The Application Load Balancer ``<prefix>-alb`` across both subnets."""
        subnets = [self._subnet(i) for i in range(len(self.spec.subnet_cidrs))]
        balancer = lb_steps.ensure_load_balancer(
            self._aws("elbv2"), self.spec.load_balancer_name, subnets,
            self._ids.get("sg_alb") or self.create_load_balancer_security_group(),
            self.spec.tags())
        self._ids["alb"] = balancer["LoadBalancerArn"]
        return {"name": balancer["LoadBalancerName"], "dns": balancer["DNSName"],
                "state": balancer["State"]["Code"]}

    @_creates
    def create_target_group(self) -> str:
        """The ``ip`` target group ``<prefix>-tg``, health-checked on ``/``."""
        group = lb_steps.ensure_target_group(
            self._aws("elbv2"), self.spec.target_group_name, self._vpc(),
            self.spec.container_port, self.spec.tags())
        self._ids["tg"] = group["TargetGroupArn"]
        return group["TargetGroupName"]

    @_creates
    def create_listener(self) -> str:
        """HTTP:80 on the load balancer, forwarding to the target group."""
        if "alb" not in self._ids:
            self.create_load_balancer()
        if "tg" not in self._ids:
            self.create_target_group()
        arn = lb_steps.ensure_listener(self._aws("elbv2"), self._ids["alb"],
                                       self._ids["tg"], self.spec.container_port)
        self._ids["listener"] = arn
        return f"HTTP:{self.spec.container_port}"

    @_creates
    def register_service_task_definition(self) -> str:
        """The httpd task definition: Fargate, awsvpc, port 80, awslogs."""
        spec = self.spec
        container = task_steps.container_definition(
            spec.service_container_name, spec.service_image, int(spec.task_memory),
            spec.log_group_name, self.region, spec.log_stream_prefix,
            port=spec.container_port)
        arn = task_steps.ensure_task_definition(
            self._aws("ecs"), spec.service_family, container, spec.task_cpu,
            spec.task_memory, self._role_arn(TASK_ROLE),
            self._role_arn(TASK_EXECUTION_ROLE), spec.tags())
        self._ids["service_task_definition"] = arn
        return arn.rsplit("/", 1)[-1]

    @_creates
    def create_service(self, desired_count: int | None = None) -> dict:
        """``<prefix>_ecs_service`` behind the load balancer (no role: see above)."""
        spec = self.spec
        service = service_steps.ensure_service(
            self._aws("ecs"), spec.cluster_name, spec.service_name,
            spec.service_family,
            spec.desired_count if desired_count is None else desired_count,
            [self._subnet(i) for i in range(len(spec.subnet_cidrs))],
            self._ids.get("sg") or self.create_service_security_group(),
            self._target_group_arn(),
            spec.service_container_name, spec.container_port, spec.tags())
        return {k: service.get(k) for k in ("serviceName", "status", "desiredCount",
                                             "runningCount", "pendingCount",
                                             "launchType")}

    def _target_group_arn(self) -> str:
        if "tg" not in self._ids:
            self.create_target_group()
        return self._ids["tg"]

    def service(self) -> dict:
        """The service as ECS describes it now."""
        found = service_steps.find_service(self._aws("ecs"), self.spec.cluster_name,
                                           self.spec.service_name)
        if found is None:
            raise LookupError(f"service {self.spec.service_name} does not exist")
        return found

    def wait_until_stable(self, timeout: float | None = None, on_poll=None) -> dict:
        """Poll until running == desired with one deployment and, behind a load
        balancer, every target healthy; bounded by ``timeout`` seconds."""
        if timeout is None:
            timeout = 180 if self.session.is_local else 900
        deadline = time.monotonic() + timeout
        while True:
            service = service_steps.wait_until_stable(
                self._aws("ecs"), self.spec.cluster_name, self.spec.service_name,
                max(deadline - time.monotonic(), 0), self.poll_interval, on_poll)
            if self._targets_settled(service):
                return {k: service[k] for k in ("desiredCount", "runningCount",
                                                "pendingCount")}
            if time.monotonic() + self.poll_interval > deadline:
                raise TimeoutError(f"service {self.spec.service_name}'s targets "
                                   f"are not all healthy after {timeout:.0f}s")
            time.sleep(self.poll_interval)

    def _targets_settled(self, service: dict) -> bool:
        """Exactly the desired number of targets, all healthy (or no balancer)."""
        if not service.get("loadBalancers"):
            return True
        health = list(self.targets()["health"])
        return health.count("healthy") == service["desiredCount"] == len(health)

    @_creates
    def scale(self, desired_count: int) -> dict:
        """Change the service's desired count."""
        service = service_steps.scale(self._aws("ecs"), self.spec.cluster_name,
                                      self.spec.service_name, desired_count)
        return {k: service[k] for k in ("desiredCount", "runningCount",
                                        "pendingCount")}

    def service_tasks(self, desired_status: str = "RUNNING") -> pd.DataFrame:
        """The service's tasks (by desired status) as a table."""
        return service_steps.task_table(service_steps.service_tasks(
            self._aws("ecs"), self.spec.cluster_name, self.spec.service_name,
            desired_status))

    @_creates
    def stop_one_task(self, reason: str = "stopped by hand in the service lab") -> str:
        """Stop one running task of the service, as a failure would; its id."""
        tasks = service_steps.service_tasks(self._aws("ecs"),
                                            self.spec.cluster_name,
                                            self.spec.service_name)
        running = [t for t in tasks if t.get("lastStatus") == "RUNNING"]
        if not running:
            raise RuntimeError("the service has no RUNNING task to stop")
        arn = running[0]["taskArn"]
        self._aws("ecs").stop_task(cluster=self.spec.cluster_name, task=arn,
                                     reason=reason)
        log.info("stopped task %s by hand", arn.rsplit("/", 1)[-1])
        return arn.rsplit("/", 1)[-1]

    def targets(self) -> pd.DataFrame:
        """The target group's registered task IPs and their health."""
        return pd.DataFrame(lb_steps.target_health(self._aws("elbv2"),
                                                   self._target_group_arn()),
                            columns=["target", "port", "health", "reason"])

    def service_events(self, limit: int = 10) -> pd.DataFrame:
        return service_steps.events(self.service(), limit)

    def compare_stopped(self, standalone: str, service_task: str) -> pd.DataFrame:
        """A stopped standalone task beside a stopped service task.

        One row each: the task, why it stopped (``stopCode``) and how many tasks
        of its kind run now. Nothing restarts the standalone task; the service
        replaces its own, so its running count is back at the desired count.
        """
        ecs, cluster = self._aws("ecs"), self.spec.cluster_name

        rows = {}
        for kind, task in (("standalone task", standalone),
                           ("service task", service_task)):
            rows[kind] = task_steps.summarize(
                task_steps.describe_task(ecs, cluster, task))

        running_alone = ecs.list_tasks(cluster=cluster, family=self.spec.task_family,
                                       desiredStatus="RUNNING")["taskArns"]
        rows["standalone task"]["running now"] = len(running_alone)
        rows["service task"]["running now"] = self.service()["runningCount"]
        table = pd.DataFrame.from_dict(rows, orient="index")
        return table[["task", "lastStatus", "stopCode", "running now"]]

    def load_balancer_url(self) -> str:
        """``http://<dns name>/``: where the service answers on AWS."""
        return f"http://{self.create_load_balancer()['dns']}/"

    def request_load_balancer(self, url: str | None = None, timeout: float = 5.0,
                              attempts: int = 12, interval: float = 10.0,
                              lines: int = 5) -> dict:
        """GET the load balancer's DNS name as a browser would; what answers.

        On AWS: ``url, status, body`` (the body's first ``lines`` lines; httpd
        says "It works!"), ``attempts`` and ``simulated=False``. A try waits at
        most ``timeout`` s; no answer, 502, 503 or 504 (targets still turning
        healthy) is tried again every ``interval`` s, ``attempts`` times in all;
        ``ConnectionError`` if nothing ever answered HTTP. On the emulator no
        request is made: ``status`` is None, ``simulated`` True and ``note``
        says that no container answers. ``url`` replaces the load balancer's.
        """
        url = url or service_steps.load_balancer_url(
            self._aws("elbv2"), self.spec.load_balancer_name)
        if self.session.is_local:
            return {"url": url, "status": None, "body": "", "attempts": 0,
                    "simulated": True, "note": service_steps.NO_CONTAINER_ANSWERS}
        answer = service_steps.http_get(url, timeout=timeout, attempts=attempts,
                                        interval=interval, lines=lines)
        return {**answer, "simulated": False}

    # -- images -----------------------------------------------------------------
    @_creates
    def create_ecr_repository(self) -> str:
        """``<prefix>-image``, the lab's private ECR repository; its name.

        ECR names must be lower case, so the name is derived (``derived_names``).
        """
        from . import ecr

        repo = ecr.ensure_repository(self.session, self.spec)
        self._ids["ecr"] = repo["repositoryUri"]
        return repo["repositoryName"]

    # -- looking back ----------------------------------------------------------
    def inventory(self) -> pd.DataFrame:
        """Every resource carrying this lab's tags: resource, name, id, state.

        On AWS a last row says what the resources still cost per hour; in a
        region the price table lacks, it says so instead of giving a figure.
        """
        found = inventory.discover(self.session, self.spec)
        table = inventory.table(found)
        if not self.session.is_local and len(table):
            try:
                hourly = cost.billing_now(found, self.spec, self.region)
            except cost.NoPricesError:
                # The inventory (and the teardown dry run built on it) must still
                # list what exists: only the figure is missing.
                billing = (f"no figure: ecslab.cost has no prices for "
                           f"{self.region}; see the AWS pricing pages")
            else:
                total = hourly["per hour (USD)"].iloc[-1]
                billing = f"about ${total:.4f} per hour"
            table.loc[len(table)] = ["still billing", "", "", billing]
        return _masked(table)

    def billing(self) -> pd.DataFrame:
        """What the lab's resources that exist now cost per hour on AWS."""
        return cost.billing_now(inventory.discover(self.session, self.spec),
                                self.spec, self.region)

    def teardown(self, confirm: str | None = None, keep_roles: bool = False,
                 on_wait=None, dry_run: bool = False, progress: bool = True,
                 timeout: float | None = None) -> pd.DataFrame:
        """Delete this lab's resources in dependency order; what remains (empty).

        With ``dry_run``, and always on AWS until ``confirm`` is the lab's prefix
        typed out, nothing is deleted: the table lists what would be. Each wait
        (services, tasks, the load balancer) and each delete AWS refuses while a
        dependency drains shows a progress bar (``progress=False`` hides them)
        and is logged; ``on_wait(what, phase, elapsed)`` is told of each wait too.
        ``timeout`` bounds each wait and retried delete (120 s on the emulator,
        900 s on AWS); a delete still refused then raises
        ``TeardownIncomplete``, whose ``remaining`` lists what is left.
        """
        if dry_run or (not self.session.is_local and confirm != self.prefix):
            table = self.inventory()
            table = table[table["resource"] != "still billing"].copy()
            if keep_roles:
                table = table[table["resource"] != "role"]
            table["action"] = "would delete (dry run)"
            log.info("teardown dry run: %d resource(s) would be deleted; pass "
                     "confirm=%r to delete them", len(table), self.prefix)
            return table

        if timeout is None:
            timeout = 120 if self.session.is_local else 900
        try:
            remaining = teardown_steps.teardown(
                self.session, self.spec, timeout=timeout,
                interval=self.poll_interval, keep_roles=keep_roles,
                on_wait=on_wait, progress=progress)
        except teardown_steps.TeardownIncomplete as error:
            error.remaining = _masked(error.remaining)
            raise
        return _masked(remaining)

    def draw(self, which: str = "task", live: bool = True):
        """The lab's architecture as an SVG picture.

        ``live`` draws only what exists right now (from the inventory), so the
        picture fills in as the steps run; ``which`` is ``task`` or ``service``.
        The account-wide roles count as existing when they are there, whoever
        made them (the inventory, and so teardown, keeps to the lab's own); so
        does the task lab's stopped task, labelled with how it ended (the
        inventory leaves stopped tasks out).
        """
        from IPython.display import SVG

        from . import drawing

        draw = {"task": drawing.draw_task_lab,
                "service": drawing.draw_service_lab}.get(which)
        if draw is None:
            raise ValueError(f"which must be 'task' or 'service', not {which!r}")
        if not live:
            return SVG(draw(self.spec, None))
        found = inventory.with_account_roles(self.session, self.inventory())
        return SVG(draw(self.spec, inventory.with_stopped_tasks(
            self.session, self.spec, found)))

    def check(self, step: str) -> Check:
        """Check that a step worked; raises ``AssertionError`` saying what is wrong."""
        from .check import run_check

        return run_check(self, step)
