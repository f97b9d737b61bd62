""""Check your work": one verdict per lab step, read back from the AWS APIs.

A passing check returns a ``Check`` that notebooks display as a green line; a
failing one raises ``AssertionError`` whose message says what is wrong and how to
fix it, so a notebook run (and nbval) stops at the step that did not work.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import logs as log_steps
from .aws import tag_filters
from .spec import EXECUTION_POLICY_ARN, TASK_EXECUTION_ROLE, TASK_ROLE


@dataclass
class Check:
    step: str
    ok: bool
    message: str
    details: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        mark = "OK " if self.ok else "FAILED "
        lines = [f"{mark}{self.step}: {self.message}"]
        lines += [f"  - {d}" for d in self.details]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#cf222e"
        mark = "&#10004;" if self.ok else "&#10008;"
        items = "".join(f"<li>{html.escape(d)}</li>" for d in self.details)
        return (f'<div style="color:{colour}"><b>{mark} {html.escape(self.step)}'
                f"</b>: {html.escape(self.message)}<ul>{items}</ul></div>")


def _need(condition: bool, step: str, problem: str) -> None:
    if not condition:
        raise AssertionError(f"{step}: {problem}")


def _one(items: list, step: str, what: str) -> dict:
    _need(len(items) == 1, step,
          f"expected exactly one {what}, found {len(items)}; run the step's cell "
          "again (it is safe to repeat)")
    return items[0]


def run_check(lab, step: str) -> Check:
    checks = {
        "roles": _roles, "vpc": _vpc, "subnet": _subnet,
        "internet_gateway": _internet_gateway, "route_table": _route_table,
        "security_group": _security_group, "cluster": _cluster,
        "log_group": _log_group, "task_definition": _task_definition,
        "run_task_params": _run_task_params, "task": _task, "logs": _logs,
        "teardown": _teardown,
        "service_roles": _service_roles, "subnets": _subnets,
        "lb_security_group": _lb_security_group,
        "task_security_group": _task_security_group,
        "load_balancer": _load_balancer, "target_group": _target_group,
        "listener": _listener, "service_task_definition": _service_task_definition,
        "service": _service,
    }
    if step not in checks:
        raise ValueError(f"unknown step {step!r}; one of {sorted(checks)}")
    return checks[step](lab)


def _ec2_named(lab, kind: str, name: str) -> list[dict]:
    ec2 = lab.client("ec2")
    filters = tag_filters({**lab.spec.tags(), "Name": name})
    call, key = {
        "vpc": (ec2.describe_vpcs, "Vpcs"),
        "subnet": (ec2.describe_subnets, "Subnets"),
        "igw": (ec2.describe_internet_gateways, "InternetGateways"),
        "rtb": (ec2.describe_route_tables, "RouteTables"),
        "sg": (ec2.describe_security_groups, "SecurityGroups"),
    }[kind]
    return call(Filters=filters)[key]


def _roles(lab) -> Check:
    iam = lab.client("iam")
    details = []
    for name in (TASK_ROLE, TASK_EXECUTION_ROLE):
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            raise AssertionError(f"roles: {name} does not exist; run "
                                 "lab.ensure_task_roles()") from None
        trust = role["AssumeRolePolicyDocument"]
        if isinstance(trust, str):
            trust = json.loads(trust)
        principals = json.dumps(trust)
        _need("ecs-tasks.amazonaws.com" in principals, "roles",
              f"{name} must trust ecs-tasks.amazonaws.com")
        details.append(f"{name} trusts ecs-tasks.amazonaws.com")
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(
        RoleName=TASK_EXECUTION_ROLE)["AttachedPolicies"]]
    _need(EXECUTION_POLICY_ARN in attached, "roles",
          f"{TASK_EXECUTION_ROLE} lacks AmazonECSTaskExecutionRolePolicy")
    details.append(f"{TASK_EXECUTION_ROLE} has AmazonECSTaskExecutionRolePolicy")
    return Check("roles", True, "both task roles are ready", details)


def _vpc(lab) -> Check:
    vpc = _one(_ec2_named(lab, "vpc", lab.spec.vpc_name), "vpc", "tagged VPC")
    ec2 = lab.client("ec2")
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        value = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attribute)
        key = attribute[0].upper() + attribute[1:]
        _need(value[key]["Value"], "vpc", f"{attribute} is off")
    return Check("vpc", True, f"{lab.spec.vpc_name} ({vpc['VpcId']}, "
                 f"{vpc['CidrBlock']}) has DNS support and DNS hostnames on")


def _subnet(lab) -> Check:
    subnet = _one(_ec2_named(lab, "subnet", lab.spec.subnet_name), "subnet",
                  "tagged subnet")
    return Check("subnet", True, f"{lab.spec.subnet_name} ({subnet['SubnetId']}, "
                 f"{subnet['CidrBlock']}) in {subnet['AvailabilityZone']}")


def _internet_gateway(lab) -> Check:
    igw = _one(_ec2_named(lab, "igw", lab.spec.internet_gateway_name),
               "internet_gateway", "tagged internet gateway")
    vpc = _one(_ec2_named(lab, "vpc", lab.spec.vpc_name), "internet_gateway", "VPC")
    attached = [a["VpcId"] for a in igw.get("Attachments", [])]
    _need(vpc["VpcId"] in attached, "internet_gateway",
          "the gateway is not attached to the VPC")
    return Check("internet_gateway", True,
                 f"{igw['InternetGatewayId']} is attached to {vpc['VpcId']}")


def _internet_route(lab, step: str, again: str) -> tuple[dict, str]:
    """The lab's route table and its gateway, once 0.0.0.0/0 is seen to go to
    the lab's internet gateway (what makes a subnet public); ``again`` is the
    call that adds a missing route."""
    spec = lab.spec
    table = _one(_ec2_named(lab, "rtb", spec.route_table_name), step,
                 f"route table {spec.route_table_name}")
    igw = _one(_ec2_named(lab, "igw", spec.internet_gateway_name), step,
               f"internet gateway {spec.internet_gateway_name}")
    igw_id = igw["InternetGatewayId"]
    default = [r for r in table.get("Routes", [])
               if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    _need(bool(default), step,
          f"{spec.route_table_name} has no route 0.0.0.0/0, so its subnets are "
          f"not public: nothing in them reaches the internet; run {again} "
          "(it adds the route)")
    target = (default[0].get("GatewayId") or default[0].get("NatGatewayId")
              or default[0].get("NetworkInterfaceId") or "nowhere")
    _need(target == igw_id, step,
          f"{spec.route_table_name} sends 0.0.0.0/0 to {target}, not to the "
          f"lab's internet gateway {igw_id}; delete that route and run {again}")
    # A route whose gateway was detached or deleted stays, as a blackhole.
    # https://docs.aws.amazon.com/vpc/latest/userguide/RouteTables.html
    _need(default[0].get("State", "active") == "active", step,
          f"the route 0.0.0.0/0 -> {igw_id} is {default[0].get('State')}: the "
          "gateway is detached or gone; run lab.create_internet_gateway()")
    return table, igw_id


def _route_table(lab) -> Check:
    table, igw_id = _internet_route(lab, "route_table",
                                    "lab.create_route_table()")
    subnet = _one(_ec2_named(lab, "subnet", lab.spec.subnet_name), "route_table",
                  "subnet")
    associated = [a.get("SubnetId") for a in table.get("Associations", [])]
    _need(subnet["SubnetId"] in associated, "route_table",
          "the public subnet is not associated with the route table")
    return Check("route_table", True, f"0.0.0.0/0 -> {igw_id}, "
                 f"associated with {subnet['SubnetId']}")


def _security_group(lab) -> Check:
    group = _one(_ec2_named(lab, "sg", lab.spec.security_group_name),
                 "security_group", "tagged security group")
    egress = group.get("IpPermissionsEgress", [])
    _need(any(p.get("IpProtocol") == "-1" for p in egress), "security_group",
          "no outbound rule: the task could not pull its image")
    return Check("security_group", True, f"{group['GroupName']} ({group['GroupId']})"
                 f": {len(group.get('IpPermissions', []))} inbound rule(s), "
                 "all outbound traffic allowed")


def _cluster(lab) -> Check:
    from .cluster import find_cluster

    cluster = find_cluster(lab.client("ecs"), lab.spec.cluster_name)
    _need(cluster is not None, "cluster", f"{lab.spec.cluster_name} is not ACTIVE")
    settings = {s["name"]: s["value"] for s in cluster.get("settings", [])}
    _need(settings.get("containerInsights") == "enabled", "cluster",
          "Container Insights is not enabled")
    return Check("cluster", True, f"{cluster['clusterName']} is ACTIVE with "
                 "Container Insights enabled")


def _log_group(lab) -> Check:
    group = log_steps.find_log_group(lab.client("logs"), lab.spec.log_group_name)
    _need(group is not None, "log_group", f"{lab.spec.log_group_name} is missing")
    return Check("log_group", True, f"{group['logGroupName']} exists (retention "
                 f"{group.get('retentionInDays', 'never expires')} days)")


def _fargate_container(lab, step: str, family: str, name: str, image: str,
                       fix: str, named_by: str = "") -> tuple[dict, dict, str]:
    """The newest revision of ``family`` once it is seen fit for Fargate, and
    its container ``name`` running ``image`` with awslogs to the lab's group:
    ``(definition, container, revision)``. What both labs' checks share."""
    definition = lab.client("ecs").describe_task_definition(
        taskDefinition=family)["taskDefinition"]
    revision = f"{definition['family']}:{definition['revision']}"
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
    _need("FARGATE" in definition.get("requiresCompatibilities", []), step,
          f"{revision} is not marked compatible with FARGATE "
          f"({definition.get('requiresCompatibilities', [])}): it cannot run "
          f"on Fargate; {fix}")
    _need(definition.get("networkMode") == "awsvpc", step,
          f"{revision} has network mode {definition.get('networkMode')}; Fargate "
          f"needs awsvpc; {fix}")

    containers = {c["name"]: c for c in definition["containerDefinitions"]}
    _need(name in containers, step,
          f"{revision} has no container named {name} (it has "
          f"{sorted(containers)}){named_by}; {fix}")
    container = containers[name]
    _need(container["image"] == image, step,
          f"the container runs {container['image']}, not {image}; {fix}")
    log_config = container.get("logConfiguration", {})
    _need(log_config.get("logDriver") == "awslogs", step,
          f"the container's log driver is {log_config.get('logDriver')}, not "
          f"awslogs: its output would not reach CloudWatch Logs; {fix}")
    group = log_config.get("options", {}).get("awslogs-group")
    _need(group == lab.spec.log_group_name, step,
          f"the container logs to {group}, not to {lab.spec.log_group_name}; "
          f"{fix}")
    return definition, container, revision


