"""The task lab end to end through the ``Lab`` API, timed step by step.

The same steps as notebook 02: prerequisite roles, network, cluster, log group,
task definition, the run-task file, the task run to STOPPED, its logs, teardown.
"""

from __future__ import annotations

import time
from pathlib import Path

from ecslab import Lab

# (step name, what it does with a Lab and the run-task file's path)
STEPS = [
    ("roles", lambda lab, path: lab.ensure_task_roles()),
    ("network", lambda lab, path: lab.create_network()),
    ("cluster", lambda lab, path: lab.create_cluster()),
    ("log group", lambda lab, path: lab.create_log_group()),
    ("task definition", lambda lab, path: lab.register_task_definition()),
    ("run-task file", lambda lab, path: lab.write_run_task_params(path)),
    ("run task", lambda lab, path: lab.run_task(path)),
    ("wait STOPPED", lambda lab, path: lab.wait_until_stopped(timeout=WAIT_TIMEOUT,
                                                               progress=False)),
    ("read logs", lambda lab, path: lab.task_logs()),
]
# At test speed the task stops within seconds; a minute means it never will.
WAIT_TIMEOUT = 60.0


class LabRun:
    """What one run of the task lab did: per-step seconds, errors, what it saw."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.steps: dict[str, float] = {}
        self.errors: list[str] = []
        self.inventory: list[dict] = []  # snapshot taken just before teardown
        self.task: dict = {}  # the task's summary after the wait
        self.log_events = 0

    @property
    def total(self) -> float:
        return sum(self.steps.values())

    def as_dict(self) -> dict:
        return {"prefix": self.prefix, "seconds": round(self.total, 3),
                "steps": {k: round(v, 3) for k, v in self.steps.items()},
                "errors": self.errors, "task_status": self.task.get("lastStatus"),
                "stop_code": self.task.get("stopCode"),
                "log_events": self.log_events}


def run_task_lab(session, prefix: str, workdir: Path, teardown: bool = True,
                 keep_roles: bool = False, before_teardown=None) -> LabRun:
    """Run every step of the task lab once; a step that fails is recorded, and the
    run goes on so that teardown still happens.

    ``before_teardown(lab, run)`` runs between the last step and teardown.
    """
    lab = Lab(prefix, session=session)
    run = LabRun(prefix)
    path = Path(workdir) / f"runtask_params_{prefix}.json"
    for name, step in STEPS:
        began = time.perf_counter()
        try:
            result = step(lab, path)
        except Exception as error:  # noqa: BLE001 - the benchmark reports, not stops
            run.errors.append(f"{name}: {type(error).__name__}: {error}"[:300])
            result = None
        run.steps[name] = time.perf_counter() - began
        if name == "wait STOPPED" and isinstance(result, dict):
            run.task = result
        if name == "read logs" and result is not None:
            run.log_events = len(result)

    if before_teardown is not None:
        before_teardown(lab, run)
    if teardown:
        began = time.perf_counter()
        try:
            remaining = lab.teardown(keep_roles=keep_roles)
            if len(remaining):
                run.errors.append(f"teardown: {len(remaining)} resource(s) remain")
        except Exception as error:  # noqa: BLE001
            run.errors.append(f"teardown: {type(error).__name__}: {error}"[:300])
        run.steps["teardown"] = time.perf_counter() - began
    return run
