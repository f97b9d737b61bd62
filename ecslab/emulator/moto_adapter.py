"""The only module that reads or writes moto's in-process models.

Everything else in the emulator goes through these functions, so a moto upgrade
touches this file alone, and tests/test_moto_adapter.py says at once what changed.
moto is pinned to an exact version in requirements.lock.
"""

from __future__ import annotations

# AWS pages cited below, split so that each line fits in 88 columns.
DOC_SERVICE_LINKED_ROLES = ("https://docs.aws.amazon.com/AmazonECS/latest/"
                            "developerguide/using-service-linked-roles.html")
DOC_TARGET_HEALTH_CHECKS = ("https://docs.aws.amazon.com/elasticloadbalancing/latest/"
                            "application/target-group-health-checks.html")

# --- Data plane: tasks, services, network interfaces, targets, logs ----------
#
# moto's models are plain objects whose attributes its serializer reads by the
# snake_case form of the API member name (``stopped_at`` -> ``stoppedAt``), so
# the data plane sets attributes and every later response shows them. moto is
# imported inside the functions: this module is imported outside the emulator
# process too, where moto's start-up cost is not wanted.

# Attributes of moto's ecs Task that the data plane writes; each is the API
# member of the same name in camelCase (API_Task).
TASK_FIELDS = frozenset({
    "last_status", "desired_status", "stopped_reason", "stop_code",
    "created_at", "pull_started_at", "pull_stopped_at", "started_at",
    "stopping_at", "stopped_at", "execution_stopped_at", "connectivity",
    "connectivity_at", "health_status", "availability_zone", "cpu", "memory",
    "version", "platform_version", "platform_family", "ephemeral_storage",
})
# Attributes of moto's ecs Container written by the data plane (API_Container).
CONTAINER_FIELDS = frozenset({
    "last_status", "exitCode", "reason", "health_status", "network_interfaces",
    "runtime_id",
})
# Attributes of moto's ecs Service written by the data plane (API_Service).
SERVICE_FIELDS = frozenset({
    "running_count", "pending_count", "desired_count", "status", "events",
    "deployments", "task_definition", "deployment_configuration",
})


def default_account() -> str:
    """The account moto serves when a request names none."""
    from moto.core import DEFAULT_ACCOUNT_ID

    return DEFAULT_ACCOUNT_ID


def resolve_task_definition(account: str, region: str, ref: str) -> str:
    """The full ARN of a task definition given as family, family:revision or ARN."""
    return ecs_backend(account, region).describe_task_definition(ref).arn


def ecs_backend(account: str, region: str):
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def ec2_backend(account: str, region: str):
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def elbv2_backend(account: str, region: str):
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region]


def logs_backend(account: str, region: str):
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def find_task(account: str, region: str, task_arn: str):
    """moto's Task with ``task_arn``, or None."""
    for tasks in ecs_backend(account, region).tasks.values():
        if task_arn in tasks:
            return tasks[task_arn]
    return None


def task_definition_of(task):
    """The TaskDefinition a task was started from."""
    backend = task._backend
    return backend.describe_task_definition(task.task_definition_arn)


def hold_task_status(task, status: str) -> None:
    """Set ``lastStatus`` and stop moto advancing it on each DescribeTasks.

    moto's Task is a ManagedState that steps one transition per describe call;
    with no transitions left, the status is whatever the data plane sets.
    """
    task._transitions = []
    task.status = status


def set_task(task, **fields) -> None:
    """Write data-plane attributes of a Task (names from ``TASK_FIELDS``)."""
    unknown = set(fields) - TASK_FIELDS
    if unknown:
        raise KeyError(f"not a data-plane task field: {sorted(unknown)}")
    for name, value in fields.items():
        if name == "last_status":
            task.status = value
        else:
            setattr(task, name, value)


