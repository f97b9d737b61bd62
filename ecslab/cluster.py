"""ECS clusters: the logical group where tasks and services run."""

from __future__ import annotations

import logging

from .aws import as_dict, carries, ecs_tags

log = logging.getLogger(__name__)


def find_cluster(ecs, name: str) -> dict | None:
    """The ACTIVE cluster called ``name`` (with its tags), or None."""
    found = ecs.describe_clusters(clusters=[name], include=["TAGS", "SETTINGS"])
    for cluster in found.get("clusters", []):
        if cluster["status"] == "ACTIVE":
            return cluster
    return None


def ensure_cluster(ecs, name: str, tags: dict) -> str:
    """The cluster's ARN; created with Container Insights turned on.

    A same-named cluster without this lab's tags is someone else's: refuse it
    rather than adopt it, so teardown can never delete it.
    """
    cluster = find_cluster(ecs, name)
    if cluster:
        if not carries(as_dict(cluster.get("tags")), tags):
            raise RuntimeError(f"cluster {name} exists but was not made by this lab "
                               "(its tags differ); choose another prefix")
        return cluster["clusterArn"]

    arn = ecs.create_cluster(
        clusterName=name, tags=ecs_tags(tags),
        settings=[{"name": "containerInsights", "value": "enabled"}],
    )["cluster"]["clusterArn"]
    log.info("created ECS cluster %s", name)
    return arn
