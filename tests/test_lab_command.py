"""`ecslab lab` (what `make lab` runs) serves JupyterLab on loopback with the
course's notebooks, with the emulator answering and its endpoint in the
environment of JupyterLab's terminals and kernels."""

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


def test_lab_binds_loopback_only(jupyter_lab):
    url, _ = jupyter_lab
    port = int(url.rsplit(":", 1)[1])
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)
                 if info[0] == socket.AF_INET}
    for address in addresses - {"127.0.0.1"}:
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((address, port)) != 0, address