def set_container(container, **fields) -> None:
    """Write data-plane attributes of a Container (names from ``CONTAINER_FIELDS``)."""
    unknown = set(fields) - CONTAINER_FIELDS
    if unknown:
        raise KeyError(f"not a data-plane container field: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(container, name, value)


def rebuild_containers(task) -> list:
    """Give the task one Container per container definition, as AWS does.

    moto builds a single Container from the first definition, with an ARN and
    ``taskArn`` made from the task definition's ARN; AWS has one per definition,
    ``containerArn`` under ``container/<cluster>/<task id>/`` and the task's ARN.
    """
    from moto.ecs.models import Container
    from moto.moto_api._internal import mock_random

    definition = task_definition_of(task)
    arn_head = task.task_arn.split(":task/")[0]
    containers = []
    for spec in definition.container_definitions:
        container = Container(definition)
        container.container_arn = (f"{arn_head}:container/{task.cluster_name}/"
                                   f"{task.id}/{mock_random.uuid4()}")
        container.task_arn = task.task_arn
        container.name = spec.get("name")
        container.image = spec.get("image")
        container.cpu = spec.get("cpu", 0)
        container.memory = spec.get("memory")
        container.environment = spec.get("environment")
        container.command = spec.get("command")
        container.exitCode = None
        containers.append(container)
    task.containers = containers
    return containers


def task_eni_attachment(task) -> dict | None:
    """The task's ElasticNetworkInterface attachment (awsvpc), or None."""
    for attachment in task.attachments:
        if attachment.get("type") == "ElasticNetworkInterface":
            return attachment
    return None


def attachment_detail(attachment: dict, name: str) -> str | None:
    for detail in attachment.get("details", []):
        if detail["name"] == name:
            return detail["value"]
    return None


def set_attachment_status(task, status: str) -> None:
    attachment = task_eni_attachment(task)
    if attachment is not None:
        attachment["status"] = status


def internet_path(account: str, region: str, task) -> str | None:
    """How an awsvpc task reaches a public registry: ``public-ip``, ``nat``, or None.

    A task reaches the internet through the internet gateway only with a public
    IP, or through a NAT gateway without one; the subnet's route table (its own
    association, else the VPC's main table) decides which routes exist.
    """
    config = (getattr(task, "network_configuration", None) or {}).get(
        "awsvpcConfiguration") or {}
    subnets = config.get("subnets") or []
    if not subnets:
        return "public-ip"  # not awsvpc: the host's network, outside this model
    backend = ec2_backend(account, region)
    subnet = backend.get_subnet(subnets[0])
    tables = [t for t in backend.route_tables.values() if t.vpc_id == subnet.vpc_id]
    table = next((t for t in tables
                  if subnets[0] in t._associations.values()), None)
    if table is None:
        table = next((t for t in tables if t.main_association_id), None)
    routes = [r for r in (table.routes if table else [])
              if r.destination_cidr_block == "0.0.0.0/0"]
    if any(r.nat_gateway is not None for r in routes):
        return "nat"
    gateway = any(r.gateway is not None and str(getattr(r.gateway, "id", ""))
                  .startswith("igw-") for r in routes)
    if gateway and str(config.get("assignPublicIp", "DISABLED")) == "ENABLED":
        return "public-ip"
    return None


def name_service_linked_roles_as_aws() -> None:
    """Make CreateServiceLinkedRole name roles as AWS does.

    moto derives ``AWSServiceRoleFor<Service>`` from the service principal and
    knows only a few spellings; without these, ecs.amazonaws.com gets
    ``AWSServiceRoleForecs`` instead of AWS's ``AWSServiceRoleForECS``
    (``DOC_SERVICE_LINKED_ROLES``).
    """
    from moto.iam import models as iam_models

    iam_models.SERVICE_NAME_CONVERSION.setdefault("ecs", "ECS")
    iam_models.SERVICE_NAME_CONVERSION.setdefault("elasticloadbalancing",
                                                  "ElasticLoadBalancing")


def subnet_of(account: str, region: str, subnet_id: str) -> dict:
    """``{"cidr", "availability_zone", "vpc_id"}`` of a subnet."""
    subnet = ec2_backend(account, region).get_subnet(subnet_id)
    return {"cidr": subnet.cidr_block, "availability_zone": subnet.availability_zone,
            "vpc_id": subnet.vpc_id}


def place_task_eni(account: str, region: str, task, rng) -> str | None:
    """Give the task's ENI a free private IP inside its subnet; that IP.

    moto picks ``10.x.y.z`` whatever the subnet. AWS reserves the first four
    addresses and the last one of every subnet
    (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
    Also labels the interface as ECS does: requester-managed, described by the
    attachment ARN.
    """
    import ipaddress

    attachment = task_eni_attachment(task)
    if attachment is None:
        return None
    backend = ec2_backend(account, region)
    eni = backend.get_network_interface(
        attachment_detail(attachment, "networkInterfaceId"))
    network = ipaddress.ip_network(eni.subnet.cidr_block)
    used = {e.private_ip_address for e in backend.enis.values()
            if e is not eni and e.subnet is not None
            and e.subnet.id == eni.subnet.id}

    first, last = int(network.network_address) + 4, int(network.broadcast_address) - 1
    if last - first + 1 <= len(used):
        raise RuntimeError(f"subnet {eni.subnet.id} has no free address")
    while True:
        ip = str(ipaddress.ip_address(rng.randint(first, last)))
        if ip not in used:
            break

    dns = f"ip-{ip.replace('.', '-')}.{region}.compute.internal"
    eni.private_ip_address = ip
    eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": ip,
                                 "PrivateDnsName": dns}]
    eni.private_dns_name = dns
    eni.requester_managed = True
    eni.description = (f"arn:aws:ecs:{region}:{account}:attachment/"
                       f"{attachment['id']}")
    for detail in attachment["details"]:
        if detail["name"] == "privateIPv4Address":
            detail["value"] = ip
        elif detail["name"] == "privateDnsName":
            detail["value"] = dns
    return ip


