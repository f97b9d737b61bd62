"""AWS validation rules moto skips, as data, and a preflight that runs them.

Each ``Rule`` names the API operations it applies to, the error AWS answers with
(code, HTTP status, message) and the AWS documentation page it follows. The same
rules run in two places:

- in the emulator, as a WSGI layer in front of moto (``ecslab.emulator.guards``),
  so boto3 and the AWS CLI see AWS's own error;
- in the library, before a request is sent to either target::

      from ecslab import rules
      rules.preflight("ecs", "RegisterTaskDefinition", params)  # raises PreflightError

Parameters use the API's own names: camelCase for the JSON protocols (ECS, Logs,
ECR), the query names for EC2, ELBv2 and IAM (``Subnets`` as a list, ``GroupName``).

Stateless rules read the parameters only. Stateful rules (``Rule.stateful``) need the
current resources, which they ask of a ``Lookup``; without one they are skipped. Two
rules are partly stateless: an awsvpc ``role`` is refused for a FARGATE launch type
without a lookup, and a load balancer with fewer than two subnets needs no zone
lookup to be refused.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable, Protocol

from .account import Masked

log = logging.getLogger(__name__)

__all__ = [
    "FARGATE_SIZES",
    "Lookup",
    "PreflightError",
    "RULES",
    "Rule",
    "Violation",
    "fargate_memory_choices",
    "parse_cpu",
    "parse_memory",
    "preflight",
    "rules_for",
    "violations",
]

# The service names are boto3's client names.
SERVICES = ("ecs", "logs", "ecr", "ec2", "elbv2", "iam")
_SERVICE_ALIASES = {"elasticloadbalancing": "elbv2", "cloudwatchlogs": "logs"}


class Lookup(Protocol):
    """Current resources, for the stateful rules; each answer is plain data.

    The emulator implements it over moto's models; a client could implement it
    with describe calls. A method answers None (or empty) for what it does not
    know, and the rule then lets the request through.
    """

    def task_definition(self, ref: str) -> dict | None:
        """``family``, ``networkMode``, ``requiresCompatibilities`` and
        ``containerDefinitions`` (each with ``name`` and ``portMappings``) of a
        task definition named by family, ``family:revision`` or ARN."""

    def target_group(self, arn: str) -> dict | None:
        """``TargetType`` and ``LoadBalancerArns`` of a target group; None when
        there is no such group, ``{}`` when it cannot be read (let through)."""

    def subnet_zones(self, subnet_ids: list[str]) -> dict[str, str]:
        """Availability Zone of each known subnet, by subnet id."""

    def cluster_services(self, cluster: str) -> list[str]:
        """Names of the ACTIVE services in a cluster (name or ARN)."""

    def cluster_tasks(self, cluster: str) -> list[str]:
        """ARNs of the tasks in a cluster whose last status is not STOPPED."""

    def service_status(self, cluster: str, service: str) -> str | None:
        """ACTIVE, DRAINING or INACTIVE for a known service (name or ARN)."""

    def security_group_id(self, name: str) -> str | None:
        """Id of the security group with this name (default VPC first)."""

    def security_group_referrers(self, group_id: str) -> list[str]:
        """Ids of the other security groups whose rules reference this one."""

    def security_group_interfaces(self, group_id: str) -> list[str]:
        """Ids of the network interfaces that use this security group."""

    def subnet_interfaces(self, subnet_id: str) -> list[str]:
        """Ids of the network interfaces in this subnet."""

    def role_named(self, name: str) -> str | None:
        """The existing IAM role whose name equals ``name`` ignoring case."""


@dataclass(frozen=True)
class Rule:
    """One AWS rule: where it applies, what AWS answers, and the check itself.

    ``check(params, lookup)`` returns None when the request passes, else the
    fields for ``message`` (``message.format(**fields)``); a ``field`` entry, when
    present, names the offending parameter instead of ``Rule.field``.
    """

    id: str
    service: str
    operations: tuple[str, ...]
    field: str
    code: str
    status: int
    message: str
    doc_url: str
    check: Callable[[dict, Lookup | None], dict | None]
    stateful: bool = False

    def evaluate(self, params: dict, lookup: Lookup | None = None) -> Violation | None:
        """The violation of this rule by ``params``, or None."""
        if self.stateful and lookup is None:
            return None

        fields = self.check(params, lookup)
        if fields is None:
            return None

        field = fields.get("field", self.field)
        return Violation(self, field, self.message.format(**fields))


@dataclass(frozen=True)
class Violation:
    """A failed rule: the parameter at fault and AWS's message for it."""

    rule: Rule
    field: str
    message: str

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def status(self) -> int:
        return self.rule.status

    @property
    def doc_url(self) -> str:
        return self.rule.doc_url


