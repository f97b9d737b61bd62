"""Every notebook, run with sentinel credentials in its environment, shows none of
them, and no 12-digit account id, in any output; and its cleanup leaves nothing
of its lab behind.

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

    outputs = _texts(notebook)
    assert outputs, f"{path.name} produced no output at all"
    for index, text in outputs:
        for key, value in SENTINELS.items():
            assert value not in text, f"{path.name} cell {index} shows {key}"
        match = ACCOUNT_ID.search(text)
        if match is not None:
            near = text[max(0, match.start() - 60):match.end() + 20]
            pytest.fail(f"{path.name} cell {index} shows an account id: ...{near}...")
