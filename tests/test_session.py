"""Sessions: local mode never reads a real profile and reaches only loopback."""

import os
import subprocess

import pytest

from ecslab.session import DUMMY_ACCESS_KEY_ID, Session, resolve_target


def test_local_session_uses_dummy_credentials(session):
    credentials = session._boto.get_credentials()
    assert credentials.access_key == DUMMY_ACCESS_KEY_ID
    assert session.endpoint_url.startswith("http://127.0.0.1:")


def test_local_session_ignores_a_real_profile(endpoint, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[profile real]\nregion = us-east-1\n")
    creds = tmp_path / "credentials"
    creds.write_text("[real]\naws_access_key_id = AKIAREALREALREAL\n"
                     "aws_secret_access_key = realsecret\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_PROFILE", "real")
    local = Session(target="local", endpoint_url=endpoint)
    assert local._boto.get_credentials().access_key == DUMMY_ACCESS_KEY_ID
    env = local.cli_env()
    assert "AWS_PROFILE" not in env
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    # The CLI run with that environment answers from the emulator.
    out = subprocess.run(["aws", "sts", "get-caller-identity", "--output", "text",
                          "--query", "Arn"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "moto" in out.stdout


def test_local_session_refuses_a_remote_endpoint():
    for url in ("https://ecs.ap-northeast-1.amazonaws.com", "http://10.0.0.5:4566",
                "http://example.com:4566"):
        with pytest.raises(ValueError, match="needs a loopback endpoint"):
            Session(target="local", endpoint_url=url)


def test_aws_session_refuses_an_environment_pointing_at_the_emulator(
        session, monkeypatch):
    # What a kernel of `ecslab lab` in local mode inherits.
    for key, value in session.cli_env(base={}).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(RuntimeError, match="ECSLAB_TARGET=aws make lab"):
        Session(target="aws")


def test_target_must_be_known(monkeypatch):
    monkeypatch.delenv("ECSLAB_TARGET", raising=False)
    assert resolve_target() == "local"
    with pytest.raises(ValueError, match="target must be one of"):
        resolve_target("prod")


def test_botocore_debug_logging_is_turned_down(endpoint):
    import logging

    import boto3

    boto3.set_stream_logger("botocore", logging.DEBUG)
    try:
        Session(target="local", endpoint_url=endpoint)
        assert logging.getLogger("botocore").getEffectiveLevel() > logging.DEBUG
    finally:
        logger = logging.getLogger("botocore")
        logger.setLevel(logging.WARNING)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


@pytest.mark.parametrize("target", ["local", "aws"])
def test_clients_and_the_cli_retry_in_standard_mode(endpoint, monkeypatch, target):
    # botocore's default is still "legacy"; a profile or the environment asking
    # for it must not win either.
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    made = Session(target=target, endpoint_url=endpoint)
    for preflight in (False, True):
        client = made.client("ecs", preflight=preflight)
        assert client.meta.config.retries["mode"] == "standard"
    assert made.cli_env()["AWS_RETRY_MODE"] == "standard"
    assert made.cli_env(base={})["AWS_RETRY_MODE"] == "standard"


def test_aws_cli_env_drops_every_endpoint_override(endpoint):
    inherited = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_ENDPOINT_URL_ECS": "http://127.0.0.1:5000",
        "AWS_ENDPOINT_URL_STS": "https://sts.example.com",
        "AWS_ACCESS_KEY_ID": "AKIAFROMTHECHAIN",
        "AWS_PROFILE": "learner",
        "PATH": "/usr/bin",
    }
    env = Session(target="aws", endpoint_url=endpoint).cli_env(base=inherited)
    assert not [k for k in env if k.startswith("AWS_ENDPOINT_URL")]
    # The learner's own credential chain is left as it was.
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAFROMTHECHAIN"
    assert env["AWS_PROFILE"] == "learner"
