"""Sessions for either target: AWS clients and the environment for the AWS CLI.

``local`` (the default) talks to the embedded emulator on 127.0.0.1 with dummy
credentials, so no AWS profile is read and no request leaves the machine.
``aws`` talks to a real account through a profile or the standard credential
chain, and is only ever chosen explicitly.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config

log = logging.getLogger(__name__)

TARGETS = ("local", "aws")
DEFAULT_REGION = "ap-northeast-1"

# Any non-empty value works against the emulator; these make it obvious in a
# listing that they are not real keys.
DUMMY_ACCESS_KEY_ID = "ecslab-local"
DUMMY_SECRET_ACCESS_KEY = "ecslab-local-not-a-secret"

# Set in every environment that cli_env points at the emulator, so an aws
# session started from it (a kernel of `ecslab lab` in local mode) can tell that
# the AWS_* variables it sees are the emulator's, not the learner's.
LOCAL_ENV_MARKER = "ECSLAB_LOCAL_ENDPOINT"


def is_loopback_url(url: str) -> bool:
    """True if ``url`` names a loopback host (127.0.0.0/8, ::1 or localhost)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_target(target: str | None = None) -> str:
    """The target asked for, else ``ECSLAB_TARGET``, else ``local``."""
    chosen = target or os.environ.get("ECSLAB_TARGET") or "local"
    if chosen not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {chosen!r}")
    return chosen


def quiet_botocore_debug() -> bool:
    """Turn botocore's and boto3's DEBUG logging down to INFO; True if it was on.

    At DEBUG botocore logs request headers, including the Authorization header
    and the session token, so a notebook output could leak them.
    """
    changed = False
    for name in ("botocore", "boto3", "urllib3"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() <= logging.DEBUG:
            logger.setLevel(logging.INFO)
            changed = True
    if changed:
        log.warning("botocore DEBUG logging would print credentials: set to INFO")
    return changed


class Session:
    """Where the lab's AWS calls go: the one place clients are made."""

    def __init__(self, target: str | None = None, region: str = DEFAULT_REGION,
                 profile: str | None = None, endpoint_url: str | None = None,
                 account: str | None = None):
        self.target = resolve_target(target)
        quiet_botocore_debug()
        # The emulator keeps one isolated set of resources per account id, chosen
        # by a request header; tests and concurrent learners use it.
        self.account = account
        self.region = region
        self.profile = profile
        # The real-account allow list a Lab was given, so the CLI and docker
        # steps made through this session obey it too (None: the environment's).
        self.allowed_accounts: list[str] | None = None
        self._clients: dict[str, object] = {}

        if self.target == "local":
            if profile:
                raise ValueError("a profile applies to target 'aws' only")
            if account is not None and not (account.isdigit() and len(account) == 12):
                raise ValueError(f"account must be 12 digits, not {account!r}")
            if endpoint_url is None:
                from . import emulator

                endpoint_url = emulator.ensure_running()
            # The emulator takes any credentials; local mode must never send
            # even dummy ones anywhere but this machine.
            if not is_loopback_url(endpoint_url):
                raise ValueError(f"target 'local' needs a loopback endpoint, not "
                                 f"{endpoint_url!r}: choose target='aws' for a "
                                 "real account")
            self.endpoint_url = endpoint_url
            self._boto = boto3.Session(
                botocore_session=_isolated_botocore_session(),
                aws_access_key_id=DUMMY_ACCESS_KEY_ID,
                aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
                region_name=region,
            )
        else:
            if account is not None:
                raise ValueError("account applies to target 'local' only: on AWS "
                                 "the credentials choose the account")
            if os.environ.get(LOCAL_ENV_MARKER):
                # botocore would read the emulator's AWS_ENDPOINT_URL and dummy
                # keys from this environment and never reach AWS.
                raise RuntimeError(
                    "target 'aws' from an environment set up for the local "
                    "emulator (AWS_* variables point at it): start JupyterLab "
                    "with `ECSLAB_TARGET=aws make lab`, or run outside "
                    "`ecslab lab` / `eval $(ecslab env)`")
            self.endpoint_url = endpoint_url
            self._boto = boto3.Session(profile_name=profile, region_name=region)

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    def client(self, service: str, preflight: bool = False):
        """A cached boto3 client with standard retries, for this target.

        With ``preflight`` every request first passes ``ecslab.rules``: a request
        AWS would refuse raises ``PreflightError`` before anything is sent, on
        either target. On ``aws`` the stateful rules run too, reading the current
        resources with the plain clients (``ecslab.preflight.AwsLookup``). The
        lab's own steps use such clients.
        """
        key = f"{service}+preflight" if preflight else service
        if key not in self._clients:
            config = Config(region_name=self.region,
                            retries={"mode": "standard", "max_attempts": 5})
            client = self._boto.client(service, endpoint_url=self.endpoint_url,
                                       config=config)
            if self.account:
                client.meta.events.register("before-sign", self._add_account)
            if preflight:
                client.meta.events.register_first(
                    "before-parameter-build",
                    functools.partial(self._preflight, service))
            self._clients[key] = client
        return self._clients[key]

    def _preflight(self, service: str, params: dict, model, **kwargs) -> None:
        from . import rules
        from .preflight import AwsLookup

        # Local: the emulator's guards run the stateful rules server-side, with
        # AWS's own error, so the client skips their reads. AWS: read the current
        # resources, a fresh lookup per request, so the rule and its page are named
        # before anything is sent.
        context = None if self.is_local else AwsLookup(self)
        rules.preflight(service, model.name, params, context=context)

    def _add_account(self, request, **kwargs) -> None:
        request.headers["x-moto-account-id"] = self.account

    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def cli_env(self, base: dict | None = None) -> dict:
        """Environment for an ``aws`` subprocess that reaches this target only."""
        env = dict(os.environ if base is None else base)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env["AWS_DEFAULT_REGION"] = self.region
        env["AWS_REGION"] = self.region
        env["AWS_PAGER"] = ""
        env["AWS_RETRY_MODE"] = "standard"
        if self.is_local:
            for key in [k for k in env if k.startswith("AWS_") and k not in (
                    "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PAGER",
                    "AWS_RETRY_MODE")]:
                del env[key]
            env["AWS_ACCESS_KEY_ID"] = DUMMY_ACCESS_KEY_ID
            env["AWS_SECRET_ACCESS_KEY"] = DUMMY_SECRET_ACCESS_KEY
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
            env[LOCAL_ENV_MARKER] = self.endpoint_url
            # Never read a real profile, even by accident.
            env["AWS_CONFIG_FILE"] = os.devnull
            env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        else:
            # Every endpoint override, per service ones too (AWS_ENDPOINT_URL_ECS),
            # would send that service's commands somewhere other than AWS.
            for key in [k for k in env if k.startswith("AWS_ENDPOINT_URL")]:
                del env[key]
            env.pop(LOCAL_ENV_MARKER, None)
            if self.profile:
                env["AWS_PROFILE"] = self.profile
        return env

    def __repr__(self) -> str:
        where = self.endpoint_url if self.is_local else "AWS"
        return f"Session(target={self.target!r}, region={self.region!r}, at {where})"


def _isolated_botocore_session():
    # Point botocore at empty config files and ignore AWS_* environment, so a
    # learner's real profile can never be read in local mode.
    session = botocore.session.Session(session_vars={
        "profile": (None, None, None, None),
        "config_file": (None, None, os.devnull, None),
        "credentials_file": (None, None, os.devnull, None),
    })
    return session
