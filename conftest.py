"""Test set-up shared by the library tests and the notebook runs (nbval).

Every test run gets its own emulator process, in a private ECSLAB_HOME, at test
speed; notebook kernels inherit the environment and so find the same emulator.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_HOME = None


def pytest_configure(config):
    global _HOME
    _HOME = tempfile.mkdtemp(prefix="ecslab-test-")
    os.environ["ECSLAB_HOME"] = _HOME
    os.environ.setdefault("ECSLAB_SPEED", "fast")
    os.environ["ECSLAB_TARGET"] = "local"
    # A real profile must never be reachable from a test.
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def pytest_unconfigure(config):
    from ecslab import emulator

    emulator.stop()
    if _HOME:
        shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def endpoint() -> str:
    """URL of the test run's emulator process (started on first use)."""
    from ecslab import emulator

    return emulator.ensure_running()


@pytest.fixture(scope="session")
def session(endpoint):
    from ecslab.session import Session

    return Session(target="local", endpoint_url=endpoint)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def in_ci() -> bool:
    return _in_ci()


# Debian's package; the flags keep it off the network this machine does not have.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium driven by Playwright, one per test module.

    Missing, it skips the test on a desk and fails it in CI, where the browser
    checks must run.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        message = f"Chromium ({CHROMIUM}) or playwright is missing"
        if _in_ci():
            pytest.fail(message + ": CI must run the browser checks")
        pytest.skip(message + " (sudo apt-get install chromium)")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()
