"""The course's notebooks as files: outputs stripped, and the course's frame."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EXPECTED = ["00_start_here.ipynb", "01_concepts.ipynb", "02_task_lab.ipynb",
            "03_service_lab.ipynb", "04_commands.ipynb"]
# How botocore shows an AWS error code in a ClientError: "(ValidationError)".
AWS_CODE = re.compile(r"\(\w+\)")


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


def _fragments(expected) -> list:
    return [expected] if isinstance(expected, str) else list(expected or [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_error_shown_on_purpose_names_the_error(path):
    # A cell tagged raises-exception only allows an error; the expected texts are
    # what the notebook runs check the error against, so a guard that stopped
    # refusing would fail the run instead of passing silently. One AWS code
    # covers many refusals, so a code alone would also pass a refusal for
    # another reason: a piece of the message must come with it.
    for index, cell in enumerate(_cells(path)):
        expected = _fragments(cell["metadata"].get("ecslab", {})
                              .get("expected_error"))
        if "raises-exception" not in cell["metadata"].get("tags", []):
            assert not expected, (f"{path.name} cell {index}: expected_error on "
                                  "a cell not tagged raises-exception is unchecked")
            continue
        assert expected, f"{path.name} cell {index}: no expected_error"
        assert all(isinstance(text, str) and text for text in expected), expected
        messages = [text for text in expected if not AWS_CODE.fullmatch(text)]
        assert messages, f"{path.name} cell {index}: {expected} is only a code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_output_shown_on_purpose_names_texts(path):
    # expected_output is checked against what a cell showed once it ran without
    # error, so it belongs on an untagged code cell and names non-empty texts.
    for index, cell in enumerate(_cells(path)):
        expected = cell["metadata"].get("ecslab", {}).get("expected_output")
        if expected is None:
            continue
        where = f"{path.name} cell {index}"
        assert cell["cell_type"] == "code", f"{where}: expected_output on markdown"
        tags = cell["metadata"].get("tags", [])
        assert "raises-exception" not in tags, f"{where}: expects output and error"
        texts = _fragments(expected)
        assert texts and all(isinstance(t, str) and t for t in texts), where
