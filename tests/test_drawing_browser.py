"""The committed diagrams, opened in headless Chromium: every icon is really drawn.

For each ``<image>`` of an SVG the page decodes the embedded PNG itself (a
broken or truncated one fails there) and paints it, at the place and size
Chromium gives the image, over a screenshot of what lies behind it with the
icons hidden. That expected picture must differ visibly from the empty
background, and the screenshot of the icon as drawn must be close to it: a
blank or transparent icon, a broken-image placeholder or an icon not painted
all fail. The companion tests break the icons of a committed SVG in each of
those ways, and remove them, and check that the same checks say so.

Full-page screenshots go to artifacts/ (git-ignored) for a human to look at.
Pixels are read with a small PNG decoder below, since Pillow is not among the
pinned packages.
"""

import base64
import math
import re
import struct
import zlib
from pathlib import Path

import pytest

from ecslab.drawing import DRAWINGS
from ecslab.spec import LabSpec

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
pytestmark = pytest.mark.browser

# The screenshot may differ from the expected picture by at most this share of
# how much the icon differs from its background: Chromium filters a scaled
# image a little differently on a canvas and in an SVG, which costs up to 15%
# on thin lines; an icon not painted at all costs 100%.
ERROR = 0.3
# At least this share of an icon's pixels must differ from the background by INK
# or more, so an icon that is there but invisible (transparent) fails.
VISIBLE = 0.03
INK = 48

