"""Test set-up shared by the library tests and the notebook runs (nbval).

Every test run gets its own emulator process, in a private ECSLAB_HOME, at test
speed; notebook kernels inherit the environment and so find the same emulator.
"""

from __future__ import annotations

import os
import shutil
import tempfile

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


@pytest.fixture
def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
