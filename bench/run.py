"""``make bench``: how fast the course runs locally, measured in one run.

Prints a table (with the machine it ran on) and writes the same figures to
bench/results/<UTC time>.json and bench/results/latest.json. It measures and
reports; it never fails on a timing. ``BENCH_QUICK=1`` runs fewer repetitions
and fewer learners; ``BENCH_RUNS=n`` sets the task lab repetitions. See
bench/README.md for what each figure means.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

# bench/ is a folder of scripts, not a package: its modules import by path.
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

os.environ["ECSLAB_SPEED"] = "fast"
os.environ["ECSLAB_TARGET"] = "local"
# A real profile must never be reachable from the benchmark.
for _key in [k for k in os.environ if k.startswith("AWS_")]:
    del os.environ[_key]

import _report  # noqa: E402
from _cli import run_cli_lab  # noqa: E402
from _emulators import Emulator  # noqa: E402
from _learners import run_learners  # noqa: E402
from _notebooks import run_notebooks  # noqa: E402
from _replay import Recorder, replay  # noqa: E402
from _tasklab import run_task_lab  # noqa: E402

from ecslab.session import Session  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
RUNS = int(os.environ.get("BENCH_RUNS") or (3 if QUICK else 5))
REPLAYS = 5 if QUICK else 10
LEARNERS = (1, 10) if QUICK else (1, 10, 30)
# make bench must finish within ten minutes; the notebook suite gets what is left.
BUDGET = 570.0

log = logging.getLogger("bench")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def measure_task_lab(workdir: Path, cold: dict) -> dict:
    """Measures 1 (memory), 2 and 4 on one emulator; the recorded calls besides."""
    with Emulator() as emulator:
        cold["fidelity"].append(emulator.cold_start)
        session = Session(target="local", endpoint_url=emulator.url)
        recorder = Recorder(session)
        runs = []
        for index in range(RUNS):
            recorder.clear()
            runs.append(run_task_lab(session, f"bench{index}", workdir))
            say(f"task lab run {index + 1}/{RUNS}: {runs[-1].total:.2f} s"
                + (f", errors: {runs[-1].errors}" if runs[-1].errors else ""))
        calls = list(recorder.calls)
        memory = emulator.rss_mib()

        say("task lab through the AWS CLI, one process per step")
        cli = run_cli_lab(session, "benchcli", workdir)
        say(f"AWS CLI: {cli['seconds']:.2f} s, {cli['processes']} processes")

    warm = runs[1:] or runs
    spread = _report.spread([run.total for run in warm])
    steps = {name: _report.spread([run.steps.get(name, 0.0) for run in warm])["median"]
             for name in runs[0].steps}
    lab = {"spread": spread, "first": round(runs[0].total, 3), "calls": len(calls),
           "steps_median": steps, "count": len(runs),
           "errors": sum(len(run.errors) for run in runs),
           "runs": [run.as_dict() for run in runs]}
    cli["ratio_to_lab"] = _report.ratio(cli["seconds"], spread["median"])
    return {"task_lab": lab, "memory_mib": round(memory, 1), "cli": cli,
            "calls": calls}


def measure_replay(calls: list[dict], lab_median: float, cold: dict) -> dict:
    """Measure 3: the recorded calls against plain moto, and against the fidelity
    layer at speed instant (so its tasks stop before teardown asks).

    Both emulators run side by side and the passes alternate, so a burst of load
    from elsewhere on the machine falls on both alike.
    """
    kinds = {"plain": (False, "fast"), "fidelity": (True, "instant")}
    passes: dict[str, list[dict]] = {name: [] for name in kinds}
    with Emulator(fidelity=False) as plain, Emulator(speed="instant") as fidelity:
        cold["plain"].append(plain.cold_start)
        sessions = {"plain": Session(target="local", endpoint_url=plain.url),
                    "fidelity": Session(target="local", endpoint_url=fidelity.url)}
        # One pass more than counted: the first warms each emulator up.
        for _ in range(REPLAYS + 1):
            for name, session in sessions.items():
                passes[name].append(replay(calls, session))

    result = {}
    for name, done in passes.items():
        warm = done[1:]
        result[name] = {**_report.spread([p["seconds"] for p in warm]),
                        "first": round(done[0]["seconds"], 3),
                        "speed": kinds[name][1],
                        "errors_as_recorded": warm[-1]["errors_as_recorded"],
                        "errors_not_recorded": warm[-1]["errors_not_recorded"],
                        "surprises": warm[-1]["surprises"]}
        say(f"replay on {name}: {result[name]['median']:.2f} s "
            f"({len(calls)} calls, median of {REPLAYS})")
    result["ratio_lab_to_plain"] = _report.ratio(lab_median,
                                                 result["plain"]["median"])
    result["ratio_fidelity_to_plain"] = _report.ratio(result["fidelity"]["median"],
                                                      result["plain"]["median"])
    return result


def measure_learners(workdir: Path, cold: dict, started: float) -> list[dict]:
    """Measure 6: N learners at once, each N on a fresh emulator."""
    results = []
    for count in LEARNERS:
        if time.perf_counter() - started > BUDGET - 200:
            results.append({"learners": count,
                            "skipped_reason": "skipped: ten-minute budget"})
            continue
        with Emulator() as emulator:
            cold["fidelity"].append(emulator.cold_start)
            run = run_learners(emulator.url, count, workdir)
            run["memory_mib"] = round(emulator.rss_mib(), 1)
        say(f"{count} learner(s): {run['wall_seconds']:.2f} s, errors "
            f"{run['errors']}, isolated {run['isolated']}")
        results.append(run)
    return results


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    info = _report.machine()
    say(f"ecslab bench{' (quick)' if QUICK else ''}: {_report.facts(info)}")
    cold = {"fidelity": [], "plain": []}

    with tempfile.TemporaryDirectory(prefix="ecslab-bench-") as scratch:
        workdir = Path(scratch)
        lab = measure_task_lab(workdir, cold)
        calls = lab.pop("calls")
        replayed = measure_replay(calls, lab["task_lab"]["spread"]["median"], cold)
        learners = measure_learners(workdir, cold, started)

    remaining = BUDGET - (time.perf_counter() - started)
    if remaining > 30:
        say(f"notebook suite under nbval (at most {remaining:.0f} s)")
        notebooks = run_notebooks(timeout=remaining)
        say(f"notebooks: {notebooks['summary'] or 'no output'}")
    else:
        notebooks = {"skipped_reason": "skipped: ten-minute budget"}

    result = {
        "quick": QUICK, "runs": RUNS, "machine": info,
        "measures": {
            "cold_start": {k: {**_report.spread(v), "samples": [round(x, 3) for x in v]}
                           for k, v in cold.items()},
            **lab, "replay": replayed, "notebooks": notebooks, "learners": learners,
        },
    }
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    path = _report.save(result)

    print()
    print(_report.table(result))
    print()
    print(f"Machine: {_report.facts(info)}")
    print(f"Bench took {result['total_seconds']:.0f} s; figures in "
          f"{path.relative_to(_report.ROOT)} and bench/results/latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
