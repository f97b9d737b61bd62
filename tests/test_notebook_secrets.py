"""Every notebook, run with sentinel credentials in its environment, shows none of
them, and no 12-digit account id, in any output; its errors shown on purpose are
the errors they are there for; and its cleanup leaves nothing of its lab behind.

Local mode ignores the credentials (dummy ones go to the emulator), and every
table and message the library shows masks account ids. nbval runs the same
notebooks again afterwards on the same emulator, so each lab runs twice in a row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

SENTINELS = {
    "AWS_ACCESS_KEY_ID": "AKIASENTINEL7Q3XK2ZD",
    "AWS_SECRET_ACCESS_KEY": "sentinel/secret/Zq8wLp2Vn5Rt7Yx1Bc4Df6Gh9Jk",
    "AWS_SESSION_TOKEN": "sentinel-session-token-Mv3Ns8Qw1Er6",
}
ACCOUNT_ID = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")


def _texts(notebook) -> list[tuple[int, str]]:
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            found.append((index, json.dumps(output)))
    return found


def _prefix(notebook) -> str | None:
    for cell in notebook.cells:
        match = re.search(r'^PREFIX = "([a-z0-9_-]+)"', cell.source, re.MULTILINE)
        if match:
            return match.group(1)
    return None


def _check_errors_shown_on_purpose(name: str, notebook) -> None:
    """Each cell tagged raises-exception raised, and the error it was there for."""
    for index, cell in enumerate(notebook.cells):
        if "raises-exception" not in cell.metadata.get("tags", []):
            continue
        expected = cell.metadata.get("ecslab", {}).get("expected_error", "")
        errors = [f"{out.ename}: {out.evalue}" for out in cell.get("outputs", [])
                  if out.output_type == "error"]
        assert errors, f"{name} cell {index} should fail with {expected!r} but ran"
        assert expected in errors[0], f"{name} cell {index}: {errors[0]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_hold_no_credentials_or_account_ids(path, endpoint, session,
                                                    monkeypatch):
    for key, value in SENTINELS.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(path, as_version=4)
    # Run a copy beside the original so relative paths (image/, files) resolve,
    # without touching the committed notebook.
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()

    prefix = _prefix(notebook)
    if prefix is not None:
        from ecslab import Lab

        left = Lab(prefix, session=session).inventory()
        assert left.empty, f"{path.name} left {list(left['resource'])} behind"

    _check_errors_shown_on_purpose(path.name, notebook)

    outputs = _texts(notebook)
    assert outputs, f"{path.name} produced no output at all"
    for index, text in outputs:
        for key, value in SENTINELS.items():
            assert value not in text, f"{path.name} cell {index} shows {key}"
        match = ACCOUNT_ID.search(text)
        if match is not None:
            near = text[max(0, match.start() - 60):match.end() + 20]
            pytest.fail(f"{path.name} cell {index} shows an account id: ...{near}...")