def delete_task_eni(account: str, region: str, task) -> bool:
    """Delete the task's ENI, as ECS does when the task stops; False if gone."""
    from moto.ec2.exceptions import InvalidNetworkInterfaceIdError

    attachment = task_eni_attachment(task)
    if attachment is None:
        return False
    eni_id = attachment_detail(attachment, "networkInterfaceId")
    try:
        ec2_backend(account, region).delete_network_interface(eni_id)
    except InvalidNetworkInterfaceIdError:
        return False
    return True


def find_task_in_cluster(account: str, region: str, cluster: str, ref: str):
    """The task named by ARN or id in ``cluster`` (name or ARN), or None.

    Raises moto's ClusterNotFoundException when the cluster does not exist.
    """
    backend = ecs_backend(account, region)
    name = backend._get_cluster(cluster).name
    task_id = ref.split("/")[-1]
    for arn, task in backend.tasks.get(name, {}).items():
        if arn == ref or arn.split("/")[-1] == task_id:
            return task
    return None


def set_cluster_counts(account: str, region: str, cluster: str, running: int,
                       pending: int, services: int) -> None:
    """Write a cluster's task and service counts (API_Cluster)."""
    found = ecs_backend(account, region).clusters.get(cluster)
    if found is not None:
        found.running_tasks_count = running
        found.pending_tasks_count = pending
        found.active_services_count = services


def log_group_exists(account: str, region: str, name: str) -> bool:
    return name in logs_backend(account, region).groups


def create_log_group(account: str, region: str, name: str) -> None:
    """Create a log group unless it exists (awslogs-create-group)."""
    if not log_group_exists(account, region, name):
        logs_backend(account, region).create_log_group(name, tags={})


def write_log_events(account: str, region: str, group: str, stream: str,
                     events: list[tuple[int, str]]) -> None:
    """Append ``(timestamp_ms, message)`` events, creating the stream if needed."""
    backend = logs_backend(account, region)
    backend.ensure_log_stream(group, stream)
    backend.put_log_events(group, stream, [
        {"timestamp": ts, "message": message} for ts, message in events])


def find_service(account: str, region: str, cluster: str, name: str):
    """moto's Service ``name`` in ``cluster`` (by name), or None."""
    return ecs_backend(account, region).services.get(f"{cluster}:{name}")


def listed_service_arns(account: str, region: str, cluster: str,
                        arns: list[str]) -> list[str]:
    """Of moto's ListServices answer, the ARNs of ACTIVE services of ``cluster``.

    moto matches the cluster by substring of its ``cluster:service`` keys, so a
    cluster ``lab`` also lists ``mylab``'s services, and it lists deleted ones.
    """
    wanted = set(arns)
    cluster = cluster.split("/")[-1]
    return sorted(s.arn for s in list(ecs_backend(account, region).services.values())
                  if s.arn in wanted and s.cluster_name == cluster
                  and s.status == "ACTIVE")