def _task_definition(lab) -> Check:
    spec, step = lab.spec, "task_definition"
    fix = "run lab.register_task_definition() for a new revision"
    definition, container, revision = _fargate_container(
        lab, step, spec.task_family, spec.task_container_name, spec.task_image, fix)

    size = (definition.get("cpu"), definition.get("memory"))
    _need(size == (spec.task_cpu, spec.task_memory), step,
          f"{revision} asks for {size[0]} CPU units / {size[1]} MiB, not the "
          f"lab's {spec.task_cpu} / {spec.task_memory}; {fix}")

    # Without these roles the task cannot pull its image or write its logs
    # (execution role), and its code has no AWS identity (task role).
    for key, role in (("executionRoleArn", TASK_EXECUTION_ROLE),
                      ("taskRoleArn", TASK_ROLE)):
        arn = definition.get(key) or ""
        _need(arn.endswith(f":role/{role}"), step,
              f"{revision}'s {key} is {arn or 'missing'}, not {role}; {fix}")
    return Check(step, True, f"{revision} — Fargate, awsvpc, {size[0]} CPU / "
                 f"{size[1]} MiB, image {container['image']}, awslogs to "
                 f"{spec.log_group_name}")


def _run_task_params(lab) -> Check:
    from .task import load_run_task_params

    step = "run_task_params"
    params = load_run_task_params(Path("runtask_params.json"))
    net = params.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    fix = "run lab.write_run_task_params() again"
    _need(params.get("cluster") == lab.spec.cluster_name, step,
          f"cluster is {params.get('cluster')}, not {lab.spec.cluster_name}; {fix}")
    _need(bool(net.get("subnets")) and bool(net.get("securityGroups")), step,
          f"networkConfiguration.awsvpcConfiguration needs subnets and security "
          f"groups: an awsvpc task cannot start without them; {fix}")
    # In a public subnet with no NAT gateway, only a public IP lets the task
    # reach the public registry; without one the image pull fails.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html
    _need(net.get("assignPublicIp") == "ENABLED", step,
          f"assignPublicIp is {net.get('assignPublicIp', 'missing')}: with no "
          "public IP and no NAT the task cannot pull its image; set it to "
          f"ENABLED or {fix}")
    return Check(step, True, "runtask_params.json is valid for RunTask",
                 [f"cluster {params['cluster']}",
                  f"task definition {params['taskDefinition']}",
                  f"subnets {net['subnets']}, security groups "
                  f"{net['securityGroups']}, public IP {net['assignPublicIp']}"])


