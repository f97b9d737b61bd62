"""What a lab builds, as data: names, CIDRs, images, sizes and counts.

The library builds from a ``LabSpec`` and the diagrams draw from the same one, so
changing a setting here changes both. Names follow ``<prefix>_<thing>``; where
AWS forbids a character the name is derived, and ``derived_names`` says why.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

LAB_TAG = "ecslab:lab"  # value: "ecslab"; marks everything this course made
PREFIX_TAG = "ecslab:prefix"  # value: the learner's prefix
LAB_TAG_VALUE = "ecslab"

TASK_IMAGE = "public.ecr.aws/docker/library/hello-world:latest"
SERVICE_IMAGE = "public.ecr.aws/docker/library/httpd:latest"

TASK_ROLE = "AmazonECSTaskRole"
TASK_EXECUTION_ROLE = "AmazonECSTaskExecutionRole"
SERVICE_ROLE = "AmazonECSServiceRole"
SERVICE_LINKED_ROLE = "AWSServiceRoleForECS"
EXECUTION_POLICY_ARN = (
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
)

# The longest suffix appended for a load balancer or target group name ("-alb",
# "-tg"); both names are limited to 32 characters.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
ELB_NAME_LIMIT = 32
_ELB_SUFFIXES = ("-alb", "-tg")
MAX_PREFIX = ELB_NAME_LIMIT - max(len(s) for s in _ELB_SUFFIXES)

_PREFIX_RULE = re.compile(r"[a-z][a-z0-9_-]*")


def validate_prefix(prefix: object) -> str:
    """Return ``prefix`` if every name derived from it is legal on AWS.

    Raises ``ValueError`` naming the rule that fails, before any AWS call.
    """
    if not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, not {type(prefix).__name__}")
    if prefix == "":
        raise ValueError("prefix must not be empty: every resource name starts "
                         "with it")
    if any(c.isspace() for c in prefix):
        raise ValueError(f"prefix {prefix!r} contains whitespace: AWS names allow "
                         "letters, numbers, hyphens and underscores only")
    if any(c in prefix for c in "/\\.:"):
        raise ValueError(f"prefix {prefix!r} contains a path character (/ \\ . :): "
                         "ECS names allow letters, numbers, hyphens and "
                         "underscores only")
    if prefix != prefix.lower():
        raise ValueError(f"prefix {prefix!r} has upper case letters: the ECR "
                         "repository name derived from it must be lower case")
    if not _PREFIX_RULE.fullmatch(prefix):
        raise ValueError(f"prefix {prefix!r} must start with a letter and use only "
                         "a-z, 0-9, '-' and '_'")
    if prefix[-1] in "-_":
        raise ValueError(f"prefix {prefix!r} ends with {prefix[-1]!r}: the derived "
                         f"target group name '{prefix.replace('_', '-')}-tg' would "
                         "hold '--', which AWS refuses")
    if re.search(r"[-_]{2}", prefix):
        raise ValueError(f"prefix {prefix!r} has two separators in a row: the "
                         "derived target group name would hold '--', which AWS "
                         "refuses")
    if prefix == "internal" or prefix.replace("_", "-").startswith("internal-"):
        raise ValueError(f"prefix {prefix!r} starts with 'internal': a load balancer "
                         "name must not start with 'internal-'")
    if len(prefix) > MAX_PREFIX:
        raise ValueError(f"prefix {prefix!r} is {len(prefix)} characters; at most "
                         f"{MAX_PREFIX}, so that the load balancer name "
                         f"'{prefix.replace('_', '-')}-alb' fits AWS's "
                         f"{ELB_NAME_LIMIT}-character limit")
    return prefix


@dataclass(frozen=True)
class LabSpec:
    """The description of one learner's lab."""

    prefix: str
    region: str = "ap-northeast-1"
    vpc_cidr: str = "10.0.0.0/16"
    subnet_cidrs: tuple[str, ...] = ("10.0.1.0/24", "10.0.2.0/24")
    task_image: str = TASK_IMAGE
    service_image: str = SERVICE_IMAGE
    task_cpu: str = "256"
    task_memory: str = "512"
    desired_count: int = 3
    container_port: int = 80
    log_stream_prefix: str = "ecs"
    extra_tags: dict = field(default_factory=dict)

    def __post_init__(self):
        validate_prefix(self.prefix)
        network = ipaddress.ip_network(self.vpc_cidr)
        if len(self.subnet_cidrs) < 2:
            raise ValueError("subnet_cidrs needs two CIDRs: a load balancer "
                             "needs subnets in two Availability Zones")
        for cidr in self.subnet_cidrs:
            if not ipaddress.ip_network(cidr).subnet_of(network):
                raise ValueError(f"subnet CIDR {cidr} is not inside the VPC "
                                 f"CIDR {self.vpc_cidr}")
        if self.desired_count < 0:
            raise ValueError("desired_count must be >= 0")

    # Names: the course's `<prefix>_<thing>` pattern.
    def _name(self, thing: str) -> str:
        return f"{self.prefix}_{thing}"

    @property
    def vpc_name(self) -> str:
        return self._name("vpc")

    @property
    def subnet_name(self) -> str:
        return self._name("public_subnet")

    def subnet_names(self) -> list[str]:
        """The task lab uses the first; the service lab adds a second AZ."""
        more = range(1, len(self.subnet_cidrs))
        return [self.subnet_name] + [self._name(f"public_subnet_{i + 1}")
                                     for i in more]

    @property
    def internet_gateway_name(self) -> str:
        return self._name("internet_gateway")

    @property
    def route_table_name(self) -> str:
        return self._name("public_subnet_route_table")

    @property
    def security_group_name(self) -> str:
        return self._name("sg_ecs")

    @property
    def lb_security_group_name(self) -> str:
        return self._name("sg_alb")

    @property
    def cluster_name(self) -> str:
        return self._name("ecs_cluster")

    @property
    def task_family(self) -> str:
        return self._name("ecs_task_definition")

    @property
    def service_family(self) -> str:
        return self._name("ecs_service_task_definition")

    @property
    def service_name(self) -> str:
        return self._name("ecs_service")

    @property
    def log_group_name(self) -> str:
        # The course's historical spelling ("esc") is kept so that names match
        # the handouts learners already have.
        return self._name("esc_task_log_group")

    @property
    def task_container_name(self) -> str:
        return "hello-world"

    @property
    def service_container_name(self) -> str:
        return "httpd"

    # Derived names, where AWS forbids the underscore or upper case.
    @property
    def load_balancer_name(self) -> str:
        return self.prefix.replace("_", "-") + "-alb"

    @property
    def target_group_name(self) -> str:
        return self.prefix.replace("_", "-") + "-tg"

    @property
    def ecr_repository_name(self) -> str:
        return self.prefix.replace("_", "-") + "-image"

    def derived_names(self) -> list[dict]:
        """The names that could not follow ``<prefix>_...``, and why."""
        return [
            {"resource": "load balancer", "name": self.load_balancer_name,
             "why": "letters, numbers and hyphens only, at most 32 characters"},
            {"resource": "target group", "name": self.target_group_name,
             "why": "letters, numbers and hyphens only, at most 32 characters"},
            {"resource": "ECR repository", "name": self.ecr_repository_name,
             "why": "lower case; '_' is allowed but '-' keeps it in line with "
                    "the load balancer"},
        ]

    def tags(self) -> dict[str, str]:
        """The tags every resource of this lab carries."""
        return {LAB_TAG: LAB_TAG_VALUE, PREFIX_TAG: self.prefix, **self.extra_tags}