def set_service(service, **fields) -> None:
    """Write data-plane attributes of a Service (names from ``SERVICE_FIELDS``)."""
    unknown = set(fields) - SERVICE_FIELDS
    if unknown:
        raise KeyError(f"not a data-plane service field: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(service, name, value)


def run_service_tasks(account: str, region: str, service, count: int,
                      started_by: str, task_definition: str,
                      placed: dict[str, int] | None = None) -> list:
    """Start ``count`` tasks for a service, as its scheduler does on AWS.

    Fargate spreads a service's tasks across its subnets' Availability Zones;
    moto puts every task in the first subnet, so each task is started with its
    subnets rotated to put the least used one first. ``placed`` counts the
    service's live tasks per subnet.
    """
    backend = ecs_backend(account, region)
    launch_type = service.launch_type or "FARGATE"
    config = service.network_configuration or None
    subnets = ((config or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
    placed = dict(placed or {})
    tasks = []
    for _ in range(count):
        network = config
        if len(subnets) > 1:
            first = min(subnets, key=lambda s: (placed.get(s, 0), subnets.index(s)))
            placed[first] = placed.get(first, 0) + 1
            rotated = [first] + [s for s in subnets if s != first]
            network = {**config, "awsvpcConfiguration": {
                **config["awsvpcConfiguration"], "subnets": rotated}}
        tasks += backend.run_task(
            service.cluster_name, task_definition, 1, overrides=None,
            started_by=started_by, tags=None, launch_type=launch_type,
            networking_configuration=network, group=f"service:{service.name}",
            platform_version=service.platform_version)
    return tasks


def target_group_of(account: str, region: str, arn: str):
    """moto's target group, or None."""
    return elbv2_backend(account, region).target_groups.get(arn)


def target_group_timing(target_group) -> dict:
    """Seconds a new target takes to turn healthy, and to drain, on AWS.

    A new target is healthy after ``HealthyThresholdCount`` passed checks,
    ``HealthCheckIntervalSeconds`` apart; a deregistered one drains for
    ``deregistration_delay.timeout_seconds`` (``DOC_TARGET_HEALTH_CHECKS``).
    """
    interval = float(target_group.health_check_interval_seconds or 30)
    threshold = int(target_group.healthy_threshold_count or 5)
    delay = float(target_group.attributes.get(
        "deregistration_delay.timeout_seconds", 300))
    return {"healthy_after": interval * threshold, "drain": delay,
            "target_type": target_group.target_type}


def register_target(account: str, region: str, arn: str, target_id: str,
                    port: int) -> None:
    elbv2_backend(account, region).register_targets(
        arn, [{"Id": target_id, "Port": port}])


def deregister_target(account: str, region: str, arn: str, target_id: str,
                      port: int) -> None:
    from moto.elbv2.exceptions import InvalidTargetError, TargetGroupNotFoundError

    try:
        elbv2_backend(account, region).deregister_targets(
            arn, [{"Id": target_id, "Port": port}])
    except (InvalidTargetError, TargetGroupNotFoundError):
        pass  # already gone: the target group was deleted first


# --- Guards: reads of current state for the dependency checks -----------------
#
# Read-only answers for ecslab.rules.Lookup, as plain data. moto's server is
# threaded, so each read iterates over a copy of the dict it walks.


def guard_task_definition(account: str, region: str, ref: str) -> dict | None:
    """The task definition named by family, ``family:revision`` or ARN, or None."""
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[account][region]
    name = ref.split("/")[-1]
    family, _, revision = name.partition(":")
    revisions = dict(backend.task_definitions.get(family) or {})
    if not revisions:
        return None
    if revision:
        definition = revisions.get(int(revision)) if revision.isdigit() else None
    else:
        definition = revisions[max(revisions)]
    if definition is None:
        return None

    return {
        "family": definition.family,
        "networkMode": definition.network_mode,
        "requiresCompatibilities": list(
            getattr(definition, "requires_compatibilities", None) or []),
        "containerDefinitions": [
            {"name": c.get("name"), "portMappings": list(c.get("portMappings") or [])}
            for c in definition.container_definitions
        ],
    }


def guard_target_group(account: str, region: str, arn: str) -> dict | None:
    """``TargetType`` and ``LoadBalancerArns`` of a target group, or None."""
    from moto.elbv2.models import elbv2_backends

    group = dict(elbv2_backends[account][region].target_groups).get(arn)
    if group is None:
        return None
    return {"TargetGroupArn": group.arn, "TargetType": group.target_type,
            "LoadBalancerArns": list(group.load_balancer_arns)}


def guard_subnet_zones(account: str, region: str, subnet_ids: list[str]) -> dict:
    """Availability Zone of each subnet moto knows, by subnet id."""
    from moto.ec2.models import ec2_backends

    zones = {}
    for per_zone in list(ec2_backends[account][region].subnets.values()):
        for subnet_id, subnet in list(per_zone.items()):
            if subnet_id in subnet_ids:
                zones[subnet_id] = subnet.availability_zone
    return zones


def guard_cluster_services(account: str, region: str, cluster: str) -> list[str]:
    """Names of the services in ``cluster`` that are not INACTIVE."""
    from moto.ecs.models import ecs_backends

    services = list(ecs_backends[account][region].services.values())
    return [s.name for s in services
            if s.cluster_name == cluster and s.status != "INACTIVE"]


def guard_service_status(account: str, region: str, cluster: str,
                         name: str) -> str | None:
    """Status of the service ``name`` in ``cluster``: the live one if any."""
    from moto.ecs.models import ecs_backends

    found = [s.status for s in ecs_backends[account][region].services.values()
             if s.cluster_name == cluster and s.name == name]
    if not found:
        return None
    return "ACTIVE" if "ACTIVE" in found else found[-1]


def guard_cluster_tasks(account: str, region: str, cluster: str) -> list[str]:
    """ARNs of the tasks in ``cluster`` whose last status is not STOPPED."""
    from moto.ecs.models import ecs_backends

    tasks = dict(ecs_backends[account][region].tasks.get(cluster) or {})
    return [arn for arn, task in tasks.items() if task.last_status != "STOPPED"]


def guard_security_group_id(account: str, region: str, name: str) -> str | None:
    """Id of the security group called ``name`` (moto's default-VPC lookup)."""
    from moto.ec2.models import ec2_backends

    group = ec2_backends[account][region].get_security_group_from_name(name)
    return group.id if group is not None else None


def guard_security_group_referrers(account: str, region: str,
                                   group_id: str) -> list[str]:
    """Ids of the other security groups with a rule naming ``group_id``."""
    from moto.ec2.models import ec2_backends

    referrers = []
    for per_vpc in list(ec2_backends[account][region].groups.values()):
        for other in list(per_vpc.values()):
            rules = list(other.ingress_rules) + list(other.egress_rules)
            if other.id != group_id and any(
                    (rule.source_group or {}).get("GroupId") == group_id
                    for rule in rules):
                referrers.append(other.id)
    return referrers


def guard_security_group_interfaces(account: str, region: str,
                                    group_id: str) -> list[str]:
    """Network interfaces using ``group_id``; load balancers count as users.

    On AWS a load balancer holds network interfaces in its subnets with its
    security groups; moto creates none, so its load balancers stand in for them.
    """
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends

    users = [eni.id for eni in list(ec2_backends[account][region].enis.values())
             if group_id in {g.id for g in eni.group_set}]
    balancers = list(elbv2_backends[account][region].load_balancers.values())
    users += [lb.arn for lb in balancers if group_id in (lb.security_groups or [])]
    return users


def guard_subnet_interfaces(account: str, region: str, subnet_id: str) -> list[str]:
    """Network interfaces in ``subnet_id``; load balancers count as users."""
    from moto.ec2.models import ec2_backends
    from moto.elbv2.models import elbv2_backends

    users = [eni.id for eni in list(ec2_backends[account][region].enis.values())
             if eni.subnet is not None and eni.subnet.id == subnet_id]
    balancers = list(elbv2_backends[account][region].load_balancers.values())
    users += [lb.arn for lb in balancers
              if subnet_id in {s.id for s in lb.subnets or []}]
    return users


def guard_role_named(account: str, name: str) -> str | None:
    """The IAM role whose name equals ``name`` ignoring case, or None."""
    from moto.iam.models import iam_backends

    wanted = name.lower()
    for role in list(iam_backends[account]["aws"].roles.values()):
        if role.name.lower() == wanted:
            return role.name
    return None
