"""Emulator processes for the benchmark: spawned, timed from start, measured, stopped.

Each one runs ``python -m ecslab emulator serve`` in a private ECSLAB_HOME, so the
benchmark never touches a learner's shared emulator.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HEALTH_PATH = "/ecslab/health"
START_TIMEOUT = 60.0


class Emulator:
    """One emulator process; ``cold_start`` is process start to first health answer.

    >>> with Emulator(fidelity=False) as emulator:   # doctest: +SKIP
    ...     emulator.url, emulator.cold_start, emulator.rss_mib()
    """

    def __init__(self, fidelity: bool = True, speed: str = "fast"):
        self.fidelity = fidelity
        self.speed = speed
        self.home = Path(tempfile.mkdtemp(prefix="ecslab-bench-"))
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.cold_start = float("nan")

    def start(self) -> "Emulator":
        state = self.home / "emulator.json"
        command = [sys.executable, "-m", "ecslab", "emulator", "serve",
                   "--port", "0", "--speed", self.speed, "--state-file", str(state)]
        if not self.fidelity:
            command.append("--plain")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(ECSLAB_HOME=str(self.home), ECSLAB_SPEED=self.speed)
        log = open(self.home / "emulator.log", "wb")

        began = time.perf_counter()
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env)
        log.close()
        deadline = began + START_TIMEOUT
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.process.returncode}; "
                                   f"see {self.home / 'emulator.log'}")
            url = _read_url(state)
            if url and _healthy(url):
                self.cold_start = time.perf_counter() - began
                self.url = url
                return self
            time.sleep(0.01)
        self.stop()
        raise TimeoutError(f"emulator did not answer within {START_TIMEOUT:.0f}s")

    def rss_mib(self) -> float:
        """Resident memory of the emulator process (VmRSS), in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _read_url(state: Path) -> str:
    try:
        return json.loads(state.read_text())["url"]
    except (OSError, ValueError, KeyError):
        return ""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=0.5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
