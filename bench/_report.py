"""Machine facts, the printed table, and the JSON file under bench/results/."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def machine() -> dict:
    """What the figures were measured on."""
    import boto3
    import moto

    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    aws = subprocess.run([str(Path(sys.executable).parent / "aws"), "--version"],
                         capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(), "cpu_model": model, "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "moto": moto.__version__,
        "boto3": boto3.__version__,
        "awscli": (aws.stdout or aws.stderr).split(" ")[0].strip(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--", "ecslab")),
        "dataplane_commit": _git("log", "-1", "--format=%h %s", "--",
                                 "ecslab/emulator/dataplane.py"),
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def spread(values: list[float]) -> dict:
    """Median, min and max of a list of seconds (or MiB)."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": round(statistics.median(values), 3),
            "min": round(min(values), 3), "max": round(max(values), 3),
            "n": len(values)}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _s(value) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _range(stats: dict) -> str:
    if not stats.get("n"):
        return "not measured"
    return f"min {stats['min']:.2f}, max {stats['max']:.2f}, n={stats['n']}"


def _learners(count: int) -> str:
    return f"{count} learner" + ("" if count == 1 else "s")


def table(result: dict) -> str:
    """The figures as a Markdown table (readable in a terminal, pasteable in docs)."""
    m = result["measures"]
    rows = [("measure", "figure", "detail")]
    cold = m["cold_start"]
    rows.append(("1. emulator cold start, fidelity layer",
                 _s(cold["fidelity"]["median"]),
                 "process start to first /ecslab/health answer; "
                 + _range(cold["fidelity"])))
    rows.append(("1. emulator cold start, plain moto", _s(cold["plain"]["median"]),
                 _range(cold["plain"])))
    rows.append(("1. emulator memory after the task lab",
                 f"{m['memory_mib']:.0f} MiB" if m.get("memory_mib") else "—",
                 f"VmRSS after {m['task_lab']['count']} task lab runs"))
    lab = m["task_lab"]
    rows.append(("2. task lab end to end (Lab API)", _s(lab["spread"]["median"]),
                 f"{_range(lab['spread'])}; of which waiting for STOPPED "
                 f"{_s(lab['steps_median'].get('wait STOPPED'))}; first run on a "
                 f"fresh emulator "
                 f"{_s(lab['first'])}; {lab['calls']} AWS calls; "
                 f"errors {lab['errors']}"))
    replay = m["replay"]
    rows.append(("3. same calls replayed, plain moto", _s(replay["plain"]["median"]),
                 f"{_range(replay['plain'])}; lab / replay = "
                 f"{replay['ratio_lab_to_plain']}×; failed only here: "
                 + (", ".join(replay["plain"]["surprises"]) or "none")))
    rows.append(("3. same calls replayed, fidelity layer",
                 _s(replay["fidelity"]["median"]),
                 f"{_range(replay['fidelity'])}; fidelity / plain = "
                 f"{replay['ratio_fidelity_to_plain']}×"))
    cli = m["cli"]
    rows.append(("4. task lab by the AWS CLI", _s(cli.get("seconds")),
                 f"{cli.get('processes', 0)} aws processes; CLI / Lab API = "
                 f"{cli.get('ratio_to_lab')}×; errors {len(cli.get('errors', []))}"))
    nb = m["notebooks"]
    rows.append(("5. notebook suite under nbval", _s(nb.get("seconds")),
                 f"{len(nb.get('notebooks', []))} notebooks: {nb.get('passed', 0)} "
                 f"passed, {nb.get('failed', 0)} failed, {nb.get('errors', 0)} "
                 f"errors" + ("; TIMED OUT" if nb.get("timed_out") else "")
                 + (f"; {nb['skipped_reason']}" if nb.get("skipped_reason") else "")))
    for run in m["learners"]:
        if run.get("skipped_reason"):
            rows.append((f"6. {_learners(run['learners'])} at once", "—",
                         run["skipped_reason"]))
            continue
        rows.append((f"6. {_learners(run['learners'])} at once",
                     _s(run["wall_seconds"]),
                     f"per learner median {_s(run['lab_seconds_median'])}, max "
                     f"{_s(run['lab_seconds_max'])}; errors {run['errors']}; "
                     f"isolated {'yes' if run['isolated'] else 'NO'}; "
                     f"{run['memory_mib']:.0f} MiB"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
             for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def facts(info: dict) -> str:
    return (f"{info['cpus']} CPU ({info['cpu_model']}), {info['memory']} memory, "
            f"{info['os']}; Python {info['python']}, moto {info['moto']}, boto3 "
            f"{info['boto3']}, {info['awscli']}; commit {info['commit']}"
            + (" + uncommitted ecslab changes" if info["uncommitted_changes"] else ""))


def save(result: dict) -> Path:
    """Write bench/results/<UTC time>.json and latest.json; the first's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    path = RESULTS / f"{stamp}.json"
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    return path
