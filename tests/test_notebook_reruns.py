"""The task lab and the service lab, each run under nbval twice in a row; and the
task lab re-run after a first run that stopped before its clean-up.

The second run meets whatever the first left, on the same emulator: every step
must find what exists rather than duplicate it, and each run's last cell,
``lab.check("teardown")``, fails if anything of the lab remains. The nbval run is
a pytest of its own (its own emulator, from conftest.py), so it starts clean.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
from nbclient import NotebookClient

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


def _task_lab(prefix: str, upto_cleanup: bool):
    """Notebook 02 with its own prefix, cut before its clean-up if asked."""
    notebook = nbformat.read(LABS[0], as_version=4)
    setup = next(c for c in notebook.cells if c.source.startswith("from ecslab"))
    assert 'PREFIX = "handson"' in setup.source
    setup.source = setup.source.replace('"handson"', f'"{prefix}"')
    if upto_cleanup:
        end = next(i for i, c in enumerate(notebook.cells)
                   if c.source.startswith("## Clean up"))
        notebook.cells = notebook.cells[:end]
    return notebook


def _execute(notebook, where: Path) -> None:
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(where)}}).execute()


def test_task_lab_rerun_after_a_run_without_cleanup(session, tmp_path):
    from ecslab import Lab

    prefix = "r" + uuid.uuid4().hex[:8]
    lab = Lab(prefix, session=session)

    # A learner runs everything but the clean-up, twice (a restarted kernel
    # each time): the check cells want exactly one of each resource.
    _execute(_task_lab(prefix, upto_cleanup=True), tmp_path)
    first = lab.inventory().groupby("resource").size().to_dict()
    _execute(_task_lab(prefix, upto_cleanup=True), tmp_path)
    assert lab.inventory().groupby("resource").size().to_dict() == first
    assert first == {"cluster": 1, "internet gateway": 1, "log group": 1,
                     "route table": 1, "security group": 1, "subnet": 1,
                     "task definition": 1, "vpc": 1, "role": 2}

    # Then the whole notebook: it finds all of it and its clean-up clears it.
    _execute(_task_lab(prefix, upto_cleanup=False), tmp_path)
    assert lab.inventory().empty
