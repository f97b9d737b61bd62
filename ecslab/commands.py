"""The course's shell commands, run for real: the AWS CLI and Docker.

``run_aws`` runs the ``aws`` CLI as a subprocess in ``Session.cli_env()``, so the
very command a learner would type reaches the emulator (local) or the account
(aws). In local mode it refuses to start unless every endpoint in that
environment is on loopback. ``docker`` runs a Docker command when an engine is
reachable; when none is, it runs nothing and returns a result that says so in
one line and shows the command. Both return a ``CommandResult`` that a notebook
displays as the command, its exit code and its output; the environment, which
may hold credentials, is never displayed, and account ids are masked and
credential-like values (session tokens, secret keys, Authorization headers)
redacted in what is displayed (the attributes keep the real text).

    >>> result = run_aws(session, ["ecs", "list-clusters"])   # doctest: +SKIP
    >>> result.returncode, result.json["clusterArns"]         # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import pandas as pd

from . import account as account_guard
from .account import Masked, mask

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# How much output a notebook shows before it says how much more there is.
SHOWN_LINES = 40

REDACTED = "<redacted>"

# Names whose value is a credential, as the CLI and botocore write them: HTTP
# headers (``--debug`` dumps them), presigned URL parameters, the environment
# and config-file keys, and the JSON of ``sts get-session-token`` and friends.
_SECRET_NAMES = (r"x-amz-security-token|x-amz-signature|authorization|"
                 r"aws_session_token|aws_secret_access_key|secret_access_key|"
                 r"sessiontoken|secretaccesskey|authorizationtoken")
_NAME = rf"(?<![\w-])[\"']?(?:{_SECRET_NAMES})[\"']?"
_SECRETS = [
    # name: 'value' or name = b"value" (Python reprs and JSON); the value may
    # hold spaces (an Authorization header does).
    re.compile(rf"(?i)({_NAME}\s*[:=]\s*b?)([\"'])(.*?)\2"),
    # An Authorization header line: the rest of the line is the signature.
    re.compile(r"(?im)((?<![\w-])authorization\s*:\s*)(?!b?[\"'])()(.+)$"),
    # name:value, name=value (canonical requests, query strings, env files).
    re.compile(rf"(?i)({_NAME}\s*[:=]\s*)(?!b?[\"'])()([^\s\"',;&]+)"),
    # botocore's debug log prints the request signature on the line after.
    re.compile(r"(?i)((?<![\w-])signature\s*[:=]\s*)()([0-9a-f]{64})"),
]


def redact(text: str) -> str:
    """``text`` with every credential-like value replaced by ``<redacted>``.

    A safety net for displays, not a reason to print credentials: ``run_aws``
    refuses ``--debug``, which would print them in the first place.
    """
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + m.group(2) + REDACTED
                           + m.group(2), text)
    return text


class UnsafeCommandError(RuntimeError):
    """A command would leave the emulator in local mode, so it was not started."""


@dataclass
class CommandResult:
    """One command: what was typed, whether it ran, its exit code and output.

    ``returncode`` is ``None`` when the command was not run, and ``note`` says
    why in one line. ``json`` is the parsed standard output when it was JSON.
    With ``secret`` set, standard output is kept but never displayed.
    """

    command: str
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    json: Any = None
    note: str = ""
    secret: bool = False
    args: list[str] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return self.returncode is not None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def status(self) -> str:
        if not self.ran:
            return "not run"
        return f"exit {self.returncode}"

    def check(self) -> CommandResult:
        """``self`` if the command ran and exited 0; else ``RuntimeError``."""
        if not self.ok:
            detail = self.note or _first_line(self.stderr) or self.status
            raise RuntimeError(redact(f"{self.command}: {detail}"))
        return self

    def _shown(self) -> dict[str, str]:
        """The text a display may show: masked, clipped, secrets replaced."""
        stdout = _clip(redact(self.stdout))
        if self.secret and self.stdout:
            stdout = f"({len(self.stdout.strip())} characters, hidden)"
        # Redacted before clipping, so that no cut can split a name from its value.
        shown = {"command": redact(self.command), "note": redact(self.note),
                 "stdout": stdout, "stderr": _clip(redact(self.stderr))}
        return {key: mask(text) for key, text in shown.items()}

    def __repr__(self) -> str:
        shown = self._shown()
        parts = [f"$ {shown['command']}", f"[{self.status}]"]
        parts += [shown[k].rstrip() for k in ("note", "stdout", "stderr") if shown[k]]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        shown = {k: html.escape(v) for k, v in self._shown().items()}
        colour = "#1a7f37" if self.ok else ("#6e7781" if not self.ran else "#cf222e")
        note = f" — {shown['note']}" if shown["note"] else ""
        rows = [f"<pre style='margin:0'><b>$ {shown['command']}</b></pre>",
                f"<div style='color:{colour}'>{self.status}{note}</div>"]
        if shown["stdout"]:
            rows.append(f"<pre style='margin:0'>{shown['stdout']}</pre>")
        if shown["stderr"]:
            rows.append(f"<pre style='margin:0;color:#cf222e'>{shown['stderr']}</pre>")
        return "<div>" + "".join(rows) + "</div>"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _clip(text: str, lines: int = SHOWN_LINES) -> str:
    kept = text.splitlines()
    if len(kept) <= lines:
        return text
    return "\n".join(kept[:lines]) + f"\n… {len(kept) - lines} more lines\n"


def not_run(args: list[str], note: str, command: str | None = None) -> CommandResult:
    """A result for a command shown but deliberately not run; ``note`` says why."""
    return CommandResult(command=command or shlex.join(args), note=note, args=args)


# -- the AWS CLI -------------------------------------------------------------------


def _is_loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host in LOOPBACK_HOSTS


def _check_local(session, env: Mapping[str, str], args: list[str]) -> None:
    """Raise ``UnsafeCommandError`` unless the command can reach only loopback."""
    if getattr(session, "account", None):
        # Isolated emulator accounts are chosen by a request header that boto3
        # adds and the AWS CLI cannot, so the CLI would act on another account.
        raise UnsafeCommandError(
            "run_aws does not support sessions with an emulator account "
            f"({session.account}): the AWS CLI cannot send the account header")
    endpoints = {k: v for k, v in env.items() if k.startswith("AWS_ENDPOINT_URL")}
    if "AWS_ENDPOINT_URL" not in endpoints:
        raise UnsafeCommandError("local mode, but the environment names no "
                                 "endpoint: the CLI would call real AWS")
    for key, url in endpoints.items():
        if not _is_loopback(url):
            raise UnsafeCommandError(f"local mode, but {key} is {url}, "
                                     "not a loopback address")
    if env.get("AWS_PROFILE"):
        raise UnsafeCommandError("local mode must not read an AWS profile")
    for index, arg in enumerate(args):
        name, _, value = arg.partition("=")
        if name == "--profile":
            raise UnsafeCommandError("local mode must not read an AWS profile: "
                                     "drop --profile")
        if name == "--endpoint-url":
            value = value or (args[index + 1] if index + 1 < len(args) else "")
            if not _is_loopback(value):
                raise UnsafeCommandError(f"local mode, but --endpoint-url {value} "
                                         "is not a loopback address")


def _wants_json(args: list[str]) -> bool:
    # Without --output the CLI prints JSON unless a profile chose another format.
    for index, arg in enumerate(args):
        if arg == "--output" and index + 1 < len(args):
            return args[index + 1] == "json"
        if arg.startswith("--output="):
            return arg.split("=", 1)[1] == "json"
    return True


def _parse_json(text: str) -> Any:
    if not text.strip().startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _check_aws(session, allowed: list[str] | None) -> None:
    """``GuardError`` unless the session's account is on the allow list.

    Every command is guarded on AWS, reads included: whether a CLI command
    changes anything cannot be told from its name (``ecs execute-command``,
    ``--cli-input-json`` files, waiters, ``s3 sync``), and a command run in an
    account the learner did not allow is a mistake even when it only reads,
    since it copies someone else's resources into a shared notebook.
    """
    if allowed is None:
        allowed = getattr(session, "allowed_accounts", None)
    account_guard.check_allowed(session.account_id(),
                                account_guard.allowed_accounts(allowed),
                                outcome="the command was not run")


def run_aws(session, args: list[str], *, cwd: str | Path | None = None,
            input: str | None = None, secret: bool = False, timeout: float = 300,
            executable: str = "aws",
            allowed_accounts: list[str] | None = None) -> CommandResult:
    """Run ``aws <args>`` against ``session``'s target; the result, whatever the exit.

    A non-zero exit is a result, not an exception: the CLI's own message is in
    ``stderr``. In local mode ``UnsafeCommandError`` is raised, before anything
    runs, if the environment or the arguments name a non-loopback endpoint or a
    profile. On AWS ``GuardError`` is raised, before anything runs, unless the
    account is on the allow list (``allowed_accounts``, else
    ``ECSLAB_ALLOWED_ACCOUNTS``), as the ``Lab`` requires before it creates.
    ``secret`` keeps standard output (a password) out of every display.
    ``executable`` lets tests put a stand-in for the CLI. ``--debug`` is
    refused with ``ValueError``: it makes the CLI print credentials.
    """
    if "--debug" in args:
        # The CLI's debug log writes each signed request to stderr, session
        # token and Authorization header included, and the notebook shows stderr.
        raise ValueError("run_aws does not run --debug: the AWS CLI would print "
                         "the request's credentials (session token, Authorization "
                         "signature) to its output, which the notebook shows. Drop "
                         "--debug; the CLI's error message is in the result's "
                         "stderr")
    env = session.cli_env()
    if session.is_local:
        _check_local(session, env, args)
    else:
        _check_aws(session, allowed_accounts)
    program = shutil.which(executable, path=env.get("PATH"))
    if program is None:
        raise FileNotFoundError(f"no {executable!r} command on PATH: install the "
                                "AWS CLI (pip install awscli)")

    shown = ["aws", *args]
    try:
        done = subprocess.run([program, *args], env=env, cwd=cwd, input=input,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s: no answer in %.0fs", Masked(shlex.join(shown)), timeout)
        return CommandResult(command=shlex.join(shown), returncode=-1, args=shown,
                             note=f"stopped after {timeout:.0f}s without an answer")
    # The command line names ARNs and <account>.dkr.ecr hosts: masked, as shown.
    log.info("%s -> exit %d", Masked(shlex.join(shown)), done.returncode)
    parsed = None
    if not secret and done.returncode == 0 and _wants_json(args):
        parsed = _parse_json(done.stdout)
    return CommandResult(command=shlex.join(shown), returncode=done.returncode,
                         stdout=done.stdout, stderr=done.stderr, json=parsed,
                         secret=secret, args=shown)


# -- Docker ------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerEngine:
    """Whether a Docker engine answers, and if not, why not, in one line."""

    available: bool
    host: str
    client: str | None = None
    server_version: str | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.available:
            return f"Docker engine {self.server_version} reachable at {self.host}"
        if self.host in self.reason:
            return f"No Docker engine reachable: {self.reason}"
        return f"No Docker engine reachable at {self.host}: {self.reason}"

    __repr__ = __str__


def docker_engine(docker: str = "docker", env: Mapping[str, str] | None = None,
                  timeout: float = 10) -> DockerEngine:
    """Ask the ``docker`` client whether an engine answers; never raises.

    The client's own check (``docker version``) follows ``DOCKER_HOST`` and
    Docker contexts exactly as the learner's commands will. ``docker`` (a name
    on ``PATH`` or a path) and ``env`` let tests put a stand-in engine.
    """
    env = dict(os.environ if env is None else env)
    host = env.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    client = shutil.which(docker, path=env.get("PATH"))
    if client is None:
        return DockerEngine(False, host, reason="no docker command on PATH")

    try:
        done = subprocess.run([client, "version", "--format", "{{.Server.Version}}"],
                              env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return DockerEngine(False, host, client,
                            reason=f"docker version did not answer in {timeout:.0f}s")
    version = done.stdout.strip()
    if done.returncode == 0 and version:
        return DockerEngine(True, host, client, server_version=version)
    reason = _first_line(done.stderr) or f"docker version exited {done.returncode}"
    return DockerEngine(False, host, client, reason=reason)


def docker(*args: str, engine: DockerEngine | None = None, input: str | None = None,
           cwd: str | Path | None = None, command: str | None = None,
           timeout: float = 900) -> CommandResult:
    """Run ``docker <args>`` if an engine is reachable; otherwise show it, unrun.

    ``engine`` is a ``docker_engine()`` answer (asked afresh when omitted).
    ``input`` goes to standard input and is never kept (``--password-stdin``).
    ``command`` replaces the displayed command line (for a pipeline).
    """
    engine = engine or docker_engine()
    shown = ["docker", *args]
    text = command or shlex.join(shown)
    if not engine.available:
        return not_run(shown, f"Not run: {engine}", command=text)

    try:
        done = subprocess.run([engine.client, *args], input=input, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return CommandResult(command=text, returncode=-1, args=shown,
                             note=f"stopped after {timeout:.0f}s")
    log.info("%s -> exit %d", Masked(shlex.join(shown)), done.returncode)
    return CommandResult(command=text, returncode=done.returncode,
                         stdout=done.stdout, stderr=done.stderr, args=shown)


# -- aws ecs run-task --generate-cli-skeleton --------------------------------------

# What each RunTask field means, for the table the commands notebook shows.
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
RUN_TASK_FIELDS = {
    "cluster": "cluster to run in (name or ARN); 'default' when left out",
    "taskDefinition": "family, family:revision or ARN; the latest ACTIVE "
                      "revision when no revision is given (required)",
    "count": "how many copies of the task to start, 1-10",
    "launchType": "FARGATE, EC2, EXTERNAL or MANAGED_INSTANCES: where the task "
                  "runs; not together with capacityProviderStrategy",
    "capacityProviderStrategy": "capacity providers to spread tasks over, "
                                "instead of launchType",
    "platformVersion": "Fargate platform version; LATEST is the current one",
    "networkConfiguration": "awsvpc networking: subnets, security groups and "
                            "whether the task gets a public IP",
    "overrides": "per-run changes to the task definition: command, "
                 "environment, CPU, memory, roles",
    "tags": "key/value tags on the task (the lab finds its tasks by them)",
    "propagateTags": "copy tags from the TASK_DEFINITION to the task",
    "enableECSManagedTags": "let ECS add aws:ecs:cluster-name and similar tags",
    "enableExecuteCommand": "allow 'aws ecs execute-command' into the "
                            "containers (needs SSM permissions)",
    "group": "a name for a set of related tasks; family:<name> by default",
    "startedBy": "free text saved on the task (up to 128 characters), "
                 "e.g. who or what started it",
    "referenceId": "an id of your own to relate the task to something else",
    "placementConstraints": "rules for which EC2 instances may host the task "
                            "(not used on Fargate)",
    "placementStrategy": "how tasks spread or pack over EC2 instances "
                         "(not used on Fargate)",
    "clientToken": "an idempotency token: a retried request with the same "
                   "token starts no second task",
    "volumeConfigurations": "EBS volumes created and attached when the "
                            "task starts",
}


def _compact(value: Any, width: int = 60) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= width else text[:width - 1] + "…"


def skeleton_table(skeleton: dict, filled: dict | None = None) -> pd.DataFrame:
    """One row per top-level skeleton field: placeholder, meaning, value used.

    ``filled`` is the parameter file's content; a field it leaves out shows as
    "(left out)", since a placeholder left in would be sent as a real value.
    """
    rows = []
    for name, placeholder in skeleton.items():
        row = {"field": name, "placeholder": _compact(placeholder),
               "meaning": RUN_TASK_FIELDS.get(name, "see the RunTask API reference")}
        if filled is not None:
            row["in the lab's file"] = (_compact(filled[name]) if name in filled
                                        else "(left out)")
        rows.append(row)
    return pd.DataFrame(rows)


def fill_skeleton(skeleton: dict, values: dict) -> dict:
    """The skeleton with only the fields given in ``values``, in skeleton order.

    Every unfilled placeholder is dropped. A key that is not a skeleton field
    raises ``KeyError`` naming it, as the CLI would refuse it.
    """
    unknown = [key for key in values if key not in skeleton]
    if unknown:
        raise KeyError(f"not a field of the skeleton: {', '.join(unknown)}")
    return {key: values[key] for key in skeleton if key in values}
