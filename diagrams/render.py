"""Render the course's architecture diagrams into this folder, as self-contained SVG.

Each ``<stem>.svg`` here is drawn by ``ecslab.drawing.DRAWINGS[stem]`` from the
default ``LabSpec(prefix="ecslab")``. Run ``make diagrams`` (or this script) after
changing the drawing code or the spec's defaults; ``--check`` only compares and
exits 1 when a committed SVG is out of date, which is what the tests rely on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecslab.drawing import DRAWINGS
from ecslab.spec import LabSpec

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = LabSpec(prefix="ecslab")


def render_all(spec: LabSpec = DEFAULT_SPEC) -> dict[Path, str]:
    """Every committed diagram's path and its freshly rendered SVG."""
    return {HERE / f"{stem}.svg": draw(spec) for stem, draw in DRAWINGS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed SVG is stale")
    args = parser.parse_args(argv)

    stale = []
    for path, svg in render_all().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == svg:
            print(f"up to date  {path.name}")
            continue
        stale.append(path.name)
        if not args.check:
            # newline="" keeps Graphviz's "\n" on every platform, so the bytes
            # match a render on any machine with the same Graphviz.
            path.write_text(svg, encoding="utf-8", newline="")
            print(f"rendered    {path.name}")

    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run make diagrams", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
