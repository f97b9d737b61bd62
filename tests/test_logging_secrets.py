"""No log line the library writes holds a credential or a full account id.

Every record of the ``ecslab`` loggers, captured at DEBUG, is formatted and
searched for a 12-digit account id, the sentinel credentials put in the
environment, and the credentials the session really signs with. The steps run
are the task lab's, the ECR command helpers, ``run_aws``, and on the aws target
(the emulator presented as AWS) the IAM retry whose AWS message names a role ARN.
"""

from __future__ import annotations

import logging
import re
import stat
import sys
import types
import uuid
from pathlib import Path

import ipywidgets as w
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ecslab import Lab, Session, ecr
from ecslab.commands import docker_engine, run_aws
from ecslab.widgets import ScaleControl

SENTINELS = {
    "AWS_ACCESS_KEY_ID": "AKIASENTINELLOGS7Q3X",
    "AWS_SECRET_ACCESS_KEY": "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",
    "AWS_SESSION_TOKEN": "sentinel-logs-session-token-Mv3Ns8Qw1",
}
LOGIN_PASSWORD = "sentinel-ecr-login-password-Hk4Jd9"
ACCOUNT_ID = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")
EMULATOR_ACCOUNT = "123456789012"


@pytest.fixture
def records(caplog, monkeypatch):
    for key, value in SENTINELS.items():
        monkeypatch.setenv(key, value)
    caplog.set_level(logging.DEBUG, logger="ecslab")
    return caplog


def _credentials(session: Session) -> list[str]:
    frozen = session._boto.get_credentials().get_frozen_credentials()
    return [v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v]


def _assert_clean(caplog, secrets: list[str]) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("ecslab")]
    assert lines, "the steps logged nothing: the check would prove nothing"
    for line in lines:
        assert not ACCOUNT_ID.search(line), f"account id in log line: {line!r}"
        for secret in secrets:
            assert secret not in line, f"a credential in log line: {line!r}"
    return lines


def _fake_docker(folder: Path):
    """A stand-in Docker client and engine: answers ``version``, runs the rest."""
    script = folder / "docker"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdin.read()\n"
                      "print('99.0.0-fake')\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    engine = docker_engine(docker=str(script))
    assert engine.available
    return engine


def test_task_lab_logs_hold_no_secret(session, records, tmp_path):
    lab = Lab("logs" + uuid.uuid4().hex[:6], session=session)
    try:
        lab.ensure_task_roles()
        lab.create_network()
        lab.create_cluster()
        lab.create_log_group()
        lab.register_task_definition()
        task = lab.run_task(lab.write_run_task_params(tmp_path / "params.json"))
        lab.wait_until_stopped(progress=False)
        lab.task_logs()

        # A command line that names an ARN, account id and all.
        arn = lab._ids["cluster"]
        assert session.account_id() in arn
        shown = run_aws(session, ["ecs", "describe-tasks", "--cluster", arn,
                                  "--tasks", task])
        assert shown.ok, shown.stderr

        # The ECR helpers: commands naming <account>.dkr.ecr.<region>...
        engine = _fake_docker(tmp_path)
        lab.create_ecr_repository()
        ecr.image_commands(session, lab.spec)
        assert ecr.tag_image(session, lab.spec, engine=engine).ok
        ecr.login(session, lab.spec, engine=engine)
        ecr.push_image(session, lab.spec, engine=engine)
        lab.inventory()
    finally:
        lab.teardown()

    lines = _assert_clean(records, [*SENTINELS.values(), *_credentials(session)])
    # The lines that named the account are there, masked, not left out.
    masked = "********" + session.account_id()[-4:]
    assert any(masked in line and "describe-tasks" in line for line in lines)
    assert any(masked in line and "image tag" in line for line in lines)


def test_aws_target_logs_hold_no_secret(endpoint, records, tmp_path, monkeypatch):
    aws = Session(target="aws", region="ap-northeast-1", endpoint_url=endpoint)
    monkeypatch.setenv("ECSLAB_ALLOWED_ACCOUNTS", EMULATOR_ACCOUNT)
    lab = Lab("logsaws" + uuid.uuid4().hex[:6], session=aws)
    lab.cost_estimate()
    try:
        lab.ensure_task_roles()
        lab.create_vpc()
        lab.create_log_group()

        # ECS's answer while a new role propagates names the role's ARN.
        monkeypatch.setattr("ecslab.lab.time.sleep", lambda seconds: None)
        path = tmp_path / "runtask_params.json"
        path.write_text('{"cluster": "c", "taskDefinition": "t"}')
        ecs = aws.client("ecs", preflight=True)
        with Stubber(ecs) as stub:
            stub.add_client_error(
                "run_task", "InvalidParameterException",
                "ECS was unable to assume the role 'arn:aws:iam::"
                f"{EMULATOR_ACCOUNT}:role/AmazonECSTaskExecutionRole'")
            stub.add_response("run_task", {"tasks": [{
                "taskArn": f"arn:aws:ecs:ap-northeast-1:{EMULATOR_ACCOUNT}:"
                           "task/c/abc"}], "failures": []})
            assert lab.run_task(path) == "abc"

        # On AWS the CLI would reach AWS itself: a stand-in answers instead.
        cli = tmp_path / "aws"
        cli.write_text(f"#!{sys.executable}\nprint('{{}}')\n")
        cli.chmod(cli.stat().st_mode | stat.S_IXUSR)
        role = f"arn:aws:iam::{EMULATOR_ACCOUNT}:role/AmazonECSTaskRole"
        assert run_aws(aws, ["iam", "get-role", "--role-name", role],
                       executable=str(cli)).ok

        engine = _fake_docker(tmp_path)
        lab.create_ecr_repository()
        password = ecr.LoginPassword(LOGIN_PASSWORD, "aws ecr get-login-password")
        assert ecr.login(aws, lab.spec, password, engine=engine).ok
        assert ecr.tag_image(aws, lab.spec, engine=engine).ok
        assert ecr.push_image(aws, lab.spec, engine=engine).ok

        # The scale widget shows and logs an error that names an ARN.
        status = types.SimpleNamespace(status=w.HTML())
        ScaleControl._show_error(status, ClientError(
            {"Error": {"Code": "ServiceNotActiveException",
                       "Message": f"arn:aws:ecs:ap-northeast-1:{EMULATOR_ACCOUNT}:"
                                  "service/c/s is not active"}}, "UpdateService"))
        assert EMULATOR_ACCOUNT not in status.status.value

        lab.inventory()
        lab.teardown()
    finally:
        lab.teardown(confirm=lab.prefix)

    secrets = [*SENTINELS.values(), LOGIN_PASSWORD, *_credentials(aws)]
    assert set(SENTINELS.values()) <= set(_credentials(aws))
    lines = _assert_clean(records, secrets)
    masked = "********" + EMULATOR_ACCOUNT[-4:]
    for words in ("unable to assume", "get-role", "docker", "image push",
                  "scaling failed"):
        assert any(masked in line and words in line for line in lines), words
