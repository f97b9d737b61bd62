"""The environment files agree: every pin in pyproject.toml and environment.yml
is the exact version requirements.lock installs."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock line is not an exact pin: {line}"
            pins[name.lower().replace("_", "-")] = version
    return pins


def _split(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([^;\s]+)", requirement)
    assert match, f"not an exact pin: {requirement}"
    return match.group(1).lower().replace("_", "-"), match.group(3)


def test_pyproject_pins_match_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    lock = _lock()
    for requirement in requirements:
        name, version = _split(requirement)
        assert lock.get(name) == version, f"{name}: pyproject {version}, " \
                                          f"lock {lock.get(name)}"


def test_environment_yml_pins_match_the_lock():
    lock = _lock()
    text = (ROOT / "environment.yml").read_text()
    pins = re.findall(r"^\s+- ([A-Za-z0-9_.\[\]-]+==[^\s]+)$", text, re.MULTILINE)
    assert len(pins) >= 10
    for pin in pins:
        name, version = _split(pin)
        assert lock.get(name) == version, f"{name}: environment.yml {version}, " \
                                          f"lock {lock.get(name)}"
    assert "graphviz" in text


def test_moto_is_pinned_exactly():
    assert _lock()["moto"] == "5.2.5"