def _task(lab) -> Check:
    summary = lab.describe_task()
    _need(summary["lastStatus"] == "STOPPED", "task",
          f"the task is {summary['lastStatus']}, not STOPPED yet")
    _need(summary["exitCode"] == 0, "task",
          f"the container exited with {summary['exitCode']}: "
          f"{summary['stoppedReason']}")
    return Check("task", True, f"task {summary['task']} ran once and stopped: exit "
                 f"code 0, stop code {summary['stopCode']}")


def _logs(lab) -> Check:
    events = lab.task_logs()
    _need(len(events) > 0, "logs", "the task's log stream has no events")
    return Check("logs", True, f"{len(events)} log event(s) in "
                 f"{lab.spec.log_group_name}")


def _teardown(lab) -> Check:
    remaining = lab.inventory()
    _need(len(remaining) == 0, "teardown",
          f"{len(remaining)} resource(s) remain: "
          + ", ".join(f"{r.resource} {r.name}" for r in remaining.itertuples()))
    return Check("teardown", True, "nothing of this lab remains")


def _service_roles(lab) -> Check:
    from .spec import SERVICE_LINKED_ROLE, SERVICE_ROLE

    iam = lab.client("iam")
    details = []
    for name in (TASK_ROLE, TASK_EXECUTION_ROLE, SERVICE_ROLE, SERVICE_LINKED_ROLE):
        try:
            iam.get_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            raise AssertionError(f"service_roles: {name} does not exist; run "
                                 "lab.ensure_service_roles()") from None
        details.append(f"{name} exists")
    return Check("service_roles", True, "the roles a service needs exist", details)


