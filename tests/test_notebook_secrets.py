"""Every notebook, run with sentinel credentials in its environment, shows none of
them, and no 12-digit account id, in any output; its errors shown on purpose are
the errors they are there for, and its outcomes shown on purpose (a cell with
``ecslab.expected_output``) show what they are there for; and its cleanup leaves
nothing of its lab behind.

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


def _fragments(expected) -> list[str]:
    """An expectation's texts: one string, or a list whose texts must all appear."""
    return [expected] if isinstance(expected, str) else list(expected or [])


def _errors(cell) -> list[str]:
    return [f"{out.ename}: {out.evalue}" for out in cell.get("outputs", [])
            if out.output_type == "error"]


def _shown(cell) -> str:
    """What a cell showed as text: its streams and its results' text/plain."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def _check_errors_shown_on_purpose(name: str, notebook) -> None:
    """Each cell tagged raises-exception raised, and the error it was there for.

    Its first error holds every text of ``ecslab.expected_error``: the AWS error
    code and a piece of AWS's message, since one code covers many refusals.
    """
    for index, cell in enumerate(notebook.cells):
        if "raises-exception" not in cell.metadata.get("tags", []):
            continue
        expected = _fragments(cell.metadata.get("ecslab", {}).get("expected_error"))
        errors = _errors(cell)
        assert expected, f"{name} cell {index} has no ecslab.expected_error"
        assert errors, f"{name} cell {index} should fail with {expected} but ran"
        missing = [text for text in expected if text not in errors[0]]
        assert not missing, (f"{name} cell {index} failed with {errors[0]!r}, "
                             f"not with {missing}")


def _check_outputs_shown_on_purpose(name: str, notebook) -> None:
    """Each cell with ``ecslab.expected_output`` ran and showed all its texts.

    Such a cell shows a mistake that raises nothing (a task that stops on its
    own), so only its output tells whether the mistake still does what the
    prose says.
    """
    for index, cell in enumerate(notebook.cells):
        expected = _fragments(cell.metadata.get("ecslab", {}).get("expected_output"))
        if not expected:
            continue
        errors = _errors(cell)
        assert not errors, (f"{name} cell {index} should show {expected} "
                            f"but raised {errors[0]!r}")
        shown = _shown(cell)
        missing = [text for text in expected if text not in shown]
        assert not missing, (f"{name} cell {index} does not show {missing}; "
                             f"it showed {shown[:400]!r}")


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
    _check_outputs_shown_on_purpose(path.name, notebook)

    outputs = _texts(notebook)
    assert outputs, f"{path.name} produced no output at all"
    for index, text in outputs:
        for key, value in SENTINELS.items():
            assert value not in text, f"{path.name} cell {index} shows {key}"
        match = ACCOUNT_ID.search(text)
        if match is not None:
            near = text[max(0, match.start() - 60):match.end() + 20]
            pytest.fail(f"{path.name} cell {index} shows an account id: ...{near}...")


# The checks above, fed one executed cell by hand, so that a check which could
# not fail (an expectation nobody compares) would show here without an emulator.

REFUSED = {"tags": ["raises-exception"],
           "ecslab": {"expected_error": ["(ValidationError)",
                                         "At least two subnets"]}}
STOPPED = {"ecslab": {"expected_output": ["'stopCode': 'TaskFailedToStart'",
                                          "CannotPullContainerError"]}}


def _executed(metadata: dict, *outputs):
    """A one-cell notebook as nbclient leaves it once the cell has run."""
    cell = nbformat.v4.new_code_cell("...", metadata=metadata)
    cell.outputs = list(outputs)
    return nbformat.v4.new_notebook(cells=[cell])


def _error(message: str):
    return nbformat.v4.new_output("error", ename="ClientError", traceback=[],
                                  evalue=f"An error occurred {message}")


def _result(text: str):
    return nbformat.v4.new_output("execute_result", execution_count=1,
                                  data={"text/plain": text})


def test_an_error_with_its_code_and_message_passes():
    notebook = _executed(REFUSED, _error("(ValidationError) when calling the "
                                         "CreateLoadBalancer operation: At least "
                                         "two subnets in two different ..."))
    _check_errors_shown_on_purpose("nb", notebook)


@pytest.mark.parametrize("outputs, reason", [
    ([_error("(ValidationError): Load balancer name 'a_b' can only contain ...")],
     "not with \\['At least two subnets'\\]"),
    ([_error("(InvalidParameterException): At least two subnets ...")],
     "not with \\['\\(ValidationError\\)'\\]"),
    ([], "should fail with"),
], ids=["another-message", "another-code", "no-error"])
def test_an_error_for_another_reason_fails(outputs, reason):
    with pytest.raises(AssertionError, match=reason):
        _check_errors_shown_on_purpose("nb", _executed(REFUSED, *outputs))


def test_a_tagged_cell_without_an_expected_error_fails():
    notebook = _executed({"tags": ["raises-exception"]}, _error("(Anything)"))
    with pytest.raises(AssertionError, match="no ecslab.expected_error"):
        _check_errors_shown_on_purpose("nb", notebook)


SHOWN = ("{'stopCode': 'TaskFailedToStart',\n 'stoppedReason': "
         "'CannotPullContainerError: ... i/o timeout'}")


@pytest.mark.parametrize("output", [
    _result(SHOWN),
    nbformat.v4.new_output("stream", name="stdout", text=SHOWN),
], ids=["result", "printed"])
def test_an_output_with_its_texts_passes(output):
    progress = nbformat.v4.new_output("display_data",
                                      data={"text/plain": "task: 0/7 states"})
    notebook = _executed(STOPPED, progress, output)
    _check_outputs_shown_on_purpose("nb", notebook)


@pytest.mark.parametrize("outputs, reason", [
    ([_result("{'stopCode': 'EssentialContainerExited', 'stoppedReason': "
              "'Essential container in task exited'}")], "does not show"),
    ([_result("{'stopCode': 'TaskFailedToStart', 'stoppedReason': "
              "'ResourceInitializationError: ...'}")],
     "does not show \\['CannotPullContainerError'\\]"),
    ([_error("(InvalidParameterException): subnets")], "but raised"),
    ([], "does not show"),
], ids=["another-outcome", "another-reason", "raised", "nothing-shown"])
def test_an_output_without_its_texts_fails(outputs, reason):
    with pytest.raises(AssertionError, match=reason):
        _check_outputs_shown_on_purpose("nb", _executed(STOPPED, *outputs))
