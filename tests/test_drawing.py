"""Diagrams: drawn from the spec, self-contained, deterministic, and committed."""

import base64
import binascii
import html
import importlib.util
import re
import struct
import uuid
import zlib
from pathlib import Path

import pandas as pd
import pytest

from ecslab import Lab
from ecslab.drawing import DRAWINGS, draw_service_lab, draw_task_lab
from ecslab.spec import TASK_EXECUTION_ROLE, TASK_ROLE, LabSpec

ROOT = Path(__file__).resolve().parent.parent
SPEC = LabSpec(prefix="ecslab")
OTHER = LabSpec(prefix="other", vpc_cidr="10.20.0.0/16",
                subnet_cidrs=("10.20.1.0/24", "10.20.2.0/24"))


def load_render_script():
    """diagrams/render.py, loaded by path: diagrams/ is no package on purpose."""
    spec = importlib.util.spec_from_file_location("render", ROOT / "diagrams/render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def text_of(svg: str) -> str:
    """The SVG with Graphviz's character references (it writes '-' as &#45;) undone."""
    return html.unescape(svg)


def count_icons(svg: str) -> int:
    return svg.count("<image ")


# Bits per pixel of each PNG colour type and the bit depths it allows (PNG spec,
# section 11.2.2: IHDR).
PNG_COLOURS = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)),
               4: (2, (8, 16)), 6: (4, (8, 16))}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png(data: bytes) -> tuple[int, int]:
    """Width and height of a whole, valid PNG; ``AssertionError`` saying what is not.

    Every chunk's CRC is checked, IHDR comes first and IEND last, and the image
    data inflates to exactly the bytes IHDR promises, each scanline starting
    with a known filter: all of decoding but undoing the filters, which cannot
    fail.
    """
    assert data[:8] == PNG_SIGNATURE, "no PNG signature"
    chunks, position = [], 8
    while position < len(data):
        assert position + 12 <= len(data), f"truncated chunk at byte {position}"
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        assert len(body) == length, f"{kind!r} chunk cut short"
        crc = data[position + 8 + length:position + 12 + length]
        assert len(crc) == 4 and struct.unpack(">I", crc)[0] == zlib.crc32(
            kind + body), f"{kind!r} chunk has a wrong CRC"
        chunks.append((kind, body))
        position += 12 + length
    kinds = [kind for kind, _ in chunks]
    assert kinds[:1] == [b"IHDR"] and kinds[-1:] == [b"IEND"], kinds
    assert kinds.count(b"IEND") == 1 and b"IDAT" in kinds, kinds

    header = chunks[0][1]
    assert len(header) == 13, "IHDR is not 13 bytes"
    width, height, depth, colour, method, filtering, interlace = struct.unpack(
        ">IIBBBBB", header)
    assert width > 0 and height > 0, f"empty image {width}x{height}"
    assert colour in PNG_COLOURS and depth in PNG_COLOURS[colour][1], (colour, depth)
    assert method == 0 and filtering == 0 and interlace in (0, 1), header
    assert colour != 3 or b"PLTE" in kinds, "palette image without PLTE"

    inflater = zlib.decompressobj()
    pixels = inflater.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    assert inflater.eof and not inflater.unused_data, "image data does not end right"
    bits = PNG_COLOURS[colour][0] * depth
    position = 0
    for pass_width, pass_height in _passes(width, height, interlace):
        stride = 1 + (pass_width * bits + 7) // 8
        for _ in range(pass_height if pass_width else 0):
            assert position < len(pixels), "image data is short"
            assert pixels[position] <= 4, f"unknown filter {pixels[position]}"
            position += stride
    assert position == len(pixels), f"{len(pixels)} bytes of image data, not {position}"
    return width, height