def _subnets(lab) -> Check:
    zones, ids = {}, {}
    for name in lab.spec.subnet_names():
        subnet = _one(_ec2_named(lab, "subnet", name), "subnets", f"subnet {name}")
        zones[name], ids[name] = subnet["AvailabilityZone"], subnet["SubnetId"]
    _need(len(set(zones.values())) >= 2, "subnets",
          "the subnets share one Availability Zone; a load balancer needs two")
    table, igw_id = _internet_route(lab, "subnets",
                                    "lab.create_service_network()")
    associated = {a.get("SubnetId") for a in table.get("Associations", [])}
    loose = [name for name, subnet_id in ids.items() if subnet_id not in associated]
    _need(not loose, "subnets",
          f"{', '.join(loose)} not associated with {lab.spec.route_table_name}, "
          "so not public; run lab.create_service_network()")
    return Check("subnets", True, f"{len(zones)} public subnets in "
                 f"{len(set(zones.values()))} Availability Zones, 0.0.0.0/0 -> "
                 f"{igw_id}", [f"{n}: {z}" for n, z in zones.items()])


def _lb_security_group(lab) -> Check:
    group = _one(_ec2_named(lab, "sg", lab.spec.lb_security_group_name),
                 "lb_security_group", "load balancer security group")
    port = lab.spec.container_port
    _need(any(p.get("FromPort") == port and any(r["CidrIp"] == "0.0.0.0/0"
                                                for r in p.get("IpRanges", []))
              for p in group.get("IpPermissions", [])), "lb_security_group",
          f"port {port} is not open to 0.0.0.0/0")
    return Check("lb_security_group", True,
                 f"{group['GroupName']} admits HTTP:{port} from anywhere")


