"""Architecture diagrams of the labs, drawn from a ``LabSpec`` as self-contained SVG.

``draw_task_lab`` and ``draw_service_lab`` return SVG text for the notebooks
(``IPython.display.SVG``) and for ``diagrams/render.py``, which commits the
pictures of the default spec. Labels carry the spec's real names and CIDRs, so a
learner's own prefix shows up in the picture.

Two ways to draw:

* **plan** (``inventory=None``): everything the lab will build, in colour.
* **live** (``inventory`` given): a DataFrame with columns ``resource, name, id,
  state``, one row per lab resource that exists now. A resource found there is
  drawn in colour with its id and state under its name; one that is not found is
  drawn in grey with an empty dashed frame instead of its icon and the words "not
  created yet", in its place, so the picture keeps its shape and fills in as the
  lab is built. Icons are drawn only for resources that exist.

The inventory counts a task only until it stops, so that teardown and its
"nothing left" check need not wait for ECS to forget it.
``inventory.with_stopped_tasks`` adds the task lab's stopped tasks to a live
inventory, for the picture alone: once its task has stopped, the task lab draws
it with how it ended (``STOPPED, exit 0``) and the words "not running now",
instead of "not created yet".

Rendering goes through the ``diagrams`` package and Graphviz in a temporary
directory. The result has no external reference (each icon is embedded as a
``data:`` URI) and is byte-identical for the same input on the same Graphviz.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import diagrams
from diagrams import Cluster, Diagram, Edge, Node
from diagrams.aws.compute import (
    ECR,
    ECS,
    ElasticContainerServiceService,
    Fargate,
)
from diagrams.aws.general import InternetAlt1
from diagrams.aws.management import CloudwatchLogs
from diagrams.aws.network import ALB, IGW, RouteTable
from diagrams.aws.security import IAMRole

from ecslab.inventory import STOPPED_TASK
from ecslab.spec import (
    SERVICE_LINKED_ROLE,
    SERVICE_ROLE,
    TASK_EXECUTION_ROLE,
    TASK_ROLE,
    LabSpec,
)

__all__ = ["DRAWINGS", "INVENTORY_COLUMNS", "draw_service_lab", "draw_task_lab"]

INVENTORY_COLUMNS = ("resource", "name", "id", "state")

# Colours of the AWS Architecture Icons' group conventions, so the pictures read
# like the diagrams in AWS's own documentation.
_REGION_BLUE = "#147EBA"
_VPC_PURPLE = "#8C4FFF"
_SUBNET_GREEN = "#7AA116"
_SG_RED = "#DD344C"
_ECS_ORANGE = "#ED7100"
_IAM_RED = "#BF0816"
_TRAFFIC = "#ED7100"
_RELATION = "#7B8894"
_MISSING = "#A7ADB3"

_GRAPH = {
    "pad": "0.4",
    "nodesep": "0.5",
    "ranksep": "0.9",
    "fontsize": "18",
    "labelloc": "t",
    "splines": "spline",
    "compound": "true",
    "newrank": "true",
}
# Every node is an HTML-like label: an icon cell of fixed size over the text. The
# package's own icon nodes have a fixed width and let a long name run over its
# neighbours; a table grows with its text, so Graphviz keeps the names apart.
_NODE = {"shape": "plain", "fixedsize": "false", "fontsize": "12"}
_ICON_SIZE = 64  # points
# Resources with no icon of their own (listener, target group) are text boxes.
_TEXT_NODE = {
    "shape": "box",
    "style": "rounded,filled",
    "fillcolor": "#F4EDFF",
    "color": _VPC_PURPLE,
    "width": "1.6",
    "height": "0.6",
    "margin": "0.15",
}
_TEXT_MISSING = {"style": "rounded,dashed", "fillcolor": "white", "color": _MISSING}


@dataclass(frozen=True)
class _Found:
    """Whether one resource is drawn as existing, and what to print under it."""

    exists: bool
    detail: str = ""
    note: str = ""  # a last line, such as what became of a stopped task


class _Inventory:
    """The lab resources that exist, looked up by resource kind and name.

    ``None`` means a plan: everything is drawn as existing, with no ids.
    """

    def __init__(self, inventory):
        self.is_plan = inventory is None
        self._named: dict[tuple[str, str], dict] = {}
        self._by_kind: dict[str, list[dict]] = defaultdict(list)
        if inventory is None:
            return

        missing = [c for c in INVENTORY_COLUMNS if c not in inventory.columns]
        if missing:
            raise ValueError(f"inventory lacks the column(s) {missing}: it needs "
                             f"{list(INVENTORY_COLUMNS)}, one row per resource")
        for row in inventory.to_dict("records"):
            kind = _text(row["resource"]).lower()
            self._named.setdefault((kind, _text(row["name"])), row)
            self._by_kind[kind].append(row)
            family, _, revision = _text(row["name"]).rpartition(":")
            if kind == "task definition" and family and revision.isdigit():
                # The inventory lists each revision ("family:3"); the picture
                # draws the family, with the newest revision under it.
                newest = self._named.get((kind, family), {}).get("_revision", 0)
                if int(revision) > newest:
                    self._named[(kind, family)] = {
                        **row, "id": f"revision {revision}",
                        "_revision": int(revision)}

    def find(self, kind: str, name: str) -> _Found:
        """A resource the spec names: matched on its kind and exact name."""
        if self.is_plan:
            return _Found(True)
        row = self._named.get((kind, name))
        return _Found(True, _detail(row)) if row else _Found(False)

    def find_any(self, kind: str, count: int) -> list[_Found]:
        """Resources without a name of their own (tasks, listeners), in row order.

        Returns at least ``count`` entries, more if more exist (a service being
        scaled in still shows every task that is running).
        """
        if self.is_plan:
            return [_Found(True)] * count
        rows = self._by_kind.get(kind, [])
        found = [_Found(True, _detail(row)) for row in rows]
        return found + [_Found(False)] * max(0, count - len(found))

    def find_task(self, family: str) -> _Found:
        """A standalone task of ``family``: one not stopped, else the newest stopped.

        A task's inventory name is its group, ``family:<family>`` when RunTask
        started it; a row without a group is taken as the lab's. A service's tasks
        (group ``service:<name>``) are not this one.
        """
        if self.is_plan:
            return _Found(True)
        for kind in ("task", STOPPED_TASK):
            for row in self._by_kind.get(kind, []):
                if _text(row["name"]) in ("", f"family:{family}"):
                    note = "not running now" if kind == STOPPED_TASK else ""
                    return _Found(True, _detail(row), note)
        return _Found(False)


def _text(value) -> str:
    """A cell as text; pandas' missing values (None, NaN) become ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _detail(row: dict) -> str:
    """The id and state of an inventory row, short enough for a label."""
    # An ARN's or a task's id is the part after the last '/'; 20 characters tell
    # two apart and keep the node narrow.
    short_id = _text(row["id"]).rsplit("/", 1)[-1]
    if short_id == _text(row.get("name")):
        short_id = ""  # a role's or log group's id is its name, already shown
    elif len(short_id) > 20:
        short_id = short_id[:19] + "…"
    return " · ".join(part for part in (short_id, _text(row["state"])) if part)


