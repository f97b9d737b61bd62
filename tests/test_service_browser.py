"""Notebook 03's scale widget in the real JupyterLab UI, in headless Chromium.

JupyterLab is started as a learner starts it (``ecslab lab``) on loopback, with
the test run's emulator. A copy of notebook 03, cut after the cell that shows
the scale widget and given a prefix of its own, is run with Run > Run All
Cells. The test then types a count into the widget's number box, clicks
"Scale", and reads the service's desired count back through the API. A
screenshot goes to artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

from ecslab import Lab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "03_service_lab.ipynb"
ARTIFACTS = ROOT / "artifacts"
TOKEN = "ecslab-service-browser-test"
WIDGET = ".ecslab-scale-control"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _notebook_up_to_the_widget(folder: Path, prefix: str) -> str:
    """A copy of notebook 03 ending with the scale widget's cell, using ``prefix``."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and 'PREFIX = "' in cell.source:
            start = cell.source.index('PREFIX = "')
            end = cell.source.index('"', start + len('PREFIX = "'))
            cell.source = (cell.source[:start] + f'PREFIX = "{prefix}"'
                           + cell.source[end + 1:])
        cells.append(cell)
        if cell.cell_type == "code" and "scale_control(" in cell.source:
            break
    else:
        pytest.fail("notebook 03 has no cell calling scale_control()")
    assert any(f'PREFIX = "{prefix}"' in c.source for c in cells), "no PREFIX cell"
    notebook.cells = cells
    name = "03_service_widget.ipynb"
    nbformat.write(notebook, folder / name)
    return name


def _api(url: str, path: str, method: str = "GET"):
    request = urllib.request.Request(f"{url}{path}?token={TOKEN}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def _wait_for_idle_kernel(url: str, timeout: float = 90) -> None:
    """Until the notebook's kernel has started and is idle (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        states = [s["kernel"]["execution_state"]
                  for s in _api(url, "/api/sessions") if s.get("kernel")]
        if states == ["idle"]:
            return
        assert time.monotonic() < deadline, f"no idle kernel after {timeout}s: " \
                                            f"{states}"
        time.sleep(0.5)


@pytest.fixture
def jupyter_lab(endpoint, tmp_path):
    """JupyterLab via ``ecslab lab`` serving ``tmp_path/notebooks``; its URL."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    port = _free_port()
    # ECSLAB_HOME (set by conftest) is inherited: kernels find this run's emulator.
    env = {**os.environ, "JUPYTER_TOKEN": TOKEN, "DISPLAY": "",
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ecslab", "lab", "--port", str(port),
         "--notebooks", str(notebooks), "--no-browser"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "wb"),
        env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _api(url, "/api/status")
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail((tmp_path / "lab.log").read_text())
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 90 s")
                time.sleep(0.5)
        yield url, notebooks
    finally:
        # Kernels run in sessions of their own: shut them down through the API.
        try:
            for session in _api(url, "/api/sessions"):
                _api(url, f"/api/sessions/{session['id']}", method="DELETE")
        except OSError:
            pass
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def prefix(session):
    made = "b" + uuid.uuid4().hex[:8]
    yield made
    Lab(made, session=session).teardown()


def test_scale_widget_in_jupyterlab_changes_the_desired_count(
        jupyter_lab, prefix, session, chromium):
    url, notebooks = jupyter_lab
    name = _notebook_up_to_the_widget(notebooks, prefix)
    lab = Lab(prefix, session=session)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "service_scale_control.png"

    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{url}/lab/tree/{name}?token={TOKEN}")
        page.locator(".jp-Notebook").first.wait_for()
        _wait_for_idle_kernel(url)

        page.locator(".lm-MenuBar-itemLabel").get_by_text(
            "Run", exact=True).click()
        page.locator(".lm-Menu-itemLabel").get_by_text(
            "Run All Cells", exact=True).click()

        control = page.locator(WIDGET)
        control.wait_for(state="visible", timeout=240_000)
        control.scroll_into_view_if_needed()
        assert lab.service()["desiredCount"] == 3

        box = control.locator("input[type='number']")
        box.fill("2")
        box.press("Enter")
        control.locator("button", has_text="Scale").click()

        deadline = time.monotonic() + 90
        while lab.service()["desiredCount"] != 2:
            assert time.monotonic() < deadline, \
                "the desired count did not change after clicking Scale"
            time.sleep(0.5)
        # The widget watches the service settle at 2, then says so.
        control.get_by_text("desired count set to 2 — steady").wait_for(
            timeout=90_000)
    finally:
        page.screenshot(path=str(shot), full_page=False)
        page.close()

    assert lab.service()["desiredCount"] == 2
    assert shot.stat().st_size > 0
