"""`make bench`: the runner's costs as ratios against plain Python/Keras, measured side by side.

Every figure comes from one invocation that alternates the things it compares (A, B, B, A, ...)
and keeps the median of several repetitions, so that a shared, noisy machine slows both sides
alike. Nothing here passes or fails on absolute time: targets are reported, never enforced.

    .venv/bin/python benchmarks/run.py                   # everything (minutes on 2 CPU cores)
    .venv/bin/python benchmarks/run.py --quick           # seconds-scale settings (the test uses these)
    .venv/bin/python benchmarks/run.py --only fit_overhead --reps 5

Writes benchmarks/results/<YYYY-MM-DD>T<HHMMSS>.json (raw timings, medians, ratios, machine info)
and a Markdown summary next to it (.md), and prints the Markdown. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from cli_startup import cli_startup
from fcn import fcn
from fit_overhead import fit_overhead
from gan_step import gan_step
from harness import REPO, Settings, log
from iic import iic
from load_transient import load_transient
from memory import memory
from memory_stages import memory_stages
from mirrored import mirrored
from peak_fraction import peak_fraction
from rl_replay import rl_replay
from ssd import ssd
from summary import machine_info, markdown, result_stem, write_atomic
from sweep_launchers import sweep_launchers
from threads import threads
from whole_job import whole_job
from xla import xla

SCHEMA_VERSION = 1

# One module per benchmark; this order is the order of `--only`'s default and of the report.
BENCHMARKS: dict[str, Callable[[Settings], dict[str, Any]]] = {
    "cli_startup": cli_startup,
    "fit_overhead": fit_overhead,
    "peak_fraction": peak_fraction,
    "memory": memory,
    "gan_step": gan_step,
    "rl_replay": rl_replay,
    "ssd": ssd,
    "fcn": fcn,
    "iic": iic,
    "memory_stages": memory_stages,
    "load_transient": load_transient,
    "threads": threads,
    "xla": xla,
    "mirrored": mirrored,
    "sweep_launchers": sweep_launchers,
    "whole_job": whole_job,
}


def default_data_dir() -> Path | None:
    """RUNNER_DATA_DIR, else ../shared/datasets beside this checkout (as the Makefile does), if it
    holds mnist/mnist.npz."""
    env = os.environ.get("RUNNER_DATA_DIR")
    root = Path(env).expanduser() if env else REPO.parent / "shared" / "datasets"
    return root if (root / "mnist" / "mnist.npz").is_file() else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny settings (seconds): few reps, 4096 training examples, "
                   "MLP only, no peak_fraction")
    p.add_argument("--reps", type=int, default=None, help="repetitions per case (default 5, or 3 with --quick)")
    p.add_argument("--only", action="append", default=None, metavar="NAME",
                   help=f"run only these benchmarks (repeat or comma-separate): {', '.join(BENCHMARKS)}")
    p.add_argument("--jobs", default="", metavar="NAMES",
                   help="whole_job: only these comma-separated jobs (mlp, cnn, dcgan, dqn, smoke)")
    p.add_argument("--epochs", type=int, default=None, metavar="N",
                   help="whole_job: the MLP and CNN jobs' epochs, both sides (default: the book's 20 and 10)")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results", help="results folder")
    args = p.parse_args(argv)
    names = [n for item in args.only or list(BENCHMARKS) for n in item.split(",") if n]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; valid: {', '.join(BENCHMARKS)}")
    args.only = names
    if args.reps is None:
        args.reps = 3 if args.quick else 5
    if args.reps < 1:
        p.error("--reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now()
    s = Settings(quick=args.quick, reps=args.reps, out=args.out, data_dir=default_data_dir(),
                 jobs=tuple(name for name in args.jobs.split(",") if name), epochs=args.epochs)
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "started": started.isoformat(timespec="seconds"),
        "options": {"quick": s.quick, "reps": s.reps, "only": args.only, **({"jobs": list(s.jobs)} if s.jobs else {}),
                    **({"epochs": s.epochs} if s.epochs else {}),
                    "data_dir": str(s.data_dir) if s.data_dir else None},
        "machine": machine_info(),
        "benchmarks": {},
    }
    failed = False
    for name in args.only:
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            result = BENCHMARKS[name](s)
            status = "skipped" if "skipped" in result else "ok"
            result = {"status": status, "reason": result["skipped"]} if status == "skipped" else {"status": status, **result}
        except Exception as exc:  # one broken benchmark must not lose the others' numbers
            failed = True
            result = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
        result["seconds"] = round(time.perf_counter() - t0, 3)
        report["benchmarks"][name] = result
        log(f"{name}: {result['status']} in {result['seconds']:.1f} s")
    report["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    report["machine"]["load_avg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None

    s.out.mkdir(parents=True, exist_ok=True)
    stem = result_stem(s.out, started)
    text = markdown(report)
    write_atomic(stem.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    write_atomic(stem.with_suffix(".md"), text)
    print(text)
    print(f"results: {stem.with_suffix('.json')} and {stem.with_suffix('.md')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
