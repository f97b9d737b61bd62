"""Small helpers shared by the step modules: tags, error codes, bounded retries."""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def ec2_tags(tags: dict[str, str], name: str | None = None) -> list[dict]:
    """EC2 spelling of tags (``Key``/``Value``), with ``Name`` when given."""
    pairs = dict(tags)
    if name:
        pairs["Name"] = name
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def ecs_tags(tags: dict[str, str]) -> list[dict]:
    """ECS spelling of tags (``key``/``value``)."""
    return [{"key": k, "value": v} for k, v in tags.items()]


def tag_filters(tags: dict[str, str]) -> list[dict]:
    """EC2 ``Filters`` matching every tag in ``tags``."""
    return [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]


def as_dict(pairs: Iterable[dict] | None) -> dict[str, str]:
    """Tags in any AWS spelling (Key/Value or key/value) as a plain dict."""
    result = {}
    for pair in pairs or []:
        key = pair.get("Key", pair.get("key"))
        result[key] = pair.get("Value", pair.get("value", ""))
    return result


def carries(tags: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(tags.get(k) == v for k, v in wanted.items())


def retry(call: Callable, *, codes: set[str], timeout: float, what: str,
          interval: float = 1.0, max_interval: float = 15.0):
    """Call ``call()`` until it stops failing with one of ``codes``.

    AWS answers DependencyViolation and similar errors for a while after a
    dependency goes (network interfaces drain); botocore's retry modes never
    retry them, so teardown does, for at most ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except ClientError as error:
            code = error_code(error)
            if code not in codes or time.monotonic() + interval > deadline:
                raise
            log.info("%s: %s, retrying in %.1fs", what, code, interval)
            time.sleep(interval)
            interval = min(interval * 2, max_interval)
