"""The only module that reads or writes moto's in-process models.

Everything else in the emulator goes through these functions, so a moto upgrade
touches this file alone, and tests/test_moto_adapter.py says at once what changed.
moto is pinned to an exact version in requirements.lock.
"""

from __future__ import annotations

# --- Data plane: tasks, services, network interfaces, targets, logs ----------


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