def _passes(width: int, height: int, interlace: int) -> list[tuple[int, int]]:
    """The size of each reduced image: one, or Adam7's seven (PNG spec, 8.2)."""
    if not interlace:
        return [(width, height)]
    starts = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
              (1, 0, 2, 2), (0, 1, 1, 2)]
    return [(-(-(width - x) // dx), -(-(height - y) // dy))
            for x, y, dx, dy in starts]


def icons_of(svg: str) -> list[bytes]:
    """The bytes of every embedded icon, in document order."""
    payloads = re.findall(r'href="data:image/png;base64,([^"]*)"', svg)
    return [base64.b64decode(p, validate=True) for p in payloads]


def full_inventory(spec: LabSpec) -> pd.DataFrame:
    """One row for every resource either lab creates, as a live listing has."""
    rows = [("vpc", spec.vpc_name), ("internet gateway", spec.internet_gateway_name),
            ("route table", spec.route_table_name),
            ("security group", spec.security_group_name),
            ("security group", spec.lb_security_group_name),
            ("cluster", spec.cluster_name), ("task definition", spec.task_family),
            ("task definition", spec.service_family),
            ("service", spec.service_name), ("log group", spec.log_group_name),
            ("role", TASK_ROLE), ("role", TASK_EXECUTION_ROLE),
            ("role", "AmazonECSServiceRole"),
            ("load balancer", spec.load_balancer_name),
            ("target group", spec.target_group_name), ("listener", "HTTP:80")]
    rows += [("subnet", name) for name in spec.subnet_names()]
    rows += [("task", "")] * spec.desired_count
    return pd.DataFrame([{"resource": kind, "name": name, "id": f"id-{i}",
                          "state": "available"} for i, (kind, name) in enumerate(rows)])


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {stem: draw(SPEC) for stem, draw in DRAWINGS.items()}


@pytest.mark.parametrize("stem", sorted(DRAWINGS))
def test_every_diagram_renders_as_svg_with_icons(rendered, stem):
    svg = rendered[stem]
    assert svg.startswith("<?xml") and "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert count_icons(svg) >= 8


@pytest.mark.parametrize("stem", sorted(DRAWINGS))
def test_svg_has_no_external_reference(rendered, stem):
    svg = rendered[stem]
    hrefs = re.findall(r'href\s*=\s*"([^"]*)"', svg)
    assert hrefs and all(h.startswith("data:image/png;base64,") for h in hrefs)
    # Only the two XML namespace names may mention http; they are names, not links.
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", svg)
    for needle in ("http:", "https:", "file:", "url(", "/work", "/tmp", "/home",
                   "site-packages", "<!DOCTYPE", "<!--"):
        assert needle not in without_namespaces, needle


@pytest.mark.parametrize("stem", sorted(DRAWINGS))
def test_every_icon_is_a_whole_png(rendered, stem):
    icons = icons_of(rendered[stem])
    assert len(icons) == count_icons(rendered[stem])
    for number, icon in enumerate(icons):
        width, height = check_png(icon)
        assert min(width, height) >= 64, (number, width, height)  # drawn at 64 pt


def _with_crc(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body)))


def _icon() -> bytes:
    return icons_of(DRAWINGS["task_lab"](SPEC))[0]


