"""The whole notebook suite under nbval, in a subprocess with its own ECSLAB_HOME.

The root conftest.py starts one emulator for the run (in a temporary folder it
makes with ``mkdtemp``); pointing TMPDIR at a folder of ours lets the benchmark
find and stop that emulator even if the run has to be cut short.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE_TIMEOUT = 300.0
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def run_notebooks(timeout: float = SUITE_TIMEOUT) -> dict:
    """Wall time and outcome counts of ``pytest --nbval-lax notebooks``."""
    scratch = Path(tempfile.mkdtemp(prefix="ecslab-bench-nb-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ECSLAB_HOME=str(scratch / "home"), ECSLAB_SPEED="fast",
               TMPDIR=str(scratch))
    command = [sys.executable, "-m", "pytest", "--nbval-lax", "notebooks", "-q",
               "-p", "no:cacheprovider"]
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        timed_out = True
    wall = time.perf_counter() - began
    _stop_strays(scratch)
    shutil.rmtree(scratch, ignore_errors=True)

    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    for number, kind in _COUNT.findall(summary):
        kind = "errors" if kind.startswith("error") else kind
        if kind in counts:
            counts[kind] += int(number)
    failures = [line.split(" ", 1)[1][:200] for line in output.splitlines()
                if line.startswith(("FAILED ", "ERROR "))]
    return {"seconds": round(wall, 3), "notebooks": notebooks, **counts,
            "failures": failures[:10],
            "exit_code": process.returncode, "timed_out": timed_out,
            "summary": summary[:200]}


def _stop_strays(scratch: Path) -> None:
    # An emulator left by a cut-short run: its state file says which pid.
    for state in scratch.glob("*/emulator.json"):
        try:
            pid = json.loads(state.read_text())["pid"]
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError, KeyError):
            pass