def _resource(icon: type[Node] | None, key: str, lines: list[str],
              found: _Found) -> Node:
    """One resource: its icon over its label lines, then its id and state if live.

    A missing resource keeps its place and size, with an empty dashed frame where
    the icon would be. ``icon=None`` draws a text box, for a resource that has no
    AWS icon (listener, target group).
    """
    if found.detail:
        lines = lines + [found.detail]
    if found.note:
        lines = lines + [found.note]
    if not found.exists:
        lines = lines + ["(not created yet)"]
    text = "<BR/>".join(html.escape(line) for line in lines)
    colour = "#232F3E" if found.exists else _MISSING

    if icon is None:
        attrs = {**_TEXT_NODE, **({} if found.exists else _TEXT_MISSING)}
        return Node(f"<{text}>", nodeid=key, fontcolor=colour, **attrs)

    size = f'FIXEDSIZE="TRUE" WIDTH="{_ICON_SIZE}" HEIGHT="{_ICON_SIZE}"'
    if found.exists:
        src = html.escape(_icon_path(icon))
        picture = f'<TD {size}><IMG SRC="{src}" SCALE="TRUE"/></TD>'
    else:
        picture = f'<TD {size} BORDER="1" COLOR="{_MISSING}" STYLE="dashed"> </TD>'
    table = ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2">'
             f"<TR>{picture}</TR><TR><TD>{text}</TD></TR></TABLE>")
    return Node(f"<{table}>", nodeid=key, fontcolor=colour)


def _icon_path(icon: type[Node]) -> str:
    """Where the diagrams package keeps the PNG of one of its node classes."""
    return str(_PACKAGE_ROOT / icon._icon_dir / icon._icon)


# The folder holding the diagrams package and its "resources" icon folder.
_PACKAGE_ROOT = Path(diagrams.__file__).resolve().parent.parent


