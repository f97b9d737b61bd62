"""IAM: the roles ECS needs before a task or service can start.

- AmazonECSTaskRole: the permissions the containers use to call AWS.
- AmazonECSTaskExecutionRole: the permissions ECS uses to start the task (pull the
  image, write logs), through the managed AmazonECSTaskExecutionRolePolicy.
- AmazonECSServiceRole: for services that register EC2 instances with a load
  balancer; an awsvpc (Fargate) service uses the service-linked role
  AWSServiceRoleForECS instead.
"""

from __future__ import annotations

import json
import logging

from botocore.exceptions import ClientError

from . import spec as S
from .aws import as_dict, carries, error_code

log = logging.getLogger(__name__)

# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
TASKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow",
                   "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
# The (legacy) service role is assumed by ECS itself.
SERVICE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow",
                   "Principal": {"Service": "ecs.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
SERVICE_ROLE_POLICY_ARN = (
    "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceRole"
)

ROLES = {
    S.TASK_ROLE: {"trust": TASKS_TRUST, "policies": [],
                  "purpose": "permissions the containers use to call AWS"},
    S.TASK_EXECUTION_ROLE: {"trust": TASKS_TRUST,
                            "policies": [S.EXECUTION_POLICY_ARN],
                            "purpose": "ECS pulls the image and writes logs with it"},
    S.SERVICE_ROLE: {"trust": SERVICE_TRUST, "policies": [SERVICE_ROLE_POLICY_ARN],
                     "purpose": "ECS registers EC2 instances with a load balancer "
                                "(not used by awsvpc/Fargate services)"},
}


def ensure_role(iam, name: str, tags: dict[str, str]) -> dict:
    """Find the role ``name`` or create it with its trust policy and policies.

    Returns a record: role, arn, status (``found`` or ``created``), policies,
    missing, purpose. A role this lab made gets any missing managed policy
    attached (a re-run after a crash finishes the job). A role it found but did
    not make is never changed: what it lacks is logged and listed in
    ``missing``, for its owner to decide.
    """
    wanted = ROLES[name]
    try:
        role = iam.get_role(RoleName=name)["Role"]
        status = "found"
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(wanted["trust"]),
            Description=f"ecslab: {wanted['purpose']}",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["Role"]
        status = "created"
        log.info("created IAM role %s", name)

    # The same rule on both targets, so the emulator shows what AWS will do: on
    # a real account the role may be shared with other workloads.
    ours = status == "created" or carries(role_tags(iam, name), tags)
    attached = {p["PolicyArn"] for p in
                iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
    missing = [arn for arn in wanted["policies"] if arn not in attached]
    if ours:
        for arn in missing:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
            attached.add(arn)
            log.info("attached %s to %s", _short(arn), name)
        missing = []
    elif missing:
        log.warning("IAM role %s was not made by this lab, so it is left as it is; "
                    "it lacks %s (attach it yourself if the role is meant for "
                    "ECS tasks)", name, ", ".join(_short(a) for a in missing))

    return {"role": name, "arn": role["Arn"], "status": status,
            "policies": ", ".join(sorted(_short(a) for a in attached)) or "(none)",
            "missing": ", ".join(_short(a) for a in missing),
            "purpose": wanted["purpose"]}


def _short(policy_arn: str) -> str:
    return policy_arn.rsplit("/", 1)[-1]


def ensure_service_linked_role(iam) -> dict:
    """Make sure AWSServiceRoleForECS exists: awsvpc services act through it."""
    try:
        role = iam.get_role(RoleName=S.SERVICE_LINKED_ROLE)["Role"]
        status = "found"
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        role = iam.create_service_linked_role(
            AWSServiceName="ecs.amazonaws.com")["Role"]
        status = "created"
        log.info("created service-linked role %s", role["RoleName"])
    return {"role": role["RoleName"], "arn": role["Arn"], "status": status,
            "policies": "AmazonECSServiceRolePolicy", "missing": "",
            "purpose": "ECS manages networking and load balancer targets for "
                       "awsvpc services with it"}


def role_tags(iam, name: str) -> dict[str, str]:
    try:
        return as_dict(iam.list_role_tags(RoleName=name)["Tags"])
    except ClientError as error:
        if error_code(error) == "NoSuchEntity":
            return {}
        raise


def delete_role(iam, name: str) -> None:
    """Detach managed policies, delete inline ones, then the role itself."""
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    iam.delete_role(RoleName=name)
    log.info("deleted IAM role %s", name)
