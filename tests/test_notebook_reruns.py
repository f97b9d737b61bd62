"""The task lab and the service lab, each run under nbval twice in a row.

The second run meets whatever the first left, on the same emulator: every step
must find what exists rather than duplicate it, and each run's last cell,
``lab.check("teardown")``, fails if anything of the lab remains. The run is a
pytest of its own (its own emulator, from conftest.py), so it starts clean.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABS = [ROOT / "notebooks" / "02_task_lab.ipynb",
        ROOT / "notebooks" / "03_service_lab.ipynb"]


def _code_cells(path: Path) -> int:
    cells = json.loads(path.read_text())["cells"]
    return sum(1 for cell in cells if cell["cell_type"] == "code")


def test_labs_run_twice_in_a_row_under_nbval():
    order = [path for path in LABS for _ in range(2)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--keep-duplicates",
         "-p", "no:cacheprovider", "-q", *map(str, order)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

    # nbval makes one test of each code cell: all of them, in all four runs.
    expected = sum(_code_cells(path) for path in order)
    summary = re.search(r"(\d+) passed", result.stdout)
    assert summary and int(summary.group(1)) == expected, result.stdout[-2000:]
    assert "failed" not in result.stdout.splitlines()[-1]
    # What makes a pass mean "nothing left": each lab ends by checking teardown.
    for path in LABS:
        cells = json.loads(path.read_text())["cells"]
        last = [c for c in cells if c["cell_type"] == "code"][-1]
        assert "".join(last["source"]).strip() == 'lab.check("teardown")', path.name
