"""The commands notebook's library: the real AWS CLI against the emulator, the
credentials it must never display, the run-task skeleton round trip, the CLI's
errors for broken files, Docker engine detection both ways, and the lab's ECR
repository and its name."""

from __future__ import annotations

import html
import http.server
import json
import os
import re
import shutil
import socketserver
import stat
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from ecslab import Lab, Session
from ecslab import ecr
from ecslab.account import mask
from ecslab.commands import (RUN_TASK_FIELDS, SHOWN_LINES, CommandResult,
                             UnsafeCommandError, docker, docker_engine,
                             fill_skeleton, run_aws, skeleton_table)
from ecslab.spec import LabSpec

REAL_SECRET = "wJalrXUtnFEMI-real-secret-do-not-leak"
SESSION_TOKEN = "sentinel-session-token-Qz7Wm2Lp9"

# The repository name rule of ECR's CreateRepository API reference (2-256 chars).
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
ECR_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")


def _prefix() -> str:
    return "c" + uuid.uuid4().hex[:8]


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def lab(session):
    made = Lab(_prefix(), session=session)
    yield made
    made.teardown()


# -- the AWS CLI reaches the emulator, and only the emulator -----------------------


def test_cli_reaches_the_emulator(session):
    who = run_aws(session, ["sts", "get-caller-identity", "--output", "json"])
    assert who.ok, who.stderr
    assert who.json["Account"] == session.account_id()
    assert who.command == "aws sts get-caller-identity --output json"
    # Displays mask the account id, as every table the course shows does.
    assert who.stdout.count(session.account_id()) >= 1
    assert session.account_id() not in repr(who) + who._repr_html_()
    assert "********" + session.account_id()[-4:] in repr(who)

    name = _prefix() + "_cli_cluster"
    made = run_aws(session, ["ecs", "create-cluster", "--cluster-name", name])
    assert made.ok, made.stderr
    clusters = session.client("ecs").describe_clusters(clusters=[name])["clusters"]
    assert [c["status"] for c in clusters] == ["ACTIVE"]
    session.client("ecs").delete_cluster(cluster=name)


