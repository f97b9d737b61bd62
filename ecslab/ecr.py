"""Amazon ECR: the lab's private repository, its URI, login and push.

The repository is ``spec.ecr_repository_name`` (ECR names are lower case, so it
is derived from the prefix), created once with the lab's tags so that teardown
finds it. The Docker commands are built from the learner's real account id and
region. The local emulator records repositories but has no registry API (moto
stores no image layers), so a ``docker push`` cannot reach it; in local mode
login and push are shown and never run, not least because the registry host
they name is a real AWS address.
"""

from __future__ import annotations

import logging

import pandas as pd
from botocore.exceptions import ClientError

from .account import allowed_accounts as allowed_accounts_from
from .account import check_allowed, mask
from .aws import as_dict, carries, error_code
from .commands import (CommandResult, DockerEngine, docker, docker_engine, not_run,
                       run_aws)
from .spec import LabSpec

log = logging.getLogger(__name__)

NO_REGISTRY = ("Not run: the local emulator has no ECR registry API (it keeps "
               "repositories, not images), and {host} is a real AWS address; "
               "on target 'aws' this command runs")


def registry_host(account_id: str, region: str) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com`` (``.com.cn`` in China)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account_id}.dkr.ecr.{region}.{suffix}"


def repository_uri(session, spec: LabSpec) -> str:
    """The repository's URI, the image name that ``docker push`` needs."""
    return f"{registry_host(session.account_id(), session.region)}/" \
           f"{spec.ecr_repository_name}"


def ensure_repository(session, spec: LabSpec) -> dict:
    """The lab's repository, created with the lab's tags if missing.

    A repository of that name without the lab's tags belongs to someone else:
    ``ValueError``, rather than adopting what teardown would never delete.
    """
    ecr, name = session.client("ecr"), spec.ecr_repository_name
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ClientError as error:
        if error_code(error) != "RepositoryNotFoundException":
            raise
    else:
        tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
        if not carries(as_dict(tags), spec.tags()):
            raise ValueError(f"ECR repository {name} exists but does not carry this "
                             "lab's tags: choose another prefix")
        return repo

    repo = ecr.create_repository(
        repositoryName=name, imageTagMutability="MUTABLE",
        tags=[{"Key": k, "Value": v} for k, v in spec.tags().items()])["repository"]
    log.info("created ECR repository %s", name)
    return repo


class LoginPassword:
    """An ECR login password (valid 12 hours) that never shows itself."""

    def __init__(self, value: str, command: str):
        self._value = value
        self.command = command

    def reveal(self) -> str:
        """The password itself, for ``docker login --password-stdin`` only."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"<ECR login password: {len(self)} characters, hidden>"

    __str__ = __repr__


def get_login_password(session) -> LoginPassword:
    """Run ``aws ecr --region <region> get-login-password``; the masked password.

    Raises ``RuntimeError`` with the CLI's message if the command fails.
    """
    result = run_aws(session, ["ecr", "--region", session.region,
                               "get-login-password"], secret=True)
    result.check()
    return LoginPassword(result.stdout.strip(), result.command)


def image_commands(session, spec: LabSpec, image: str = "image", tag: str = "tag",
                   masked: bool = True) -> pd.DataFrame:
    """The build, tag, login and push commands for this account and region.

    The account id is masked for display unless ``masked`` is false.
    """
    host = registry_host(session.account_id(), session.region)
    remote = f"{host}/{spec.ecr_repository_name}:{tag}"
    steps = [
        ("build", f"docker image build -t {image}:{tag} ."),
        ("tag", f"docker image tag {image}:{tag} {remote}"),
        ("login", _login_line(session.region, host, spec)),
        ("push", f"docker image push {remote}"),
    ]
    if masked:
        steps = [(step, mask(line)) for step, line in steps]
    return pd.DataFrame(steps, columns=["step", "command"])


def _login_line(region: str, host: str, spec: LabSpec) -> str:
    return (f"aws ecr --region {region} get-login-password | docker login "
            f"--username AWS --password-stdin "
            f"https://{host}/{spec.ecr_repository_name}")


def build_image(context, image: str = "image", tag: str = "tag",
                engine: DockerEngine | None = None) -> CommandResult:
    """``docker image build -t image:tag .`` in ``context``, the Dockerfile's folder."""
    return docker("image", "build", "-t", f"{image}:{tag}", ".", cwd=context,
                  engine=engine)


def tag_image(session, spec: LabSpec, image: str = "image", tag: str = "tag",
              engine: DockerEngine | None = None) -> CommandResult:
    """``docker image tag`` the local image with the repository's URI."""
    return docker("image", "tag", f"{image}:{tag}",
                  f"{repository_uri(session, spec)}:{tag}", engine=engine)


def login(session, spec: LabSpec, password: LoginPassword | None = None,
          engine: DockerEngine | None = None) -> CommandResult:
    """``get-login-password | docker login``: on AWS with an engine, else shown."""
    host = registry_host(session.account_id(), session.region)
    line = _login_line(session.region, host, spec)
    if session.is_local:
        return not_run([], NO_REGISTRY.format(host=host), command=line)
    engine = engine or docker_engine()
    if engine.available:
        # Only fetch a password that an engine will use.
        password = password or get_login_password(session)
    return docker("login", "--username", "AWS", "--password-stdin",
                  f"https://{host}/{spec.ecr_repository_name}",
                  input=password.reveal() if password else None,
                  engine=engine, command=line)


def push_image(session, spec: LabSpec, tag: str = "tag",
               engine: DockerEngine | None = None,
               allowed_accounts: list[str] | None = None) -> CommandResult:
    """``docker image push <uri>:<tag>``: on AWS with an engine, else shown.

    A push adds an image to the account, so on AWS the account must be on the
    allow list first (``allowed_accounts``, else ``ECSLAB_ALLOWED_ACCOUNTS``).
    """
    remote = f"{repository_uri(session, spec)}:{tag}"
    if session.is_local:
        host = remote.split("/", 1)[0]
        return not_run(["docker", "image", "push", remote],
                       NO_REGISTRY.format(host=host))
    if allowed_accounts is None:
        allowed_accounts = getattr(session, "allowed_accounts", None)
    check_allowed(session.account_id(), allowed_accounts_from(allowed_accounts),
                  outcome="nothing was pushed")
    return docker("image", "push", remote, engine=engine)


def page_override(spec: LabSpec) -> dict:
    """RunTask ``overrides`` that make the example httpd image print its page and exit.

    httpd serves until stopped; printing ``index.html`` instead makes the pushed
    image a run-to-completion task whose log shows the page that was copied in.
    """
    return {"containerOverrides": [{
        "name": spec.task_container_name,
        "command": ["cat", "/usr/local/apache2/htdocs/index.html"],
    }]}
