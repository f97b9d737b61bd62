"""`ecslab lab` (what `make lab` runs) serves JupyterLab on loopback with the
course's notebooks, with the emulator answering and its endpoint in the
environment of JupyterLab's terminals and kernels (local target), or the
learner's own credential chain untouched (aws target)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ecslab import emulator

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def jupyter_lab(endpoint, tmp_path):
    port = _free_port()
    token = "ecslab-test-token"
    env = {**os.environ, "JUPYTER_TOKEN": token, "JUPYTER_RUNTIME_DIR": str(tmp_path),
           "DISPLAY": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "ecslab", "lab", "--port", str(port),
         "--notebooks", str(ROOT / "notebooks"), "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stdout.read().decode())
            time.sleep(0.5)
    else:
        os.killpg(process.pid, signal.SIGTERM)
        pytest.fail("JupyterLab did not answer within 90 s")
    yield url, token
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_lab_serves_the_notebooks_and_the_emulator(jupyter_lab, endpoint):
    url, token = jupyter_lab
    contents = _get(f"{url}/api/contents?token={token}")
    names = {item["name"] for item in contents["content"]}
    assert "00_start_here.ipynb" in names and "02_task_lab.ipynb" in names
    page = urllib.request.urlopen(f"{url}/lab?token={token}", timeout=10).read()
    assert b"JupyterLab" in page
    assert emulator.ping(endpoint)["ok"] is True
    assert endpoint.startswith("http://127.0.0.1:")


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port``, read from the kernel.

    /proc/net/tcp{,6} hold one line per socket: the local address in hex (IPv4
    little-endian), and state 0A for LISTEN.
    """
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port:
                continue
            if len(address) == 8:
                found.add(socket.inet_ntop(socket.AF_INET,
                                           bytes.fromhex(address)[::-1]))
            else:
                words = [bytes.fromhex(address[i:i + 8])[::-1] for i in
                         range(0, 32, 8)]
                found.add(socket.inet_ntop(socket.AF_INET6, b"".join(words)))
    return found


def test_lab_binds_loopback_only(jupyter_lab, endpoint):
    url, _ = jupyter_lab
    for port in (int(url.rsplit(":", 1)[1]), int(endpoint.rsplit(":", 1)[1])):
        addresses = _listening_addresses(port)
        assert addresses, f"nothing listens on port {port}"
        assert addresses <= {"127.0.0.1", "::1"}, (port, addresses)


class _Exec(Exception):
    """Raised by the stand-in for os.execvpe, carrying what would have run."""


def _exec_env(monkeypatch, *argv) -> dict:
    from ecslab import cli

    def capture(file, args, env):
        raise _Exec(args, env)

    monkeypatch.setattr(cli.os, "execvpe", capture)
    with pytest.raises(_Exec) as caught:
        cli.main(["lab", "--no-browser", *argv])
    return caught.value.args[1]


def test_local_lab_hands_kernels_and_terminals_the_emulator(endpoint, monkeypatch):
    from ecslab.session import DUMMY_ACCESS_KEY_ID, LOCAL_ENV_MARKER

    monkeypatch.setenv("ECSLAB_TARGET", "local")
    monkeypatch.setenv("AWS_PROFILE", "someones-real-profile")
    env = _exec_env(monkeypatch)
    assert env["AWS_ENDPOINT_URL"] == endpoint == env[LOCAL_ENV_MARKER]
    assert env["AWS_ACCESS_KEY_ID"] == DUMMY_ACCESS_KEY_ID
    assert env["AWS_CONFIG_FILE"] == os.devnull
    assert "AWS_PROFILE" not in env and env["ECSLAB_TARGET"] == "local"


def test_aws_lab_leaves_the_credential_chain_alone(endpoint, monkeypatch):
    from ecslab.session import LOCAL_ENV_MARKER

    monkeypatch.setenv("ECSLAB_TARGET", "aws")
    monkeypatch.setenv("AWS_PROFILE", "learner")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    env = _exec_env(monkeypatch)
    assert env["ECSLAB_TARGET"] == "aws" and env["AWS_PROFILE"] == "learner"
    assert "AWS_ENDPOINT_URL" not in env and LOCAL_ENV_MARKER not in env
    assert "AWS_ACCESS_KEY_ID" not in env
