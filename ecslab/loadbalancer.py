"""Elastic Load Balancing: the Application Load Balancer, its target group and
listener that put an ECS service behind one DNS name."""

from __future__ import annotations

import logging

from botocore.exceptions import ClientError

from .aws import as_dict, carries, error_code

log = logging.getLogger(__name__)

DEREGISTRATION_DELAY = 30  # seconds a stopping task's target drains


def _tags(tags: dict) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _owned(elbv2, arn: str, tags: dict, what: str, name: str) -> None:
    described = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
    if not carries(as_dict(described[0].get("Tags")), tags):
        raise RuntimeError(f"{what} {name} exists but was not made by this lab "
                           "(its tags differ); choose another prefix")


def ensure_load_balancer(elbv2, name: str, subnets: list[str], security_group: str,
                         tags: dict) -> dict:
    """An internet-facing Application Load Balancer in ``subnets`` (two AZs)."""
    try:
        balancer = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        _owned(elbv2, balancer["LoadBalancerArn"], tags, "load balancer", name)
        return balancer
    except ClientError as error:
        if error_code(error) != "LoadBalancerNotFound":
            raise

    balancer = elbv2.create_load_balancer(
        Name=name, Subnets=subnets, SecurityGroups=[security_group],
        Scheme="internet-facing", Type="application", IpAddressType="ipv4",
        Tags=_tags(tags))["LoadBalancers"][0]
    log.info("created load balancer %s", name)
    return balancer


def ensure_target_group(elbv2, name: str, vpc_id: str, port: int,
                        tags: dict) -> dict:
    """An ``ip`` target group (awsvpc tasks register by IP) checking ``/``."""
    try:
        group = elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]
        _owned(elbv2, group["TargetGroupArn"], tags, "target group", name)
        return group
    except ClientError as error:
        if error_code(error) != "TargetGroupNotFound":
            raise

    group = elbv2.create_target_group(
        Name=name, Protocol="HTTP", Port=port, VpcId=vpc_id, TargetType="ip",
        HealthCheckProtocol="HTTP", HealthCheckPath="/",
        HealthCheckIntervalSeconds=30, HealthyThresholdCount=2,
        UnhealthyThresholdCount=2, Matcher={"HttpCode": "200"},
        Tags=_tags(tags))["TargetGroups"][0]
    # A deregistered target drains for 300 s by default; a lab's tasks hold no
    # long connections, so 30 s keeps scale-in and teardown quick.
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html
    elbv2.modify_target_group_attributes(
        TargetGroupArn=group["TargetGroupArn"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds",
                     "Value": str(DEREGISTRATION_DELAY)}])
    log.info("created target group %s", name)
    return group


def ensure_listener(elbv2, balancer_arn: str, target_group_arn: str,
                    port: int = 80) -> str:
    """An HTTP listener on ``port`` forwarding to the target group."""
    for listener in elbv2.describe_listeners(
            LoadBalancerArn=balancer_arn)["Listeners"]:
        if listener["Port"] == port:
            return listener["ListenerArn"]

    arn = elbv2.create_listener(
        LoadBalancerArn=balancer_arn, Protocol="HTTP", Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group_arn}],
    )["Listeners"][0]["ListenerArn"]
    log.info("created listener HTTP:%d", port)
    return arn


def target_health(elbv2, target_group_arn: str) -> list[dict]:
    """Each registered target: id, port and health state."""
    described = elbv2.describe_target_health(TargetGroupArn=target_group_arn)
    return [{"target": d["Target"]["Id"], "port": d["Target"].get("Port"),
             "health": d["TargetHealth"]["State"],
             "reason": d["TargetHealth"].get("Reason", "")}
            for d in described["TargetHealthDescriptions"]]