def _group(key: str, label: str, colour: str, found: _Found, *, fill: str = "white",
           dashed: bool = False) -> Cluster:
    """A Graphviz cluster with a stable id, greyed and dashed when missing."""
    if not found.exists:
        label, colour, fill = label + "  (not created yet)", _MISSING, "white"
        dashed = True
    elif found.detail:
        label = f"{label}  [{found.detail}]"
    style = "rounded,dashed" if dashed else "rounded"
    group = Cluster(label, graph_attr={
        "pencolor": colour, "fontcolor": colour if not found.exists else "#232F3E",
        "bgcolor": fill, "style": style, "penwidth": "1.6", "fontsize": "14",
        "margin": "16",
    })
    # The package names a cluster after its label; two security-group boxes with
    # the same label would then merge, and a label is no stable id.
    group.dot.name = f"cluster_{key}"
    return group


def _edge(label: str = "", *, traffic: bool = False, **attrs) -> Edge:
    """A traffic hop (bold, orange) or a relation between resources (grey, dashed)."""
    if traffic:
        style = {"color": _TRAFFIC, "penwidth": "2.2", "fontcolor": _TRAFFIC}
    else:
        style = {"color": _RELATION, "style": "dashed", "fontsize": "11"}
    return Edge(label=label, **{**style, **attrs})


def _image_lines(image: str) -> list[str]:
    """A container image URI broken after its registry and repository path."""
    head, _, tail = image.rpartition("/")
    return ["image", head + "/", tail] if head else ["image", tail]


def _title(spec: LabSpec, what: str, inv: _Inventory) -> str:
    """The caption: which lab, whose prefix, and whether it is a plan or live."""
    mode = ("plan: everything the lab creates" if inv.is_plan else
            "live: grey dashed = not created yet")
    return f"{what} — prefix {spec.prefix}, region {spec.region} ({mode})"


def draw_task_lab(spec: LabSpec, inventory=None) -> str:
    """SVG of the task lab: one Fargate task of hello-world in a public subnet.

    Draws the internet gateway, the VPC and its public subnet with their CIDRs,
    the route table (0.0.0.0/0 to the gateway), the security group, the cluster,
    the task definition and its task, the log group and the two roles. With an
    ``inventory`` (see the module docstring) only what exists is in colour; the
    task is one of the lab's not yet stopped, else the newest stopped one that
    ``inventory.with_stopped_tasks`` added, labelled with how it ended.
    """
    inv = _Inventory(inventory)

    def build():
        internet = _resource(InternetAlt1, "internet", ["internet"], _Found(True))
        image = _resource(ECR, "image", ["ECR Public Gallery"]
                          + _image_lines(spec.task_image)[1:], _Found(True))

        with _group("region", f"Region {spec.region}", _REGION_BLUE, _Found(True),
                    dashed=True):
            with _group("vpc", f"VPC {spec.vpc_name}  {spec.vpc_cidr}", _VPC_PURPLE,
                        inv.find("vpc", spec.vpc_name), fill="#FBF9FF"):
                igw = _resource(IGW, "igw", [spec.internet_gateway_name],
                                inv.find("internet gateway",
                                         spec.internet_gateway_name))
                routes = _resource(RouteTable, "route_table", [
                    spec.route_table_name, "0.0.0.0/0 → internet gateway",
                    f"{spec.vpc_cidr} → local"],
                    inv.find("route table", spec.route_table_name))
                with _group("subnet", f"public subnet {spec.subnet_name}  "
                            f"{spec.subnet_cidrs[0]}", _SUBNET_GREEN,
                            inv.find("subnet", spec.subnet_name), fill="#F2F6E8"):
                    with _group("sg", f"security group {spec.security_group_name}"
                                "\nno inbound; outbound all", _SG_RED,
                                inv.find("security group",
                                         spec.security_group_name), dashed=True):
                        task = _resource(Fargate, "task", [
                            "Fargate task", spec.task_container_name,
                            f"cpu {spec.task_cpu} · memory {spec.task_memory}"],
                            inv.find_task(spec.task_family))

            with _group("ecs", f"ECS cluster {spec.cluster_name}", _ECS_ORANGE,
                        inv.find("cluster", spec.cluster_name), fill="#FFF7F0"):
                taskdef = _resource(ECS, "task_definition", [
                    "task definition", spec.task_family],
                    inv.find("task definition", spec.task_family))
            logs = _resource(CloudwatchLogs, "log_group", [
                "log group", spec.log_group_name,
                f"stream prefix {spec.log_stream_prefix}"],
                inv.find("log group", spec.log_group_name))

        with _group("iam", "IAM (global)", _IAM_RED, _Found(True)):
            task_role = _resource(IAMRole, "task_role", [
                TASK_ROLE, "for the container's", "own AWS calls"],
                inv.find("role", TASK_ROLE))
            exec_role = _resource(IAMRole, "execution_role", [
                TASK_EXECUTION_ROLE, "for ECS: pull the image,", "write the logs"],
                inv.find("role", TASK_EXECUTION_ROLE))

        image >> _edge("image pull", traffic=True) >> internet
        internet >> _edge(traffic=True) >> igw
        igw >> _edge(traffic=True) >> routes
        routes >> _edge("route", traffic=True) >> task
        taskdef >> _edge("run-task") >> task
        task >> _edge("awslogs") >> logs
        task_role >> _edge("taskRoleArn") >> taskdef
        exec_role >> _edge("executionRoleArn") >> taskdef

    return _render(_title(spec, "ECS task lab", inv), build)