def _task_security_group(lab) -> Check:
    alb = _one(_ec2_named(lab, "sg", lab.spec.lb_security_group_name),
               "task_security_group", "load balancer security group")
    group = _one(_ec2_named(lab, "sg", lab.spec.security_group_name),
                 "task_security_group", "task security group")
    rules = group.get("IpPermissions", [])
    _need(any(g["GroupId"] == alb["GroupId"] for p in rules
              for g in p.get("UserIdGroupPairs", [])), "task_security_group",
          "the task group does not admit traffic from the load balancer group")
    _need(not any(p.get("IpRanges") for p in rules), "task_security_group",
          "the task group admits traffic from an address range, not only from "
          "the load balancer")
    return Check("task_security_group", True, f"{group['GroupName']} admits port "
                 f"{lab.spec.container_port} only from {alb['GroupName']}")


def _load_balancer(lab) -> Check:
    elbv2 = lab.client("elbv2")
    name = lab.spec.load_balancer_name
    found = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
    balancer = _one(found, "load_balancer", f"load balancer {name}")
    zones = {z["ZoneName"] for z in balancer["AvailabilityZones"]}
    _need(len(zones) >= 2, "load_balancer", "it spans fewer than two zones")
    return Check("load_balancer", True, f"{name} is {balancer['State']['Code']} in "
                 f"{len(zones)} zones", [f"DNS name {balancer['DNSName']}"])


def _lab_target_group(lab, step: str) -> dict:
    elbv2 = lab.client("elbv2")
    name = lab.spec.target_group_name
    try:
        found = elbv2.describe_target_groups(Names=[name])["TargetGroups"]
    except elbv2.exceptions.TargetGroupNotFoundException:
        found = []
    _need(bool(found), step, f"target group {name} does not exist; run "
          "lab.create_target_group()")
    return found[0]


def _target_group(lab) -> Check:
    group = _lab_target_group(lab, "target_group")
    name, port = group["TargetGroupName"], lab.spec.container_port
    remake = (f"delete {name} (nothing may use it) and run "
              "lab.create_target_group()")
    # An awsvpc task registers by its IP address, never as an instance.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html
    _need(group["TargetType"] == "ip", "target_group",
          f"target type is {group['TargetType']}; awsvpc (Fargate) tasks register "
          f"by IP, so it must be 'ip' (it cannot be changed: {remake})")
    _need((group["Protocol"], group["Port"]) == ("HTTP", port), "target_group",
          f"it sends {group['Protocol']}:{group['Port']} to its targets; httpd "
          f"listens on HTTP:{port} ({remake})")
    path = group.get("HealthCheckPath")
    _need(path == "/", "target_group",
          f"the health check asks for {path!r}, not '/': httpd serves its page "
          "on '/' only, so every task would turn unhealthy and be replaced; "
          f"modify_target_group(HealthCheckPath='/') fixes it")
    return Check("target_group", True, f"{name}: target type ip, HTTP:"
                 f"{group['Port']}, health check {path}")


def _forwards_to(action: dict) -> list[str]:
    """The target groups a listener action sends requests to."""
    arns = [g["TargetGroupArn"] for g in
            action.get("ForwardConfig", {}).get("TargetGroups", [])]
    single = action.get("TargetGroupArn")
    return arns if arns else ([single] if single else [])