def test_parent_credentials_and_endpoints_never_leak(session, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[profile real]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_PROFILE", "real")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALREALREAL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", REAL_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-session-token")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECS", "https://ecs.us-east-1.amazonaws.com")
    # A stand-in for the CLI that reports the environment it was given.
    spy = _script(tmp_path / "aws", "import json, os\n"
                  "print(json.dumps(dict(os.environ)))\n")

    seen = run_aws(session, ["ecs", "list-clusters"], executable=str(spy)).json
    aws = {k: v for k, v in seen.items() if k.startswith("AWS_")}
    assert "AWS_PROFILE" not in aws and "AWS_SESSION_TOKEN" not in aws
    assert aws["AWS_ACCESS_KEY_ID"] != "AKIAREALREALREAL"
    assert REAL_SECRET not in json.dumps(seen)
    assert aws["AWS_CONFIG_FILE"] == aws["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    endpoints = {k: v for k, v in aws.items() if k.startswith("AWS_ENDPOINT_URL")}
    assert endpoints == {"AWS_ENDPOINT_URL": session.endpoint_url}
    assert session.endpoint_url.startswith("http://127.0.0.1:")

    # The real CLI, in the same polluted parent environment, still answers locally.
    who = run_aws(session, ["sts", "get-caller-identity"])
    assert who.ok and who.json["Account"] == session.account_id()


@pytest.mark.parametrize("endpoint_url", [
    "https://ecs.ap-northeast-1.amazonaws.com", "http://10.0.0.5:5000",
    "http://127.0.0.1.example.com:5000"])
def test_local_mode_refuses_a_remote_endpoint(endpoint, endpoint_url, tmp_path):
    ran = tmp_path / "ran"
    spy = _script(tmp_path / "aws", f"open({str(ran)!r}, 'w').close()\n")
    # The session may refuse such an endpoint itself; run_aws must refuse it
    # too, whatever the session was given after it was made.
    remote = Session(target="local", endpoint_url=endpoint)
    remote.endpoint_url = endpoint_url
    with pytest.raises(UnsafeCommandError, match="not a loopback"):
        run_aws(remote, ["ecs", "list-clusters"], executable=str(spy))
    assert not ran.exists()


@pytest.mark.parametrize("args, rule", [
    (["ecs", "list-clusters", "--endpoint-url", "https://ecs.amazonaws.com"],
     "not a loopback"),
    (["ecs", "list-clusters", "--endpoint-url=https://ecs.amazonaws.com"],
     "not a loopback"),
    (["ecs", "list-clusters", "--profile", "real"], "profile"),
])
def test_local_mode_refuses_remote_arguments(session, args, rule):
    with pytest.raises(UnsafeCommandError, match=rule):
        run_aws(session, args)


def test_an_emulator_account_is_refused_not_ignored(endpoint):
    isolated = Session(target="local", endpoint_url=endpoint, account="210987654322")
    with pytest.raises(UnsafeCommandError, match="account header"):
        run_aws(isolated, ["ecs", "list-clusters"])


def test_a_password_is_never_displayed(session):
    result = run_aws(session, ["ecr", "get-login-password"], secret=True)
    assert result.ok and result.stdout.strip()
    secret = result.stdout.strip()
    assert secret not in repr(result) and secret not in result._repr_html_()
    assert result.json is None

    password = ecr.get_login_password(session)
    assert len(password) == len(secret)
    assert secret not in repr(password) and secret not in str(password)
    assert password.reveal() == secret


@pytest.mark.parametrize("args", [["--debug", "ecs", "list-clusters"],
                                  ["ecs", "list-clusters", "--debug"]])
def test_debug_is_refused_before_anything_runs(session, tmp_path, args):
    ran = tmp_path / "ran"
    spy = _script(tmp_path / "aws", f"open({str(ran)!r}, 'w').close()\n")
    with pytest.raises(ValueError, match=r"--debug: the AWS CLI would print the "
                                         r"request's credentials"):
        run_aws(session, args, executable=str(spy))
    assert not ran.exists()


def test_what_debug_prints_is_redacted_in_displays(session):
    # What --debug would show: the real CLI, with a session token in its
    # environment, signing a request the emulator answers.
    env = session.cli_env()
    env["AWS_SESSION_TOKEN"] = SESSION_TOKEN
    done = subprocess.run(["aws", "ecs", "list-clusters", "--debug"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]

    # Its lines that carry credentials (a signature comes on the line after its
    # label), few enough that a display clips none of them.
    lines = done.stderr.splitlines()
    kept = {i for i, line in enumerate(lines)
            if SESSION_TOKEN in line or "'Authorization'" in line}
    for i, line in enumerate(lines):
        if line.endswith("Signature:"):
            kept |= {i, i + 1}
    stderr = "\n".join(lines[i] for i in sorted(kept))
    assert len(kept) <= SHOWN_LINES
    signature = re.search(r"Signature=([0-9a-f]{64})", stderr).group(1)
    assert SESSION_TOKEN in stderr and f"Signature:\n{signature}" in stderr

    result = CommandResult(command="aws ecs list-clusters --debug", returncode=0,
                           stderr=stderr)
    for shown in (repr(result), html.unescape(result._repr_html_())):
        assert SESSION_TOKEN not in shown and signature not in shown
        assert "'X-Amz-Security-Token': b'<redacted>'" in shown
        assert "'Authorization': b'<redacted>'" in shown
    assert result.stderr == stderr  # the attribute keeps the real text


def test_temporary_credentials_in_output_are_redacted_in_displays(session):
    result = run_aws(session, ["sts", "get-session-token"])
    assert result.ok, result.stderr
    credentials = result.json["Credentials"]
    for secret in (credentials["SecretAccessKey"], credentials["SessionToken"]):
        assert secret in result.stdout
        assert secret not in repr(result)
        assert secret not in html.unescape(result._repr_html_())
    # A key id names the key without being secret: still shown.
    assert credentials["AccessKeyId"] in repr(result)


# -- aws ecs run-task: skeleton round trip and broken files ------------------------


def _skeleton(session) -> dict:
    result = run_aws(session, ["ecs", "run-task", "--generate-cli-skeleton"])
    assert result.ok, result.stderr
    return result.json


def test_every_skeleton_field_is_explained(session):
    skeleton = _skeleton(session)
    assert set(skeleton) <= set(RUN_TASK_FIELDS)
    table = skeleton_table(skeleton, {"cluster": "c"})
    assert list(table["field"]) == list(skeleton)
    row = table.set_index("field")
    assert row.loc["cluster", "in the lab's file"] == '"c"'
    assert row.loc["count", "in the lab's file"] == "(left out)"


def test_fill_skeleton_keeps_only_filled_fields_and_refuses_unknown_ones():
    skeleton = {"cluster": "", "count": 0, "taskDefinition": ""}
    assert fill_skeleton(skeleton, {"taskDefinition": "t", "cluster": "c"}) == {
        "cluster": "c", "taskDefinition": "t"}
    with pytest.raises(KeyError, match="colour"):
        fill_skeleton(skeleton, {"cluster": "c", "colour": "blue"})


def test_skeleton_round_trip_runs_the_task(lab, tmp_path):
    lab.ensure_task_roles()
    lab.create_network()
    lab.create_cluster()
    lab.create_log_group()
    lab.register_task_definition()
    params = fill_skeleton(_skeleton(lab.session), lab.run_task_params())
    path = tmp_path / "runtask_params.json"
    path.write_text(json.dumps(params, indent=2))

    result = run_aws(lab.session, ["ecs", "run-task", "--cli-input-json",
                                   "file://runtask_params.json"], cwd=tmp_path)
    assert result.ok, result.stderr
    assert result.json["failures"] == []
    arn = result.json["tasks"][0]["taskArn"]
    assert lab.describe_task(arn)["tags"] == lab.spec.tags()
    assert lab.wait_until_stopped(arn, timeout=120, progress=False)[
        "lastStatus"] == "STOPPED"


@pytest.mark.parametrize("content, message", [
    ('{"cluster": "c", "taskDefinition": "t",', "Invalid JSON"),
    ('{"cluster": "c", "taskDefinition": "t", "colour": "blue"}',
     'Unknown parameter in input: "colour"'),
    ('{"cluster": "c", "taskDefinition": "t", "count": "one"}',
     "Invalid type for parameter count"),
])
def test_broken_file_is_the_clis_error(session, tmp_path, content, message):
    (tmp_path / "broken.json").write_text(content)
    result = run_aws(session, ["ecs", "run-task", "--cli-input-json",
                               "file://broken.json"], cwd=tmp_path)
    assert result.ran and result.returncode != 0
    assert message in result.stderr
    assert message in repr(result)
    with pytest.raises(RuntimeError):
        result.check()


# -- Docker engine detection -------------------------------------------------------

FAKE_DOCKER = """import os, sys
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + " stdin=" + (
        sys.stdin.read() if "--password-stdin" in sys.argv else "") + "\\n")
if sys.argv[1:2] == ["version"]:
    print("99.0.0-fake")
else:
    print("fake engine ran:", " ".join(sys.argv[1:]))
"""

NO_ENGINE = """import sys
sys.stderr.write("Cannot connect to the Docker daemon at unix:///nowhere.sock. "
                 "Is the docker daemon running?\\n")
sys.exit(1)
"""


@pytest.fixture
def fake_path(tmp_path, monkeypatch):
    """A PATH holding only a folder for stand-in commands (and no real docker)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(tmp_path / "docker.log"))
    return folder


def test_engine_present_runs_commands(fake_path, tmp_path):
    _script(fake_path / "docker", FAKE_DOCKER)
    engine = docker_engine()
    assert engine.available and engine.server_version == "99.0.0-fake"
    assert "reachable" in str(engine)

    built = docker("image", "build", "-t", "image:tag", ".", cwd=tmp_path,
                   engine=engine)
    assert built.ok and "fake engine ran: image build -t image:tag ." in built.stdout
    login = docker("login", "--username", "AWS", "--password-stdin", "https://r",
                   input="s3cret", engine=engine, command="aws ... | docker login")
    assert login.ok and login.command == "aws ... | docker login"
    assert "s3cret" not in repr(login)
    assert "login --username AWS --password-stdin https://r stdin=s3cret" in (
        tmp_path / "docker.log").read_text()


def test_no_docker_client_is_said_in_one_line(fake_path):
    engine = docker_engine()
    assert not engine.available and engine.reason == "no docker command on PATH"
    result = docker("image", "build", "-t", "image:tag", ".")
    assert not result.ran and not result.ok
    assert result.command == "docker image build -t image:tag ."
    assert "\n" not in result.note and result.note.startswith("Not run: No Docker")
    assert repr(result).startswith("$ docker image build -t image:tag .\n[not run]")


def test_client_without_engine_shows_the_command(fake_path, tmp_path):
    _script(fake_path / "docker", NO_ENGINE)
    engine = docker_engine()
    assert not engine.available
    assert engine.reason.startswith("Cannot connect to the Docker daemon")
    result = docker("image", "push", "repo:tag", engine=engine)
    assert result.returncode is None and "Cannot connect" in result.note
    assert "docker image push repo:tag" in result._repr_html_()
    assert not (tmp_path / "docker.log").exists()


class _FakeEngine(http.server.BaseHTTPRequestHandler):
    """Just enough of the Docker Engine API for ``docker version``."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, body: str, kind: str) -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Api-Version", "1.43")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.path.endswith("/_ping"):
            return self._send("OK", "text/plain")
        self._send(json.dumps({"Version": "99.1.0-socket", "ApiVersion": "1.43",
                               "MinAPIVersion": "1.24", "Os": "linux",
                               "Arch": "amd64"}), "application/json")


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        # BaseHTTPRequestHandler expects an (address, port) pair.
        request, _ = super().get_request()
        return request, ("unix", 0)


def test_real_client_finds_an_engine_by_docker_host(tmp_path, monkeypatch, in_ci):
    # The real docker client talks to a fake engine here; without the client the
    # check cannot run, which on a desk is a skip and in CI a failure.
    if shutil.which("docker") is None:
        if in_ci:
            pytest.fail("the docker client is missing: CI must run this check")
        pytest.skip("no docker client (install docker-ce-cli or docker.io)")
    socket_path = tmp_path / "engine.sock"
    server = _UnixServer(str(socket_path), _FakeEngine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
        engine = docker_engine()
        assert engine.available and engine.server_version == "99.1.0-socket"
        assert engine.host == f"unix://{socket_path}"
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nothing.sock'}")
    gone = docker_engine()
    assert not gone.available and "nothing.sock" in str(gone)


# -- the lab's ECR repository ------------------------------------------------------


def test_repository_is_made_once_tagged_and_torn_down(lab):
    first = ecr.ensure_repository(lab.session, lab.spec)
    again = ecr.ensure_repository(Lab(lab.prefix, session=lab.session).session,
                                  lab.spec)
    assert first["repositoryArn"] == again["repositoryArn"]
    assert first["repositoryName"] == lab.spec.ecr_repository_name
    uri = ecr.repository_uri(lab.session, lab.spec)
    assert first["repositoryUri"] == uri
    assert uri == (f"{lab.session.account_id()}.dkr.ecr.{lab.region}."
                   f"amazonaws.com/{lab.prefix}-image")
    inventory = lab.inventory()
    # The inventory finds it by tag (and masks the account id in what it shows).
    rows = inventory[inventory["resource"] == "ECR repository"]
    assert list(rows["name"]) == [lab.spec.ecr_repository_name]
    assert list(rows["id"]) == [mask(uri)]
    assert lab.teardown().empty


@pytest.mark.parametrize("prefix, name", [("my_lab", "my-lab-image"),
                                          ("a_b-c_9", "a-b-c-9-image")])
def test_an_underscore_in_the_prefix_becomes_a_hyphen_in_the_ecr_name(prefix,
                                                                       name):
    spec = LabSpec(prefix)
    assert spec.ecr_repository_name == name
    assert ECR_NAME.fullmatch(name) and 2 <= len(name) <= 256
    derived = {row["resource"]: row["name"] for row in spec.derived_names()}
    assert derived["ECR repository"] == name


def test_someone_elses_repository_is_not_adopted(session):
    spec = Lab(_prefix(), session=session).spec
    session.client("ecr").create_repository(repositoryName=spec.ecr_repository_name)
    try:
        with pytest.raises(ValueError, match="does not carry this lab's tags"):
            ecr.ensure_repository(session, spec)
    finally:
        session.client("ecr").delete_repository(
            repositoryName=spec.ecr_repository_name, force=True)


def test_push_commands_name_the_real_account_and_never_run_locally(session):
    spec = Lab(_prefix(), session=session).spec
    table = ecr.image_commands(session, spec, masked=False)
    table = table.set_index("step")["command"]
    host = f"{session.account_id()}.dkr.ecr.{session.region}.amazonaws.com"
    assert table["build"] == "docker image build -t image:tag ."
    assert table["tag"] == f"docker image tag image:tag {host}/{spec.prefix}-image:tag"
    assert table["login"] == (
        f"aws ecr --region {session.region} get-login-password | docker login "
        f"--username AWS --password-stdin https://{host}/{spec.prefix}-image")
    assert table["push"] == f"docker image push {host}/{spec.prefix}-image:tag"
    for result in (ecr.login(session, spec), ecr.push_image(session, spec)):
        assert not result.ran and "no ECR registry API" in result.note
    assert ecr.push_image(session, spec).command == table["push"]
    shown = ecr.image_commands(session, spec)["command"].str.cat()
    assert session.account_id() not in shown
    assert ecr.login(session, spec).command == table["login"]
