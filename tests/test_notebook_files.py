"""The course's notebooks as files: outputs stripped, and the course's frame."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EXPECTED = ["00_start_here.ipynb", "01_concepts.ipynb", "02_task_lab.ipynb",
            "03_service_lab.ipynb", "04_commands.ipynb"]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def test_the_course_is_complete():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stripped(path):
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {index} has outputs"
            assert cell.get("execution_count") is None, f"cell {index} was run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_frame_is_there(path):
    text = "\n".join("".join(c["source"]) for c in _cells(path)
                     if c["cell_type"] == "markdown")
    for heading in ("Summary", "Exercises", "In practice"):
        assert f"## {heading}" in text, f"{path.name} lacks '## {heading}'"
    lowered = text.lower()
    for word in ("you will do", "you will learn", "you need"):
        assert word in lowered, f"{path.name} lacks the '{word}' frame"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_long_runs_of_code(path):
    run = 0
    for cell in _cells(path):
        run = run + 1 if cell["cell_type"] == "code" else 0
        assert run <= 2, f"{path.name}: more than two code cells in a row"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_error_shown_on_purpose_names_the_error(path):
    # A cell tagged raises-exception only allows an error; the expected text is
    # what the notebook runs check the error against, so a guard that stopped
    # refusing would fail the run instead of passing silently.
    for index, cell in enumerate(_cells(path)):
        if "raises-exception" in cell["metadata"].get("tags", []):
            expected = cell["metadata"].get("ecslab", {}).get("expected_error")
            assert expected, f"{path.name} cell {index}: no expected_error"
