"""N learners at once on one emulator: each a thread with its own Session, Lab and
prefix, all in the same account, so only prefixes and tags keep them apart.

Isolation is checked four ways. Just before its teardown, each learner's
inventory must hold exactly the task lab's resources, all named with its own
prefix (it saw nothing of anyone else's, and nobody had deleted any of its own).
Its task must have stopped on its own, not by someone's teardown. A bystander
lab, built before the learners start and left up until they have all torn down,
must come through unchanged. After everyone is done, nothing carrying the lab
tag may remain in the account.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ecslab import Lab
from ecslab.aws import tag_filters
from ecslab.session import Session
from ecslab.spec import LAB_TAG, LAB_TAG_VALUE

from _tasklab import run_task_lab

# What one task lab owns just before teardown (roles belong to the class: below).
EXPECTED = {"vpc": 1, "subnet": 1, "internet gateway": 1, "route table": 1,
            "security group": 1, "cluster": 1, "log group": 1, "task definition": 1}
JOIN_TIMEOUT = 240.0


def run_learners(url: str, count: int, workdir: Path) -> dict:
    """``count`` learners run the task lab at the same moment; what happened."""
    # The prerequisite roles are account-wide, not per learner: an instructor
    # sets them up once (and keeps them), so learners find them and no learner's
    # teardown removes them. The instructor's own run-through warms the
    # emulator up, as a classroom's would be by the time learners start.
    instructor = Session(target="local", endpoint_url=url)
    Lab("instructor", session=instructor).ensure_task_roles()
    # The instructor's own lab stays up while the learners run and tear down:
    # afterwards it must be exactly as it was.
    bystander = run_task_lab(instructor, f"n{count}_bystander", workdir,
                             teardown=False, before_teardown=_snapshot)

    start = threading.Barrier(count)
    runs: dict[int, object] = {}
    crashes: list[str] = []

    def learner(index: int) -> None:
        session = Session(target="local", endpoint_url=url)
        prefix = f"n{count}_learner{index:02d}"
        try:
            start.wait(timeout=60)
            runs[index] = run_task_lab(session, prefix, workdir,
                                       before_teardown=_snapshot)
        except Exception as error:  # noqa: BLE001 - counted, reported
            crashes.append(f"{prefix}: {type(error).__name__}: {error}"[:300])

    threads = [threading.Thread(target=learner, args=(i,), daemon=True)
               for i in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = began + JOIN_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()))
    wall = time.perf_counter() - began
    unfinished = sum(thread.is_alive() for thread in threads)

    finished = list(runs.values())
    errors = [e for run in finished for e in run.errors] + crashes
    saw_others = [f"{run.prefix} saw {row['name']}" for run in finished
                  for row in run.inventory
                  if not row["name"].startswith(run.prefix + "_")]
    lost = [f"{run.prefix}: {problem}" for run in finished
            for problem in _missing(run.inventory)]
    stopped_by_other = [run.prefix for run in finished
                        if run.task.get("stoppedReason") == "ecslab teardown"]
    before = bystander.inventory
    bystander_lab = Lab(bystander.prefix, session=instructor)
    _snapshot(bystander_lab, bystander)
    if sorted(map(str, before)) != sorted(map(str, bystander.inventory)) \
            or _missing(before):
        lost.append(f"{bystander.prefix} (up throughout) changed: "
                    f"{len(before)} resources before, {len(bystander.inventory)} after")
    bystander_lab.teardown()
    leftovers = _leftovers(Session(target="local", endpoint_url=url))
    seconds = sorted(run.total for run in finished)
    return {
        "learners": count, "wall_seconds": round(wall, 3),
        "finished": len(finished), "unfinished": unfinished,
        "errors": len(errors), "error_samples": errors[:5],
        "lab_seconds_median": round(seconds[len(seconds) // 2], 3) if seconds else None,
        "lab_seconds_max": round(seconds[-1], 3) if seconds else None,
        "tasks_stopped": sum(run.task.get("lastStatus") == "STOPPED"
                             for run in finished),
        "saw_others": saw_others[:5], "lost_own": lost[:5],
        "stopped_by_other": stopped_by_other[:5],
        "leftover_after_all": leftovers,
        "isolated": not (saw_others or lost or stopped_by_other or leftovers),
    }


def _snapshot(lab, run) -> None:
    run.inventory = [{"resource": r["resource"], "name": r["name"]}
                     for r in lab.inventory().to_dict("records")]


def _missing(inventory: list[dict]) -> list[str]:
    counts: dict[str, int] = {}
    for row in inventory:
        counts[row["resource"]] = counts.get(row["resource"], 0) + 1
    return [f"{kind}: {counts.get(kind, 0)} found, {want} expected"
            for kind, want in EXPECTED.items() if counts.get(kind, 0) != want]


def _leftovers(session) -> list[str]:
    """Network resources carrying the lab tag anywhere in the account."""
    ec2, ecs = session.client("ec2"), session.client("ecs")
    filters = tag_filters({LAB_TAG: LAB_TAG_VALUE})
    left = [v["VpcId"] for v in ec2.describe_vpcs(Filters=filters)["Vpcs"]]
    left += [s["SubnetId"] for s in ec2.describe_subnets(Filters=filters)["Subnets"]]
    left += [g["GroupId"] for g in
             ec2.describe_security_groups(Filters=filters)["SecurityGroups"]]
    arns = ecs.list_clusters()["clusterArns"]
    # A deleted cluster stays listed, INACTIVE, for a while (as on AWS).
    for start in range(0, len(arns), 100):
        left += [c["clusterName"] for c in ecs.describe_clusters(
            clusters=arns[start:start + 100])["clusters"] if c["status"] == "ACTIVE"]
    return left[:10]
