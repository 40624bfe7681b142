"""`run-report record`: a finished run's small files copied into docs/results/runs/<name>/, its run record.

    run-report record <run dir> <name> [--figure detections.png ...] [--width 640] [--docs docs/results]

A record is what the docs pages are generated from: the run's `config.yaml`, `metrics.json`,
`run.json` (its commit and command) and `history.csv` where it wrote one, plus the figures named,
each shrunk to at most `--width` pixels wide as a 256-colour PNG, so that the repository holds small
files only (a run's overlays at full size are near a megabyte). Only a completed run is recorded: an
interrupted or failed one would put numbers of a run that did not end on a page.
"""

from __future__ import annotations

import argparse
import functools
import shutil
from pathlib import Path
from typing import Sequence

from adl_runner.kernel.files import is_plain_name, write_atomic
from adl_runner.runner.reports.aggregate import COMPLETED
from adl_runner.runner.reports.files import ReportError, read_json

REQUIRED = ("config.yaml", "metrics.json", "run.json")
OPTIONAL = ("history.csv",)


def shrink(source: Path, target: Path, width: int) -> Path:
    """`source` as a 256-colour (or, where it is gray, 8-bit gray) PNG at most `width` pixels wide
    (aspect kept), written atomically to `target`."""
    from PIL import Image, ImageChops

    with Image.open(source) as opened:
        rgb = opened.convert("RGB")
    if rgb.width > width:
        rgb = rgb.resize((width, round(rgb.height * width / rgb.width)), Image.Resampling.LANCZOS)
    red, green, blue = rgb.split()
    gray = ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None
    small = rgb.convert("L") if gray else rgb.quantize(256)  # a gray figure's 256 levels, not a palette's
    return write_atomic(target, lambda tmp: small.save(tmp, format="PNG", optimize=True))


def record(run_dir: Path, name: str, figures: Sequence[str], docs: Path, width: int = 640) -> Path:
    """Copy `run_dir`'s record to `docs`/runs/`name`/ (figures shrunk); returns that folder."""
    if not is_plain_name(name):
        raise ReportError(f"record name {name!r} must be a plain folder name (letters, digits, _ . -)")
    status = read_json(run_dir / "metrics.json").get("status")
    if status != COMPLETED:
        raise ReportError(f"{run_dir} has not completed (status: {status}); only a completed run is recorded")
    missing = [f for f in (*REQUIRED, *figures) if not (run_dir / f).is_file()]
    if missing:
        raise ReportError(f"{run_dir} lacks {', '.join(missing)}")
    dest = docs / "runs" / name
    dest.mkdir(parents=True, exist_ok=True)
    for file in (*REQUIRED, *(f for f in OPTIONAL if (run_dir / f).is_file())):
        write_atomic(dest / file, functools.partial(shutil.copyfile, run_dir / file))
    for figure in figures:
        shrink(run_dir / figure, dest / Path(figure).name, width)
    return dest


def main(argv: Sequence[str]) -> str:
    parser = argparse.ArgumentParser(prog="run-report record", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="the finished run's dir")
    parser.add_argument("name", help="the record's folder name under <docs>/runs/")
    parser.add_argument("--figure", action="append", default=[], help="a figure of the run dir to keep, shrunk (repeatable)")
    parser.add_argument("--width", type=int, default=640, help="the widest a kept figure may be, in pixels (640)")
    parser.add_argument("--docs", type=Path, default=Path("docs/results"), help="the docs folder (docs/results)")
    args = parser.parse_args(argv)
    if args.width < 1:
        raise ReportError(f"--width must be a positive number of pixels, got {args.width}")
    return f"wrote {record(args.run_dir, args.name, args.figure, args.docs, args.width)}\n"