# For each <image>: where Chromium draws it, and its embedded PNG decoded by the
# page and painted on a canvas covering whole screenshot pixels, as RGBA.
# createImageBitmap decodes the whole file or rejects it; an <img> would show
# the top of a truncated PNG and raise nothing.
_DECODE_ICONS = """async images => Promise.all(images.map(async image => {
  const r = image.getBoundingClientRect();
  const x0 = Math.floor(r.x), y0 = Math.floor(r.y);
  const clip = {x: x0, y: y0, width: Math.ceil(r.right) - x0,
                height: Math.ceil(r.bottom) - y0};
  const href = image.href.baseVal;
  let picture;
  try {
    const text = atob(href.slice(href.indexOf(",") + 1));
    const bytes = Uint8Array.from(text, c => c.charCodeAt(0));
    picture = await createImageBitmap(new Blob([bytes], {type: "image/png"}));
  } catch (error) {
    return {clip, error: String(error)};
  }
  const canvas = new OffscreenCanvas(clip.width, clip.height);
  const context = canvas.getContext("2d");
  context.drawImage(picture, r.x - x0, r.y - y0, r.width, r.height);
  const pixels = context.getImageData(0, 0, clip.width, clip.height).data;
  let bytes = "";
  for (const value of pixels) bytes += String.fromCharCode(value);
  return {clip, natural: [picture.width, picture.height], rgba: btoa(bytes)};
}))"""


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and one RGB row per line of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, position = {}, 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        chunks[kind] = chunks.get(kind, b"") + body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(
        ">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and interlace == 0 and colour in (2, 6), (depth, colour)

    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(chunks[b"IDAT"])
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        unfilter(kind, line, previous, channels)
        rgb = bytes(line) if channels == 3 else bytes(
            b for i, b in enumerate(line) if i % 4 != 3)
        rows.append(rgb)
        previous = line
    return width, height, rows


def unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    """Undo one PNG scanline filter in place (PNG spec, section 9)."""
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        upper_left = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - upper_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
            guess = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
            line[i] = (line[i] + guess) & 0xFF


def encode_png(width: int, height: int, rgba: bytes) -> bytes:
    """An 8-bit RGBA PNG of ``rgba`` (rows top to bottom, no filter)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    stride = 4 * width
    raw = b"".join(b"\0" + rgba[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def compare(icon: dict) -> tuple[float, float]:
    """How far the drawn icon is from the expected one, and the share inked.

    The expected picture is the icon's PNG painted over the screenshot of what
    lies behind it. The distance is the summed difference from the screenshot
    of the drawn icon, over the summed difference from the background.
    """
    width, height = icon["clip"]["width"], icon["clip"]["height"]
    rgba, drawn, behind = base64.b64decode(icon["rgba"]), icon["drawn"], icon["behind"]
    error = ink = inked = 0.0
    for y in range(height):
        for x in range(width):
            alpha = rgba[4 * (y * width + x) + 3] / 255
            near = 0.0
            for c in range(3):
                under = behind[y][3 * x + c]
                expected = rgba[4 * (y * width + x) + c] * alpha + under * (1 - alpha)
                error += abs(expected - drawn[y][3 * x + c])
                near = max(near, abs(expected - under))
                ink += abs(expected - under)
            inked += near >= INK
    return error / ink if ink else math.inf, inked / (width * height)


def look(chromium, path: Path, shot: Path) -> tuple[list[dict], list[str]]:
    """Open ``path`` in Chromium; each icon's data and clips, and the URLs fetched.

    The full page is saved as ``shot``.
    """
    svg = path.read_text(encoding="utf-8")
    width, height = (float(v) for v in re.search(
        r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    # Graphviz sizes the picture in points; CSS pixels are 4/3 of a point.
    page = chromium.new_page(viewport={"width": math.ceil(width * 4 / 3),
                                      "height": math.ceil(height * 4 / 3)})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    icons = page.locator("image").evaluate_all(_DECODE_ICONS)
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))

    for icon in icons:
        icon["drawn"] = decode_png(page.screenshot(clip=icon["clip"]))[2]
    page.locator("image").evaluate_all(
        "images => images.forEach(i => i.setAttribute('visibility', 'hidden'))")
    for icon in icons:
        icon["behind"] = decode_png(page.screenshot(clip=icon["clip"]))[2]
    page.close()
    return icons, requests


def icon_problems(icons: list[dict], expected: int, shot: Path) -> list[str]:
    """What is wrong with the icons as Chromium drew them; empty when all is well."""
    problems = []
    if len(icons) != expected:
        problems.append(f"Chromium sees {len(icons)} icon(s), the drawing has "
                        f"{expected}")
    for index, icon in enumerate(icons):
        clip = icon["clip"]
        if "error" in icon:
            problems.append(f"icon {index} at {clip} does not decode: "
                            f"{icon['error']}")
            continue
        if clip["width"] <= 20 or clip["height"] <= 20 or min(icon["natural"]) < 1:
            problems.append(f"icon {index} at {clip} is too small: {icon['natural']}")
            continue
        error, inked = compare(icon)
        if inked < VISIBLE:
            problems.append(f"icon {index} at {clip} is blank: {inked:.1%} of it "
                            f"would differ from the background; see {shot}")
        elif error > ERROR:
            problems.append(f"icon {index} at {clip} is not drawn as its PNG: "
                            f"{error:.0%} off; see {shot}")
    return problems


@pytest.fixture(scope="module")
def expected_icons() -> dict[str, int]:
    """How many icons a fresh render of each picture has."""
    return {stem: draw(LabSpec(prefix="ecslab")).count("<image ")
            for stem, draw in DRAWINGS.items()}


@pytest.mark.parametrize("stem", sorted(DRAWINGS))
def test_committed_svg_draws_every_icon_in_chromium(chromium, expected_icons, stem):
    path = ROOT / "diagrams" / f"{stem}.svg"
    shot = ARTIFACTS / f"{stem}.png"
    icons, requests = look(chromium, path, shot)

    # The only thing fetched is the SVG itself: the icons are embedded.
    assert requests == [path.as_uri()], requests
    assert icon_problems(icons, expected_icons[stem], shot) == []
    assert shot.stat().st_size > 0


def _corrupted(svg: str) -> str:
    """Every icon's data replaced by base64 that decodes, but to no PNG."""
    return re.sub(r"(data:image/png;base64,)[^\"]*", lambda m: m.group(1)
                  + base64.b64encode(b"not a png " * 40).decode(), svg)


def _truncated(svg: str) -> str:
    """Every icon cut to the first half of its PNG (Chromium shows the top)."""
    def cut(match: re.Match) -> str:
        data = base64.b64decode(match.group(2))
        return match.group(1) + base64.b64encode(data[:len(data) // 2]).decode()
    return re.sub(r"(data:image/png;base64,)([^\"]*)", cut, svg)


def _removed(svg: str) -> str:
    return re.sub(r"<image [^>]*/>", "", svg)


def _transparent(svg: str) -> str:
    """Every icon a valid PNG, but fully transparent."""
    blank = base64.b64encode(encode_png(64, 64, bytes(64 * 64 * 4))).decode()
    return re.sub(r"(data:image/png;base64,)[^\"]*",
                  lambda m: m.group(1) + blank, svg)


def _not_painted(svg: str) -> str:
    """Every icon intact, but never painted."""
    return svg.replace("<image ", '<image opacity="0" ')


@pytest.mark.parametrize("breakage, problem", [
    (_corrupted, r"icon 0 at .* does not decode"),
    (_truncated, r"icon 0 at .* does not decode"),
    (_removed, r"Chromium sees 0 icon\(s\), the drawing has \d+"),
    (_transparent, r"icon 0 at .* is blank"),
    (_not_painted, r"icon 0 at .* is not drawn as its PNG"),
])
def test_icon_check_fails_on_broken_icons(chromium, expected_icons, tmp_path,
                                          breakage, problem):
    svg = (ROOT / "diagrams" / "task_lab.svg").read_text(encoding="utf-8")
    path = tmp_path / "task_lab.svg"
    path.write_text(breakage(svg), encoding="utf-8")
    shot = tmp_path / "task_lab.png"

    icons, _ = look(chromium, path, shot)
    problems = icon_problems(icons, expected_icons["task_lab"], shot)
    assert problems and re.search(problem, "\n".join(problems)), problems
    if icons:
        assert len(problems) >= len(icons), "every icon is broken, and said so"