@pytest.mark.parametrize("damage, problem", [
    (lambda png: b"not a png at all" + png, "no PNG signature"),
    (lambda png: png[:len(png) // 2], "cut short|truncated chunk"),
    (lambda png: png[:-12], "IEND"),
    (lambda png: png[:40] + bytes([png[40] ^ 0xFF]) + png[41:], "wrong CRC"),
    (lambda png: png[:8] + _with_crc(b"IHDR", struct.pack(">IIBBBBB", 0, 64, 8, 6,
                                                          0, 0, 0)) + png[33:],
     "empty image 0x64"),
    (lambda png: png[:8] + _with_crc(b"IHDR", png[16:20] + struct.pack(
        ">IBBBBB", 2 * struct.unpack(">I", png[20:24])[0], 8, 6, 0, 0, 0))
     + png[33:], "image data is short"),
])
def test_png_check_fails_on_a_damaged_icon(damage, problem):
    icon = _icon()
    assert check_png(icon)
    with pytest.raises(AssertionError, match=problem):
        check_png(damage(icon))


def test_an_icon_that_is_no_base64_fails():
    svg = '<image xlink:href="data:image/png;base64,!!junk%%"/>'
    with pytest.raises(binascii.Error):
        icons_of(svg)


@pytest.mark.parametrize("stem", sorted(DRAWINGS))
def test_rendering_twice_gives_identical_bytes(rendered, stem):
    again = DRAWINGS[stem](SPEC)
    assert again.encode() == rendered[stem].encode()


def test_committed_svgs_equal_a_fresh_render():
    render = load_render_script()
    for path, svg in render.render_all().items():
        assert path.exists(), f"{path.name} is missing: run make diagrams"
        assert path.read_bytes() == svg.encode(), (
            f"{path.name} is out of date with ecslab/drawing.py or the spec: "
            "run make diagrams")


def test_check_flag_fails_on_a_stale_svg(tmp_path, monkeypatch, capsys):
    render = load_render_script()
    monkeypatch.setattr(render, "HERE", tmp_path)
    (tmp_path / "task_lab.svg").write_text("<svg/>")
    assert render.main(["--check"]) == 1
    assert "run make diagrams" in capsys.readouterr().err
    assert (tmp_path / "task_lab.svg").read_text() == "<svg/>"

    assert render.main([]) == 0
    assert render.main(["--check"]) == 0


def test_another_prefix_and_cidr_show_up_in_the_picture():
    task, service = text_of(draw_task_lab(OTHER)), text_of(draw_service_lab(OTHER))
    for svg in (task, service):
        for text in ("other_vpc", "10.20.0.0/16", "10.20.1.0/24", "other_ecs_cluster",
                     "other_esc_task_log_group", "other_sg_ecs"):
            assert text in svg, text
        assert "ecslab_" not in svg and "10.0.0.0/16" not in svg
    for text in ("10.20.2.0/24", "other-alb", "other-tg", "other_public_subnet_2",
                 "other_sg_alb", "other_ecs_service"):
        assert text in service, text
    assert "hello-world" in task and "httpd" in service


def test_another_port_and_three_subnets_show_up_in_the_picture():
    spec = LabSpec(prefix="three", container_port=8080,
                   subnet_cidrs=("10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"))
    svg = text_of(draw_service_lab(spec))

    # The port is the spec's everywhere the lab uses it: the load balancer's
    # group, the listener, the target group, the tasks' group and the path.
    for text in ("inbound TCP 8080 from 0.0.0.0/0", "HTTP:8080 → forward",
                 "target type ip · HTTP:8080", "inbound TCP 8080 only from",
                 "HTTP 8080", ":8080"):
        assert text in svg, text
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert [t for t in labels if re.search(r"\b80\b", t)] == []

    # One subnet per CIDR, each with its own zone and its share of the tasks.
    for number, cidr in enumerate(spec.subnet_cidrs, start=1):
        assert cidr in svg and f"Availability Zone {number}" in svg
    assert "three_public_subnet_3" in svg and svg.count("cluster_sg_ecs_") == 3
    assert "all 3 subnets" in svg and "both subnets" not in svg
    assert "no task here" not in svg  # three tasks, one in each subnet


def test_service_lab_draws_desired_count_tasks():
    svg = text_of(draw_service_lab(LabSpec(prefix="ecslab", desired_count=5)))
    assert all(f"task {n}</text>" in svg for n in range(1, 6))
    assert "task 6</text>" not in svg

    # With no task at all, both subnets and their security groups still show.
    svg = text_of(draw_service_lab(LabSpec(prefix="ecslab", desired_count=0)))
    assert "task 1</text>" not in svg
    assert "ecslab_public_subnet_2" in svg and svg.count("cluster_sg_ecs_") == 2


@pytest.mark.parametrize("stem", sorted(DRAWINGS))
def test_live_drawing_fills_in_as_resources_appear(rendered, stem):
    draw = DRAWINGS[stem]
    only_vpc = pd.DataFrame([{"resource": "vpc", "name": SPEC.vpc_name,
                              "id": "vpc-0abc", "state": "available"}])
    nothing = only_vpc.iloc[0:0]

    empty, vpc, full = (draw(SPEC, inv) for inv in (nothing, only_vpc,
                                                    full_inventory(SPEC)))
    assert count_icons(vpc) < count_icons(full)
    assert count_icons(empty) <= count_icons(vpc)
    assert "(not created yet)" in vpc and "vpc-0abc" in text_of(vpc)
    # Everything present draws every icon the plan draws, with ids added.
    assert count_icons(full) == count_icons(rendered[stem])
    assert "(not created yet)" not in full and "id-0" in text_of(full)


def test_inventory_without_the_needed_columns_is_refused():
    with pytest.raises(ValueError, match="state"):
        draw_task_lab(SPEC, pd.DataFrame([{"resource": "vpc", "name": "x", "id": "1"}]))


@pytest.mark.parametrize("stem, family", [("task_lab", SPEC.task_family),
                                          ("service_lab", SPEC.service_family)])
def test_live_task_definition_is_found_by_its_revisions(stem, family):
    # The inventory names each revision "family:N", as ECS does.
    rows = [{"resource": "task definition", "name": f"{family}:{n}",
             "id": f"arn:aws:ecs:::task-definition/{family}:{n}", "state": "ACTIVE"}
            for n in (1, 3, 2)]
    svg = text_of(DRAWINGS[stem](SPEC, pd.DataFrame(rows)))
    [label] = re.findall(r"<title>task_definition</title>.*?</g>", svg, re.DOTALL)
    assert "(not created yet)" not in label
    assert "revision 3 · ACTIVE" in label and "revision 2" not in label


def task_label(svg: str) -> str:
    """The text of the task lab's task node."""
    [node] = re.findall(r"<title>task</title>.*?</g>", text_of(svg), re.DOTALL)
    return " / ".join(re.findall(r"<text[^>]*>([^<]*)</text>", node))


def test_task_lab_draws_a_running_task_before_a_stopped_one():
    family = f"family:{SPEC.task_family}"
    rows = [("stopped task", family, "old-stopped", "STOPPED, exit 0"),
            ("task", "service:ecslab_ecs_service", "a-service-task", "RUNNING"),
            ("task", family, "the-running-one", "RUNNING")]
    frame = pd.DataFrame(rows, columns=["resource", "name", "id", "state"])

    label = task_label(draw_task_lab(SPEC, frame))
    assert "the-running-one · RUNNING" in label and "not running now" not in label

    label = task_label(draw_task_lab(SPEC, frame.iloc[:2]))
    assert "old-stopped · STOPPED, exit 0 / not running now" in label

    # A service's task is not the task lab's, and a stopped task is no service's.
    assert "(not created yet)" in task_label(draw_task_lab(SPEC, frame.iloc[1:2]))
    service = text_of(draw_service_lab(SPEC, frame.iloc[:1]))
    assert "old-stopped" not in service and "task 1" in service


def test_live_task_lab_shows_the_task_once_run_and_once_stopped(session, tmp_path):
    lab = Lab("d" + uuid.uuid4().hex[:8], session=session)
    try:
        lab.ensure_task_roles()
        lab.create_network()
        lab.create_cluster()
        lab.create_log_group()
        lab.register_task_definition()
        # Everything the task needs is drawn; the task alone is still missing.
        svg = lab.draw().data
        assert "(not created yet)" in task_label(svg)
        assert svg.count("(not created yet)") == 1

        path = lab.write_run_task_params(tmp_path / "runtask_params.json")
        task_id = lab.run_task(path)
        # Running or already stopped at the emulator's test speed: either way
        # the picture has the task, with its id.
        label = task_label(lab.draw().data)
        assert task_id[:19] in label and "(not created yet)" not in label

        lab.wait_until_stopped(task_id, progress=False)
        svg = lab.draw().data
        label = task_label(svg)
        assert f"{task_id[:19]}… · STOPPED, exit 0 / not running now" in label
        assert count_icons(svg) == count_icons(lab.draw(live=False).data)
        # Only the picture has it: the inventory, which teardown works from,
        # has no stopped task.
        assert not {"task", "stopped task"} & set(lab.inventory()["resource"])
    finally:
        assert lab.teardown().empty
    assert "(not created yet)" in task_label(lab.draw().data)