def draw_service_lab(spec: LabSpec, inventory=None) -> str:
    """SVG of the service lab: ``desired_count`` httpd tasks behind a load balancer.

    Draws every public subnet of ``spec.subnet_cidrs`` (one per Availability
    Zone), the internet gateway and route table, the load balancer with its HTTP
    listener and ip target group, the service's tasks spread across the subnets,
    the two security groups (the load balancer's open on the port, the tasks'
    admitting it only from the load balancer's group), the path a request takes
    (internet, gateway, load balancer, target group, task), the log group and the
    roles. Ports are ``spec.container_port``, which the lab uses for the listener,
    the target group and both groups' rules. With an ``inventory`` only what
    exists is in colour.
    """
    inv = _Inventory(inventory)
    subnets = list(zip(spec.subnet_names(), spec.subnet_cidrs))
    # Two subnets read "both"; the lab makes one per CIDR, so say how many.
    all_subnets = "both subnets" if len(subnets) == 2 else f"all {len(subnets)} subnets"
    port = spec.container_port
    tasks = inv.find_any("task", spec.desired_count)

    def build():
        internet = _resource(InternetAlt1, "internet", ["internet"], _Found(True))

        with _group("region", f"Region {spec.region}", _REGION_BLUE, _Found(True),
                    dashed=True):
            with _group("vpc", f"VPC {spec.vpc_name}  {spec.vpc_cidr}", _VPC_PURPLE,
                        inv.find("vpc", spec.vpc_name), fill="#FBF9FF"):
                igw = _resource(IGW, "igw", [spec.internet_gateway_name],
                                inv.find("internet gateway",
                                         spec.internet_gateway_name))
                routes = _resource(RouteTable, "route_table", [
                    spec.route_table_name, "0.0.0.0/0 → internet gateway",
                    all_subnets],
                    inv.find("route table", spec.route_table_name))
                with _group("sg_alb", f"security group {spec.lb_security_group_name}"
                            f"\ninbound TCP {port} from 0.0.0.0/0", _SG_RED,
                            inv.find("security group", spec.lb_security_group_name),
                            dashed=True):
                    alb = _resource(ALB, "load_balancer", [
                        "load balancer", spec.load_balancer_name,
                        f"internet-facing, {all_subnets}"],
                        inv.find("load balancer", spec.load_balancer_name))
                    listener = _resource(None, "listener", [
                        "listener", f"HTTP:{port} → forward"],
                        inv.find_any("listener", 1)[0])
                target_group = _resource(None, "target_group", [
                    "target group", spec.target_group_name,
                    f"target type ip · HTTP:{port}"],
                    inv.find("target group", spec.target_group_name))

                task_nodes = {}
                # Graphviz stacks the clusters of one rank bottom-up in the order
                # they are made; the first subnet is made last to be drawn on top.
                for index, (name, cidr) in reversed(list(enumerate(subnets))):
                    with _group(f"subnet_{index + 1}",
                                f"public subnet {name}  {cidr}\n"
                                f"Availability Zone {index + 1}", _SUBNET_GREEN,
                                inv.find("subnet", name), fill="#F2F6E8"):
                        with _group(f"sg_ecs_{index + 1}",
                                    f"security group {spec.security_group_name}\n"
                                    f"inbound TCP {port} only from "
                                    f"{spec.lb_security_group_name}", _SG_RED,
                                    inv.find("security group",
                                             spec.security_group_name),
                                    dashed=True):
                            # ECS spreads a service's tasks across its subnets.
                            numbers = range(index, len(tasks), len(subnets))
                            if not numbers:
                                # Graphviz drops an empty cluster, and with it
                                # the subnet; a note keeps both in the picture.
                                Node("no task here", nodeid=f"no_task_{index + 1}",
                                     shape="plaintext", fontcolor=_MISSING)
                            for number in reversed(numbers):
                                task_nodes[number] = _resource(
                                    Fargate, f"task_{number + 1}",
                                    [f"task {number + 1}",
                                     spec.service_container_name],
                                    tasks[number])

            with _group("ecs", f"ECS cluster {spec.cluster_name}", _ECS_ORANGE,
                        inv.find("cluster", spec.cluster_name), fill="#FFF7F0"):
                service = _resource(ElasticContainerServiceService, "service", [
                    "service", spec.service_name,
                    f"desired count {spec.desired_count} · FARGATE"],
                    inv.find("service", spec.service_name))
                taskdef = _resource(ECS, "task_definition", [
                    "task definition", spec.service_family,
                    _image_lines(spec.service_image)[-1]],
                    inv.find("task definition", spec.service_family))
            logs = _resource(CloudwatchLogs, "log_group", [
                "log group", spec.log_group_name,
                f"stream prefix {spec.log_stream_prefix}"],
                inv.find("log group", spec.log_group_name))

        with _group("iam", "IAM (global)", _IAM_RED, _Found(True)):
            task_role = _resource(IAMRole, "task_role", [
                TASK_ROLE, "for the containers'", "own AWS calls"],
                inv.find("role", TASK_ROLE))
            exec_role = _resource(IAMRole, "execution_role", [
                TASK_EXECUTION_ROLE, "for ECS: pull the image,", "write the logs"],
                inv.find("role", TASK_EXECUTION_ROLE))
            service_role = _resource(IAMRole, "service_role", [
                SERVICE_ROLE, "an awsvpc service uses", SERVICE_LINKED_ROLE,
                "instead"], inv.find("role", SERVICE_ROLE))

        internet >> _edge(f"HTTP {port}", traffic=True) >> igw
        igw >> _edge(traffic=True) >> alb
        alb >> _edge(traffic=True) >> listener
        listener >> _edge("forward", traffic=True) >> target_group
        for _, task in sorted(task_nodes.items()):
            target_group >> _edge(f":{port}", traffic=True) >> task
            task >> _edge() >> logs
        routes >> _edge("0.0.0.0/0") >> igw
        if task_nodes:
            service >> _edge(f"keeps {spec.desired_count} running") >> task_nodes[0]
        service >> _edge("registers task IPs") >> target_group
        taskdef >> _edge() >> service
        task_role >> _edge("taskRoleArn") >> taskdef
        exec_role >> _edge("executionRoleArn") >> taskdef
        service_role >> _edge(style="invis") >> service

    return _render(_title(spec, "ECS service lab", inv), build)