def _listener(lab) -> Check:
    elbv2 = lab.client("elbv2")
    name, port = lab.spec.load_balancer_name, lab.spec.container_port
    try:
        balancer = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except elbv2.exceptions.LoadBalancerNotFoundException:
        raise AssertionError(f"listener: load balancer {name} does not exist; run "
                             "lab.create_load_balancer()") from None
    listeners = elbv2.describe_listeners(
        LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    on_port = [x for x in listeners if x["Port"] == port]
    present = ", ".join(f"{x['Protocol']}:{x['Port']}" for x in listeners)
    _need(bool(on_port), "listener",
          f"{name} has no listener on port {port} (it has {present or 'none'}); "
          "run lab.create_listener()")
    listener = on_port[0]
    _need(listener["Protocol"] == "HTTP", "listener",
          f"the listener on port {port} speaks {listener['Protocol']}, not HTTP")

    group = _lab_target_group(lab, "listener")
    action = listener["DefaultActions"][0]
    _need(action["Type"] == "forward", "listener",
          f"its default action is {action['Type']}, not forward: no request "
          f"reaches the tasks; modify_listener to forward to "
          f"{group['TargetGroupName']}")
    _need(_forwards_to(action) == [group["TargetGroupArn"]], "listener",
          f"it forwards to {[a.rsplit('/', 2)[-2] for a in _forwards_to(action)]}, "
          f"not to the lab's target group {group['TargetGroupName']}, where the "
          "service registers its tasks")
    return Check("listener", True, f"HTTP:{port} forwards to "
                 f"{group['TargetGroupName']}")


def _service_task_definition(lab) -> Check:
    spec, step = lab.spec, "service_task_definition"
    fix = "run lab.register_service_task_definition() for a new revision"
    _, container, revision = _fargate_container(
        lab, step, spec.service_family, spec.service_container_name,
        spec.service_image, fix,
        named_by=", which the service's load balancer entry names")

    ports = [p["containerPort"] for p in container.get("portMappings", [])]
    _need(spec.container_port in ports, step,
          f"the container does not map port {spec.container_port}; {fix}")
    return Check(step, True, f"{revision} — Fargate, awsvpc, {container['image']} "
                 f"on port {spec.container_port}, awslogs to {spec.log_group_name}")


def _service(lab) -> Check:
    service = lab.service()

    # How the service is made first: no wait fixes these.
    _need(not service.get("roleArn"), "service",
          "an awsvpc service must not have a role")
    _need(service.get("launchType") == "FARGATE", "service",
          f"its launch type is {service.get('launchType')}, not FARGATE")
    network = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    # The lab's subnets have no NAT gateway: a task needs a public IP to pull
    # httpd from the public registry.
    _need(network.get("assignPublicIp") == "ENABLED", "service",
          f"assignPublicIp is {network.get('assignPublicIp', 'missing')}: its "
          "tasks could not pull the image on AWS; delete the service and run "
          "lab.create_service() again")
    _need(_serves_target_group(lab, service), "service",
          f"it is not attached to {lab.spec.target_group_name} with container "
          f"{lab.spec.service_container_name} on port {lab.spec.container_port}, "
          "so the load balancer never reaches its tasks; delete the service and "
          "run lab.create_service() again")

    _need(service["runningCount"] == service["desiredCount"], "service",
          f"{service['runningCount']} of {service['desiredCount']} tasks run; "
          "wait for a steady state")
    targets = lab.targets()
    healthy = int((targets["health"] == "healthy").sum()) if len(targets) else 0
    _need(healthy == service["desiredCount"], "service",
          f"{healthy} healthy target(s), expected {service['desiredCount']}")
    return Check("service", True, f"{service['serviceName']}: "
                 f"{service['runningCount']}/{service['desiredCount']} running, "
                 f"{healthy} healthy target(s)")


def _serves_target_group(lab, service: dict) -> bool:
    spec = lab.spec
    wanted = (spec.target_group_name, spec.service_container_name,
              spec.container_port)
    # A target group ARN ends in targetgroup/<name>/<id>.
    attached = [((b.get("targetGroupArn") or "//").split("/")[-2],
                 b.get("containerName"), b.get("containerPort"))
                for b in service.get("loadBalancers", [])]
    return wanted in attached


__all__ = ["Check", "run_check"]