class PreflightError(ValueError):
    """A request AWS would refuse, caught before it is sent.

    Carries ``code`` (AWS's error code), ``rule`` (the ``Rule``), ``field``,
    ``doc_url`` and ``violation``; the message names the field and the rule.
    """

    def __init__(self, operation: str, violation: Violation):
        self.violation = violation
        self.rule = violation.rule
        self.code = violation.code
        self.field = violation.field
        self.doc_url = violation.doc_url
        self.operation = operation
        super().__init__(
            f"{operation} {violation.field}: {violation.message} "
            f"[{violation.code}; rule {self.rule.id}; {self.doc_url}]"
        )


# --- Helpers the checks share ------------------------------------------------------

def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _short_name(ref: str) -> str:
    # ECS accepts a short name or a full ARN wherever it takes a cluster.
    return ref.split("/")[-1]


def _is_fargate_definition(params: dict) -> bool:
    return "FARGATE" in (params.get("requiresCompatibilities") or [])


def _task_definition(params: dict, lookup: Lookup | None) -> dict | None:
    ref = _text(params.get("taskDefinition"))
    if lookup is None or not ref:
        return None
    return lookup.task_definition(ref)


def _load_balancers(params: dict) -> list[tuple[int, dict]]:
    return [(i, lb) for i, lb in enumerate(params.get("loadBalancers") or [])
            if isinstance(lb, dict)]


def _ecs_name_check(key: str, what: str):
    # ECS names: up to 255 letters (upper and lower case), numbers, hyphens and
    # underscores.
    pattern = re.compile(r"[A-Za-z0-9_-]{1,255}")

    def check(params: dict, lookup) -> dict | None:
        if key not in params:
            return None
        name = params[key]
        if isinstance(name, str) and pattern.fullmatch(name):
            return None
        return {"name": name, "what": what}

    return check


# --- Fargate task sizes -------------------------------------------------------------

# Task cpu units -> the memory values (MiB) Fargate accepts with it.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    # 8 and 16 vCPU need Linux platform version 1.4.0 or later.
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

_CPU_FORM = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*", re.IGNORECASE)
_MEMORY_FORM = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(gb)?\s*", re.IGNORECASE)


