"""CloudWatch Logs: the log group tasks write to, and reading a task's events."""

from __future__ import annotations

import logging

import pandas as pd

from .aws import carries

log = logging.getLogger(__name__)


def find_log_group(logs, name: str) -> dict | None:
    for group in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]:
        if group["logGroupName"] == name:
            return group
    return None


def ensure_log_group(logs, name: str, tags: dict, retention_days: int = 7) -> str:
    """The log group's name; created with tags and a short retention (logs cost).

    A same-named group without this lab's tags is someone else's: ``ValueError``
    rather than adopting it (and changing its retention), since teardown would
    never delete it.
    """
    if find_log_group(logs, name) is None:
        logs.create_log_group(logGroupName=name, tags=tags)
        log.info("created log group %s", name)
    elif not carries(group_tags(logs, name), tags):
        raise ValueError(f"log group {name} exists but does not carry this lab's "
                         "tags: choose another prefix")
    logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
    log.info("log group %s keeps events for %d days", name, retention_days)
    return name


def group_tags(logs, name: str) -> dict[str, str]:
    group = find_log_group(logs, name)
    if group is None:
        return {}
    arn = group["arn"].removesuffix(":*")
    return logs.list_tags_for_resource(resourceArn=arn).get("tags", {})


def stream_name(stream_prefix: str, container: str, task_id: str) -> str:
    """awslogs names a task's stream ``prefix/container/task-id``.

    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
    """
    return f"{stream_prefix}/{container}/{task_id}"


def read_events(logs, group: str, stream: str, limit: int = 1000) -> pd.DataFrame:
    """A stream's events as a table (time, message); empty if there are none."""
    rows = []
    kwargs = {"logGroupName": group, "logStreamName": stream,
              "startFromHead": True, "limit": limit}
    try:
        events = logs.get_log_events(**kwargs)["events"]
    except logs.exceptions.ResourceNotFoundException:
        events = []
    for event in events:
        rows.append({"time": pd.Timestamp(event["timestamp"], unit="ms", tz="UTC"),
                     "message": event["message"]})
    return pd.DataFrame(rows, columns=["time", "message"])
