"""`run-report gan-table`: MNIST-FID and label-accuracy tables of GAN run dirs (a whole run dir, with
`checkpoints/state.json`; `run-report gan-doc` writes docs/results/gan.md from run records).

    run-report gan-table outputs/book/ch5/acgan outputs/book/ch4/dcgan ...
    run-report gan-table --summary <run dirs>    # one row per finished run, with the issue's targets
    run-report gan-table --compare <run dir> <run dir>   # MNIST-FID of two runs, step by step

For each run dir: the model, steps done, the training time summed over its sessions
(checkpoints/state.json), and MNIST-FID, label-control accuracy and matched code accuracy at the
measured intervals (history.csv; about ten rows, always the last) and at the end (metrics.json,
when the run has finished).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Sequence

from adl_runner.runner.reports.files import ReportError, read_csv, read_json, read_yaml

ROWS = 10
"""About this many intervals are printed per run: every k-th one and the last."""
SHARES = {"label_accuracy": "label accuracy", "code_accuracy": "code accuracy (matched)"}
TARGETS = {"cgan": ("label_accuracy", 0.90), "acgan": ("label_accuracy", 0.90), "infogan": ("code_accuracy", 0.80)}
"""The issue's quality targets: CGAN/ACGAN label accuracy >= 90 %, InfoGAN discrete-code accuracy >= 80 %."""

SWITCH = "901029e"
"""The commit that made training mode the default and added `model.book_inference_fakes`."""
WITHOUT_BATCH_NORM = {"gan_mlp"}
"""GANs whose generator has no BatchNorm (nor dropout): its mode changes nothing."""


def summary(runs: list[Path]) -> list[str]:
    out = ["| model | D's fakes | steps | training (min) | final MNIST-FID | label accuracy | code accuracy (matched) | target | met |",
           "|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        metrics = run / "metrics.json"
        if not metrics.exists():
            continue
        m = read_json(metrics)
        minutes = read_json(run / "checkpoints" / "state.json")["train_seconds"] / 60
        target, met = "-", "-"
        if m["model"] in TARGETS:
            key, bound = TARGETS[m["model"]]
            target, met = f"{SHARES[key]} >= {100 * bound:.0f} %", "yes" if m[key] >= bound else "no"
        out.append(f"| `{m['model']}` | {fakes_mode(run)} | {m['steps_completed']} | {minutes:.0f} | {m['fid']:.2f} | {percent(m.get('label_accuracy'))} | "
                   f"{percent(m.get('code_accuracy'))} | {target} | {met} |")
    return out


def rows(run: Path) -> list[str]:
    config = read_yaml(run / "config.yaml")
    interval = config["trainer"]["steps_per_epoch"]
    state = read_json(run / "checkpoints" / "state.json")
    measured = [row for row in read_csv(run / "history.csv") if row.get("fid", "NA") != "NA"]
    shares = [key for key in SHARES if any(row.get(key, "NA") not in ("NA", None) for row in measured)]
    stride = max(1, round(len(measured) / ROWS))
    shown = [row for i, row in enumerate(measured) if (len(measured) - 1 - i) % stride == 0]
    out = [f"### `{config['model']['name']}` ({run})", "",
           f"{state['epochs_completed'] * interval} of {config['trainer']['steps']} steps, batch "
           f"{config['trainer']['batch_size']}, {state['train_seconds'] / 60:.0f} min of training "
           f"(summed over its sessions); D's fakes: {fakes_mode(run)}.", "",
           "| step | MNIST-FID | " + "".join(f"{SHARES[key]} | " for key in shares) + "d_loss | g_loss |",
           "|---|---|" + "---|" * len(shares) + "---|---|"]
    for row in shown:
        out.append(f"| {(int(row['epoch']) + 1) * interval} | {float(row['fid']):.2f} | "
                   + "".join(f"{percent(row.get(key))} | " for key in shares)
                   + f"{float(row['d_loss']):.3f} | {float(row['g_loss']):.3f} |")
    metrics = run / "metrics.json"
    if metrics.exists():
        m = read_json(metrics)
        out += ["", f"Final (`metrics.json`, {m['steps_completed']} steps): MNIST-FID {m['fid']:.2f}"
                + "".join(f", {SHARES[key]} {percent(m[key])}" for key in SHARES if key in m) + "."]
    return out + [""]


def compare(first: Path, second: Path) -> list[str]:
    """MNIST-FID of two runs of one model at the steps both measured, headed by their D's-fakes mode."""
    def fid_by_step(run: Path) -> dict[int, float]:
        interval = read_yaml(run / "config.yaml")["trainer"]["steps_per_epoch"]
        return {(int(row["epoch"]) + 1) * interval: float(row["fid"])
                for row in read_csv(run / "history.csv") if row.get("fid", "NA") != "NA"}

    a, b = fid_by_step(first), fid_by_step(second)
    out = [f"| step | MNIST-FID, fakes: {fakes_mode(first)} ({first.name}) | "
           f"MNIST-FID, fakes: {fakes_mode(second)} ({second.name}) |", "|---|---|---|"]
    return out + [f"| {step} | {a[step]:.2f} | {b[step]:.2f} |" for step in sorted(a.keys() & b.keys())]


def fakes_mode(run: Path) -> str:
    """The generator's mode when it made D's fakes: `model.book_inference_fakes` where the run's
    config sets it, else the default of the commit it ran (`run.json`): before SWITCH, the book's
    inference mode was the only one."""
    config = read_yaml(run / "config.yaml")
    if config["model"]["name"] in WITHOUT_BATCH_NORM:
        return "n/a (G has no BatchNorm)"
    book = config["model"].get("book_inference_fakes")
    if book is None:
        commit = read_json(run / "run.json")["git_commit"]
        book = subprocess.run(["git", "merge-base", "--is-ancestor", SWITCH, commit], capture_output=True).returncode != 0
    return "inference mode (book)" if book else "training mode"


def percent(share: str | float | None) -> str:
    """A share as `12.3 %`; `-` where the run did not measure it."""
    return "-" if share in ("NA", None) else f"{100 * float(share):.1f} %"


def main(argv: Sequence[str]) -> str:
    parser = argparse.ArgumentParser(prog="run-report gan-table", description="MNIST-FID tables of GAN run dirs.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--summary", action="store_true", help="one row per finished run, with the issue's targets")
    mode.add_argument("--compare", action="store_true", help="MNIST-FID of two runs at the steps both measured")
    parser.add_argument("runs", nargs="+", type=Path, help="run dirs")
    args = parser.parse_args(argv)
    if args.summary:
        return "\n".join(summary(args.runs)) + "\n"
    if args.compare:
        if len(args.runs) != 2:
            raise ReportError(f"gan-table --compare takes two run dirs, got {len(args.runs)}")
        return "\n".join(compare(*args.runs)) + "\n"
    return "\n".join(line for run in args.runs for line in rows(run)) + "\n"