DRAWINGS = {"task_lab": draw_task_lab, "service_lab": draw_service_lab}
"""Every diagram the course commits: file stem -> function of (spec, inventory)."""


def _render(title: str, build) -> str:
    """Run ``build`` inside a Diagram, render it with Graphviz, return clean SVG."""
    with tempfile.TemporaryDirectory(prefix="ecslab-diagram-") as tmp:
        path = os.path.join(tmp, "diagram")
        with Diagram(title, filename=path, outformat="svg", show=False,
                     direction="LR", graph_attr=_GRAPH, node_attr=_NODE):
            build()
        svg = Path(path + ".svg").read_text(encoding="utf-8")
        return _self_contained(svg, tmp)


_HREF = re.compile(r'xlink:href="([^"]*)"')
_COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)
_DOCTYPE = re.compile(r"<!DOCTYPE[^>]*>\n?")


def _self_contained(svg: str, tmp: str) -> str:
    """Embed every icon as a data: URI and drop what varies between runs.

    Graphviz's comments carry its version and the input's name, and the DOCTYPE
    points at the W3C's DTD over http; neither is needed to display the picture.
    """
    icons: dict[str, str] = {}

    def embed(match: re.Match) -> str:
        href = html.unescape(match.group(1))
        if href.startswith("data:"):
            return match.group(0)
        if href not in icons:
            icons[href] = _data_uri(Path(href))
        return f'xlink:href="{icons[href]}"'

    svg = _HREF.sub(embed, svg)
    svg = _COMMENT.sub("", svg)
    svg = _DOCTYPE.sub("", svg)
    for place in (tmp, str(_PACKAGE_ROOT)):
        if place in svg:
            raise RuntimeError(f"the rendered SVG still names {place}: Graphviz "
                               "wrote a file reference this function does not know")
    return svg


def _data_uri(icon: Path) -> str:
    """A PNG icon of the diagrams package as a data: URI."""
    if icon.suffix.lower() != ".png" or not icon.is_file():
        raise ValueError(f"icon {icon} is not a PNG file of the diagrams package")
    return "data:image/png;base64," + base64.b64encode(icon.read_bytes()).decode()
