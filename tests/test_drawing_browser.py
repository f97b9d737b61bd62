"""The committed diagrams, opened in headless Chromium: every icon is really drawn.

Screenshots go to artifacts/ (git-ignored) for a human to look at. Pixels are read
with a small PNG decoder below, since Pillow is not among the pinned packages.
"""

import math
import re
import struct
import zlib
from pathlib import Path

import pytest

from ecslab.drawing import DRAWINGS

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
pytestmark = pytest.mark.browser


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


def ink_fraction(rows: list[bytes], box: dict) -> float:
    """Share of pixels in ``box`` that are strongly coloured or dark, not paper."""
    x0, y0 = max(0, math.floor(box["x"])), max(0, math.floor(box["y"]))
    x1 = min(len(rows[0]) // 3, math.ceil(box["x"] + box["width"]))
    y1 = min(len(rows), math.ceil(box["y"] + box["height"]))
    inked = total = 0
    for y in range(y0, y1):
        row = rows[y]
        for x in range(x0, x1):
            r, g, b = row[3 * x:3 * x + 3]
            total += 1
            # AWS icons are saturated (orange, purple, red) or dark navy.
            inked += max(r, g, b) - min(r, g, b) > 60 or (r + g + b) / 3 < 110
    return inked / total if total else 0.0


@pytest.mark.parametrize("stem", sorted(DRAWINGS))
def test_committed_svg_draws_every_icon_in_chromium(chromium, stem):
    path = ROOT / "diagrams" / f"{stem}.svg"
    svg = path.read_text(encoding="utf-8")
    width, height = (float(v) for v in re.search(
        r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())

    # Graphviz sizes the picture in points; CSS pixels are 4/3 of a point.
    page = chromium.new_page(viewport={"width": math.ceil(width * 4 / 3),
                                      "height": math.ceil(height * 4 / 3)})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    boxes = page.locator("image").evaluate_all(
        "images => images.map(i => { const r = i.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{stem}.png"
    png = page.screenshot(path=str(shot))
    page.close()

    # The only thing fetched is the SVG itself: the icons are embedded.
    assert requests == [path.as_uri()], requests
    assert len(boxes) == svg.count("<image "), "Chromium did not see every icon"
    _, _, rows = decode_png(png)
    for index, box in enumerate(boxes):
        assert box["width"] > 20 and box["height"] > 20, (index, box)
        fraction = ink_fraction(rows, box)
        assert fraction > 0.03, (f"icon {index} at {box} looks blank "
                                 f"({fraction:.1%} ink); see {shot}")