def _parse_units(value, form: re.Pattern, unit: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None

    match = form.fullmatch(value)
    if not match:
        return None

    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        return None
    amount = number * unit if match.group(2) else number
    if amount <= 0 or amount != amount.to_integral_value():
        return None
    return int(amount)


def parse_cpu(value) -> int | None:
    """CPU units from AWS's accepted forms (``256``, ``"256"``, ``"0.25 vCPU"``).

    ECS converts a vCPU string to units (1 vCPU = 1024) when it registers the
    task definition; None when the value is not one of those forms.
    """
    return _parse_units(value, _CPU_FORM, 1024)


def parse_memory(value) -> int | None:
    """MiB from AWS's accepted forms (``512``, ``"512"``, ``"1 GB"``, ``"0.5GB"``)."""
    return _parse_units(value, _MEMORY_FORM, 1024)


def fargate_memory_choices(cpu) -> tuple[int, ...]:
    """The memory values (MiB) Fargate accepts with this task cpu; () if none."""
    units = parse_cpu(cpu)
    return FARGATE_SIZES.get(units, ()) if units else ()


# --- The checks ---------------------------------------------------------------------

def _check_fargate_network_mode(params: dict, lookup) -> dict | None:
    # Fargate tasks use awsvpc only; an omitted networkMode means bridge.
    if _is_fargate_definition(params) and params.get("networkMode") != "awsvpc":
        return {"mode": params.get("networkMode")}
    return None


def _task_level(key: str):
    def check(params: dict, lookup) -> dict | None:
        if _is_fargate_definition(params) and params.get(key) in (None, ""):
            return {}
        return None

    return check


def _parse_check(key: str, parse):
    def check(params: dict, lookup) -> dict | None:
        value = params.get(key)
        if value is None:
            return None
        if parse(value) is None:
            return {"value": value}
        return None

    return check


def _check_fargate_size(params: dict, lookup) -> dict | None:
    if not _is_fargate_definition(params):
        return None
    cpu, memory = parse_cpu(params.get("cpu")), parse_memory(params.get("memory"))
    if cpu is None or memory is None:
        return None  # missing or unreadable values have their own rules
    if memory in FARGATE_SIZES.get(cpu, ()):
        return None
    return {"cpu": cpu, "memory": memory}


def _check_launch_type(params: dict, lookup) -> dict | None:
    if params.get("launchType") != "FARGATE":
        return None
    definition = _task_definition(params, lookup)
    if definition is None:
        return None
    if "FARGATE" in (definition.get("requiresCompatibilities") or []):
        return None
    return {"launch_type": "FARGATE"}


def _check_network_configuration(params: dict, lookup) -> dict | None:
    definition = _task_definition(params, lookup)
    if definition is None or definition.get("networkMode") != "awsvpc":
        return None
    configuration = params.get("networkConfiguration") or {}
    if configuration.get("awsvpcConfiguration"):
        return None
    return {}


def _check_service_role(params: dict, lookup) -> dict | None:
    # An awsvpc service uses the service-linked role AWSServiceRoleForECS; a
    # FARGATE launch type always means awsvpc, so no lookup is needed for it.
    if not params.get("role"):
        return None
    if params.get("launchType") == "FARGATE":
        return {}
    definition = _task_definition(params, lookup)
    if definition is not None and definition.get("networkMode") == "awsvpc":
        return {}
    return None


def _containers(definition: dict) -> dict[str, set]:
    result = {}
    for container in definition.get("containerDefinitions") or []:
        ports = {m.get("containerPort") for m in container.get("portMappings") or []}
        result[container.get("name")] = ports
    return result


def _check_lb_container_name(params: dict, lookup) -> dict | None:
    definition = _task_definition(params, lookup)
    if definition is None:
        return None
    containers = _containers(definition)
    for i, lb in _load_balancers(params):
        name = lb.get("containerName")
        if name is not None and name not in containers:
            return {"container": name, "field": f"loadBalancers[{i}].containerName"}
    return None


def _check_lb_container_port(params: dict, lookup) -> dict | None:
    definition = _task_definition(params, lookup)
    if definition is None:
        return None
    containers = _containers(definition)
    for i, lb in _load_balancers(params):
        name, port = lb.get("containerName"), lb.get("containerPort")
        if name in containers and port is not None and port not in containers[name]:
            return {"container": name, "port": port,
                    "field": f"loadBalancers[{i}].containerPort"}
    return None


def _target_groups(params: dict, lookup):
    # None is a group that does not exist; {} one the lookup could not read, which
    # only AWS can judge, so the checks below pass it.
    for i, lb in _load_balancers(params):
        arn = lb.get("targetGroupArn")
        if arn:
            yield i, arn, lookup.target_group(arn)


def _check_target_group_exists(params: dict, lookup) -> dict | None:
    for i, arn, group in _target_groups(params, lookup):
        if group is None:
            return {"arn": arn, "field": f"loadBalancers[{i}].targetGroupArn"}
    return None


def _check_target_group_attached(params: dict, lookup) -> dict | None:
    for i, arn, group in _target_groups(params, lookup):
        if group and not group.get("LoadBalancerArns"):
            return {"arn": arn, "field": f"loadBalancers[{i}].targetGroupArn"}
    return None


def _check_target_type(params: dict, lookup) -> dict | None:
    definition = _task_definition(params, lookup)
    if definition is None or definition.get("networkMode") != "awsvpc":
        return None
    for i, arn, group in _target_groups(params, lookup):
        if group and group.get("TargetType") != "ip":
            return {"arn": arn, "type": group.get("TargetType"),
                    "field": f"loadBalancers[{i}].targetGroupArn"}
    return None


def _check_cluster_services(params: dict, lookup) -> dict | None:
    cluster = _text(params.get("cluster"))
    if cluster and lookup.cluster_services(_short_name(cluster)):
        return {}
    return None


def _check_cluster_tasks(params: dict, lookup) -> dict | None:
    cluster = _text(params.get("cluster"))
    if cluster and lookup.cluster_tasks(_short_name(cluster)):
        return {}
    return None


def _check_service_active(params: dict, lookup) -> dict | None:
    cluster = _short_name(_text(params.get("cluster")) or "default")
    service = _text(params.get("service"))
    if not service or not hasattr(lookup, "service_status"):
        return None
    status = lookup.service_status(cluster, _short_name(service))
    if status is not None and status != "ACTIVE":
        return {"status": status}
    return None


def _log_group_length(params: dict, lookup) -> dict | None:
    name = params.get("logGroupName")
    if isinstance(name, str) and len(name) > 512:
        return {"name": name}
    return None


def _log_group_pattern(params: dict, lookup) -> dict | None:
    name = params.get("logGroupName")
    if isinstance(name, str) and name and not re.fullmatch(r"[.\-_/#A-Za-z0-9]+", name):
        return {"name": name}
    return None


def _length_between(key: str, low: int, high: int):
    def check(params: dict, lookup) -> dict | None:
        value = params.get(key)
        if isinstance(value, str) and not low <= len(value) <= high:
            return {"name": value, "low": low, "high": high}
        return None

    return check


# The current ECR model's pattern: lower case components joined by '.', '_', '__'
# or runs of '-', separated by '/'.
ECR_REPOSITORY_PATTERN = (
    r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*"
)


def _ecr_pattern(params: dict, lookup) -> dict | None:
    name = params.get("repositoryName")
    if not isinstance(name, str) or not 2 <= len(name) <= 256:
        return None
    if re.fullmatch(ECR_REPOSITORY_PATTERN, name):
        return None
    return {"name": name, "pattern": ECR_REPOSITORY_PATTERN}


def _elb_name(kind_check):
    def check(params: dict, lookup) -> dict | None:
        name = params.get("Name")
        if isinstance(name, str) and kind_check(name):
            return {"name": name}
        return None

    return check


def _subnet_ids(params: dict) -> list[str]:
    ids = [s for s in params.get("Subnets") or [] if isinstance(s, str)]
    for mapping in params.get("SubnetMappings") or []:
        if isinstance(mapping, dict) and mapping.get("SubnetId"):
            ids.append(mapping["SubnetId"])
    return list(dict.fromkeys(ids))


def _check_alb_zones(params: dict, lookup) -> dict | None:
    if params.get("Type", "application") != "application":
        return None
    ids = _subnet_ids(params)
    if len(ids) < 2:
        return {}
    if lookup is None:
        return None

    # Unknown subnets are left to the emulator's own not-found answer.
    zones = lookup.subnet_zones(ids)
    if len(zones) == len(ids) and len(set(zones.values())) < 2:
        return {}
    return None


def _role_length(params: dict, lookup) -> dict | None:
    name = params.get("RoleName")
    if isinstance(name, str) and len(name) > 64:
        return {"name": name}
    return None


def _role_pattern(params: dict, lookup) -> dict | None:
    name = params.get("RoleName")
    if isinstance(name, str) and name and not re.fullmatch(r"[\w+=,.@-]+", name,
                                                           re.ASCII):
        return {"name": name}
    return None


def _role_unique(params: dict, lookup) -> dict | None:
    name = params.get("RoleName")
    if not isinstance(name, str):
        return None
    existing = lookup.role_named(name)
    if existing is not None:
        return {"name": name, "existing": existing}
    return None


def _group_name_prefix(params: dict, lookup) -> dict | None:
    name = params.get("GroupName")
    if isinstance(name, str) and name.startswith("sg-"):
        return {"name": name}
    return None


def _group_name_length(params: dict, lookup) -> dict | None:
    name = params.get("GroupName")
    if isinstance(name, str) and len(name) > 255:
        return {"name": name}
    return None


def _group_to_delete(params: dict, lookup) -> str | None:
    group_id = _text(params.get("GroupId"))
    if group_id:
        return group_id
    name = _text(params.get("GroupName"))
    return lookup.security_group_id(name) if name else None


def _check_group_referenced(params: dict, lookup) -> dict | None:
    group_id = _group_to_delete(params, lookup)
    if group_id and lookup.security_group_referrers(group_id):
        return {"group_id": group_id}
    return None


def _check_group_in_use(params: dict, lookup) -> dict | None:
    group_id = _group_to_delete(params, lookup)
    if group_id and lookup.security_group_interfaces(group_id):
        return {"group_id": group_id}
    return None


def _check_subnet_in_use(params: dict, lookup) -> dict | None:
    subnet_id = _text(params.get("SubnetId"))
    if subnet_id and lookup.subnet_interfaces(subnet_id):
        return {"subnet_id": subnet_id}
    return None


# --- The rules ----------------------------------------------------------------------

_ECS_API = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/"
_ECS_GUIDE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
_ELB_API = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/"
_EC2_API = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/"
_ECS_NAME_RULE = ("up to 255 letters (uppercase and lowercase), numbers, hyphens, "
                  "and underscores are allowed.")
_TG_HYPHENS = "(?!.*--)(?!^-)(?!.*-$)^[A-Za-z0-9-]+$"
_SERVICE_WRITES = ("CreateService",)
_TASK_STARTS = ("RunTask", "CreateService")

RULES: list[Rule] = [
    # ECS names.
    Rule("ecs-cluster-name", "ecs", ("CreateCluster",), "clusterName",
         "InvalidParameterException", 400,
         "Invalid {what} name '{name}': " + _ECS_NAME_RULE,
         _ECS_API + "API_CreateCluster.html",
         _ecs_name_check("clusterName", "cluster")),
    Rule("ecs-service-name", "ecs", ("CreateService",), "serviceName",
         "InvalidParameterException", 400,
         "Invalid {what} name '{name}': " + _ECS_NAME_RULE,
         _ECS_API + "API_CreateService.html",
         _ecs_name_check("serviceName", "service")),
    Rule("ecs-family-name", "ecs", ("RegisterTaskDefinition",), "family",
         "ClientException", 400,
         "Family contains invalid characters.",
         _ECS_API + "API_RegisterTaskDefinition.html",
         _ecs_name_check("family", "family")),

    # Fargate task definitions.
    Rule("fargate-network-mode", "ecs", ("RegisterTaskDefinition",), "networkMode",
         "ClientException", 400,
         "Fargate only supports network mode \u2018awsvpc\u2019.",
         _ECS_GUIDE + "fargate-task-networking.html",
         _check_fargate_network_mode),
    Rule("fargate-task-cpu", "ecs", ("RegisterTaskDefinition",), "cpu",
         "ClientException", 400,
         "Fargate requires that 'cpu' be defined at the task level.",
         _ECS_GUIDE + "task_definition_parameters.html#task_size",
         _task_level("cpu")),
    Rule("fargate-task-memory", "ecs", ("RegisterTaskDefinition",), "memory",
         "ClientException", 400,
         "Fargate requires that 'memory' be defined at the task level.",
         _ECS_GUIDE + "task_definition_parameters.html#task_size",
         _task_level("memory")),
    Rule("task-cpu-value", "ecs", ("RegisterTaskDefinition",), "cpu",
         "ClientException", 400,
         "Invalid 'cpu' setting for task.",
         _ECS_GUIDE + "task-cpu-memory-error.html",
         _parse_check("cpu", parse_cpu)),
    Rule("task-memory-value", "ecs", ("RegisterTaskDefinition",), "memory",
         "ClientException", 400,
         "Invalid 'memory' setting for task.",
         _ECS_GUIDE + "task-cpu-memory-error.html",
         _parse_check("memory", parse_memory)),
    Rule("fargate-cpu-memory", "ecs", ("RegisterTaskDefinition",), "memory",
         "ClientException", 400,
         "No Fargate configuration exists for given values.",
         _ECS_GUIDE + "task-cpu-memory-error.html",
         _check_fargate_size),

    # Tasks and services against their task definition.
    Rule("fargate-launch-type", "ecs", _TASK_STARTS, "launchType",
         "InvalidParameterException", 400,
         "Task definition does not support launch_type {launch_type}.",
         _ECS_API + "API_RunTask.html",
         _check_launch_type, stateful=True),
    Rule("awsvpc-network-configuration", "ecs", _TASK_STARTS, "networkConfiguration",
         "InvalidParameterException", 400,
         "Network Configuration must be provided when networkMode 'awsvpc' is "
         "specified.",
         _ECS_API + "API_NetworkConfiguration.html",
         _check_network_configuration, stateful=True),
    Rule("awsvpc-service-role", "ecs", _SERVICE_WRITES, "role",
         "InvalidParameterException", 400,
         "You cannot specify an IAM role for services that require a service "
         "linked role.",
         _ECS_GUIDE + "using-service-linked-roles.html",
         _check_service_role),
    Rule("service-lb-container-name", "ecs", _SERVICE_WRITES,
         "loadBalancers.containerName", "InvalidParameterException", 400,
         "The container {container} does not exist in the task definition.",
         _ECS_API + "API_LoadBalancer.html",
         _check_lb_container_name, stateful=True),
    Rule("service-lb-container-port", "ecs", _SERVICE_WRITES,
         "loadBalancers.containerPort", "InvalidParameterException", 400,
         "The container {container} did not have a container port {port} defined.",
         _ECS_API + "API_LoadBalancer.html",
         _check_lb_container_port, stateful=True),
    # What ECS answers for a target group it cannot find or describe.
    Rule("service-target-group-exists", "ecs", _SERVICE_WRITES,
         "loadBalancers.targetGroupArn", "InvalidParameterException", 400,
         "Unable to assume role and validate the specified targetGroupArn. Please "
         "verify that the ECS service role being passed has the proper permissions.",
         _ECS_API + "API_LoadBalancer.html",
         _check_target_group_exists, stateful=True),
    Rule("service-target-group-attached", "ecs", _SERVICE_WRITES,
         "loadBalancers.targetGroupArn", "InvalidParameterException", 400,
         "The target group with targetGroupArn {arn} does not have an associated "
         "load balancer.",
         _ECS_GUIDE + "alb.html",
         _check_target_group_attached, stateful=True),
    Rule("service-target-type-ip", "ecs", _SERVICE_WRITES,
         "loadBalancers.targetGroupArn", "InvalidParameterException", 400,
         "The provided target group {arn} has target type {type}, which is "
         "incompatible with the awsvpc network mode specified in the task "
         "definition.",
         _ECS_GUIDE + "alb.html",
         _check_target_type, stateful=True),

    # Deletes ECS refuses while the cluster still holds work.
    Rule("cluster-contains-services", "ecs", ("DeleteCluster",), "cluster",
         "ClusterContainsServicesException", 400,
         "The Cluster cannot be deleted while Services are active.",
         _ECS_API + "API_DeleteCluster.html",
         _check_cluster_services, stateful=True),
    Rule("cluster-contains-tasks", "ecs", ("DeleteCluster",), "cluster",
         "ClusterContainsTasksException", 400,
         "The Cluster cannot be deleted while Tasks are active.",
         _ECS_API + "API_DeleteCluster.html",
         _check_cluster_tasks, stateful=True),

    # A deleted service drains, then goes INACTIVE; neither can be updated.
    Rule("service-not-active", "ecs", ("UpdateService",), "service",
         "ServiceNotActiveException", 400, "Service was not ACTIVE.",
         _ECS_API + "API_UpdateService.html",
         _check_service_active, stateful=True),

    # CloudWatch Logs.
    Rule("log-group-name-length", "logs", ("CreateLogGroup",), "logGroupName",
         "InvalidParameterException", 400,
         "1 validation error detected: Value '{name}' at 'logGroupName' failed to "
         "satisfy constraint: Member must have length less than or equal to 512",
         "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/"
         "API_CreateLogGroup.html",
         _log_group_length),
    Rule("log-group-name-pattern", "logs", ("CreateLogGroup",), "logGroupName",
         "InvalidParameterException", 400,
         "1 validation error detected: Value '{name}' at 'logGroupName' failed to "
         "satisfy constraint: Member must satisfy regular expression pattern: "
         "[\\.\\-_/#A-Za-z0-9]+",
         "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/"
         "API_CreateLogGroup.html",
         _log_group_pattern),

    # ECR.
    Rule("ecr-repository-name-length", "ecr", ("CreateRepository",),
         "repositoryName", "InvalidParameterException", 400,
         "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
         "'must have length between {low} and {high}'",
         "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/"
         "API_CreateRepository.html",
         _length_between("repositoryName", 2, 256)),
    Rule("ecr-repository-name-pattern", "ecr", ("CreateRepository",),
         "repositoryName", "InvalidParameterException", 400,
         "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
         "'must satisfy regular expression '{pattern}''",
         "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/"
         "API_CreateRepository.html",
         _ecr_pattern),

    # Elastic Load Balancing.
    Rule("lb-name-length", "elbv2", ("CreateLoadBalancer",), "Name",
         "ValidationError", 400,
         "Load balancer name '{name}' cannot be longer than '32' characters",
         _ELB_API + "API_CreateLoadBalancer.html",
         _elb_name(lambda name: len(name) > 32)),
    Rule("lb-name-characters", "elbv2", ("CreateLoadBalancer",), "Name",
         "ValidationError", 400,
         "Load balancer name '{name}' can only contain characters that are "
         "alphanumeric characters or hyphens(-)",
         _ELB_API + "API_CreateLoadBalancer.html",
         _elb_name(lambda name: not re.fullmatch(r"[A-Za-z0-9-]*", name))),
    Rule("lb-name-hyphen-ends", "elbv2", ("CreateLoadBalancer",), "Name",
         "ValidationError", 400,
         "Load balancer name '{name}' cannot begin or end with '-'",
         _ELB_API + "API_CreateLoadBalancer.html",
         _elb_name(lambda name: name.startswith("-") or name.endswith("-"))),
    Rule("lb-name-internal-prefix", "elbv2", ("CreateLoadBalancer",), "Name",
         "ValidationError", 400,
         "Load balancer name '{name}' cannot begin with 'internal-'",
         _ELB_API + "API_CreateLoadBalancer.html",
         _elb_name(lambda name: name.startswith("internal-"))),
    Rule("alb-two-zones", "elbv2", ("CreateLoadBalancer",), "Subnets",
         "ValidationError", 400,
         "At least two subnets in two different Availability Zones must be "
         "specified",
         _ELB_API + "API_CreateLoadBalancer.html",
         _check_alb_zones),
    Rule("target-group-name-length", "elbv2", ("CreateTargetGroup",), "Name",
         "ValidationError", 400,
         "Target group name '{name}' cannot be longer than '32' characters",
         _ELB_API + "API_CreateTargetGroup.html",
         _elb_name(lambda name: len(name) > 32)),
    Rule("target-group-name-characters", "elbv2", ("CreateTargetGroup",), "Name",
         "ValidationError", 400,
         "Target group name '{name}' can only contain characters that are "
         "alphanumeric characters or hyphens(-)",
         _ELB_API + "API_CreateTargetGroup.html",
         _elb_name(lambda name: not re.fullmatch(r"[A-Za-z0-9-]*", name))),
    # Documented: no hyphen at either end. Undocumented but enforced, as moto
    # recorded from AWS: no two hyphens in a row, with this message.
    Rule("target-group-name-hyphens", "elbv2", ("CreateTargetGroup",), "Name",
         "ValidationError", 400,
         "1 validation error detected: Value '{name}' at "
         "'targetGroup.targetGroupArn.targetGroupName' failed to satisfy constraint: "
         "Member must satisfy regular expression pattern: " + _TG_HYPHENS,
         _ELB_API + "API_CreateTargetGroup.html",
         _elb_name(lambda name: not re.fullmatch(_TG_HYPHENS, name))),

    # IAM.
    Rule("iam-role-name-length", "iam", ("CreateRole",), "RoleName",
         "ValidationError", 400,
         "1 validation error detected: Value '{name}' at 'roleName' failed to "
         "satisfy constraint: Member must have length less than or equal to 64",
         "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
         _role_length),
    Rule("iam-role-name-pattern", "iam", ("CreateRole",), "RoleName",
         "ValidationError", 400,
         "1 validation error detected: Value '{name}' at 'roleName' failed to "
         "satisfy constraint: Member must satisfy regular expression pattern: "
         "[\\w+=,.@-]+",
         "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
         _role_pattern),
    # IAM names are unique ignoring case: "MyRole" blocks "myrole".
    Rule("iam-role-name-unique", "iam", ("CreateRole",), "RoleName",
         "EntityAlreadyExists", 409,
         "Role with name {name} already exists.",
         "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
         _role_unique, stateful=True),

    # EC2.
    Rule("security-group-name-prefix", "ec2", ("CreateSecurityGroup",), "GroupName",
         "InvalidParameterValue", 400,
         "Value ({name}) for parameter GroupName is invalid. Group names may not "
         "be in the format sg-*.",
         _EC2_API + "API_CreateSecurityGroup.html",
         _group_name_prefix),
    Rule("security-group-name-length", "ec2", ("CreateSecurityGroup",), "GroupName",
         "InvalidParameterValue", 400,
         "Value ({name}) for parameter GroupName is invalid. Length exceeds "
         "maximum of 255 characters.",
         _EC2_API + "API_CreateSecurityGroup.html",
         _group_name_length),
    Rule("security-group-referenced", "ec2", ("DeleteSecurityGroup",), "GroupId",
         "DependencyViolation", 400,
         "resource {group_id} has a dependent object",
         _EC2_API + "API_DeleteSecurityGroup.html",
         _check_group_referenced, stateful=True),
    Rule("security-group-in-use", "ec2", ("DeleteSecurityGroup",), "GroupId",
         "DependencyViolation", 400,
         "resource {group_id} has a dependent object",
         _EC2_API + "API_DeleteSecurityGroup.html",
         _check_group_in_use, stateful=True),
    Rule("subnet-in-use", "ec2", ("DeleteSubnet",), "SubnetId",
         "DependencyViolation", 400,
         "The subnet '{subnet_id}' has dependencies and cannot be deleted.",
         _EC2_API + "API_DeleteSubnet.html",
         _check_subnet_in_use, stateful=True),
]

_BY_OPERATION: dict[tuple[str, str], list[Rule]] = {}
for _rule in RULES:
    for _operation in _rule.operations:
        _BY_OPERATION.setdefault((_rule.service, _operation), []).append(_rule)


def _normalise(service: str, operation: str) -> tuple[str, str]:
    service = _SERVICE_ALIASES.get(service.lower(), service.lower())
    if "_" in operation or operation[:1].islower():
        # boto3's method names: create_cluster -> CreateCluster.
        operation = "".join(part.capitalize() for part in operation.split("_"))
    return service, operation


def rules_for(service: str, operation: str) -> list[Rule]:
    """The rules for one API operation, in the order they are checked."""
    return list(_BY_OPERATION.get(_normalise(service, operation), ()))


def violations(service: str, operation: str, params: dict,
               context: Lookup | None = None) -> list[Violation]:
    """Every rule ``params`` breaks; stateful rules run only with a ``context``."""
    found = []
    for rule in rules_for(service, operation):
        violation = rule.evaluate(params, context)
        if violation is not None:
            found.append(violation)
    return found


def preflight(service: str, operation: str, params: dict,
              context: Lookup | None = None) -> None:
    """Raise ``PreflightError`` for the first rule ``params`` breaks.

    ``service`` is boto3's client name (``"ecs"``, ``"elbv2"``...), ``operation``
    the API name (``"RunTask"``) or boto3's (``"run_task"``).
    """
    found = violations(service, operation, params, context)
    if found:
        _, name = _normalise(service, operation)
        log.debug("preflight refused %s: %s", name, Masked(found[0].message))
        raise PreflightError(name, found[0])
