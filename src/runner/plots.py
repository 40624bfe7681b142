"""Training-curve PNGs from history.csv (matplotlib, Agg: no display needed).

Each curve says what it shows: epochs on integer ticks (or, for a step-based run such as a GAN's,
the training step at the end of each interval), markers where there are few points (a 1-epoch run
is one visible dot, not an empty line), and numbers measured by an evaluator on generated samples
or a held-out split (FID, mIoU) labelled as evaluations rather than as training values. The run's
caption (model, dataset, run) is added by the ArtifactWriter that saves every figure.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from adl_runner.runner.artifacts import ArtifactWriter  # noqa: E402
from adl_runner.runner.rundir import RunDir  # noqa: E402

MARKED_POINTS = 30
"""Curves of at most this many points get a marker on each."""
TICKED_POINTS = 10
"""Curves of at most this many points get a tick at each."""


def read_history(path: Path) -> dict[str, list[float]]:
    """Columns of a Keras CSVLogger file as float lists (empty when the file is absent)."""
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue  # "NA": Keras' CSVLogger adds val_ columns even without validation
            columns.setdefault(key, []).append(number)
    return columns


def plot_curves(rundir: RunDir, history: dict[str, list[float]], *, steps_per_point: int | None = None,
                evaluated: Collection[str] = ()) -> list[Path]:
    """One PNG per metric with its train and validation curves: loss.png, accuracy.png, ...

    `steps_per_point`: the interval of a step-based run (x becomes the step); `evaluated`: the
    metrics an evaluator measured (labelled as evaluations)."""
    out = ArtifactWriter(rundir)
    written = []
    points = [int(e) + 1 for e in history.get("epoch", [])]
    x = [p * steps_per_point for p in points] if steps_per_point else points
    # A metric measured at some epochs only (an evaluator every `trainer.quality.every`) has lost
    # its epochs with its "NA" rows; it is in metrics.json, not drawn against the wrong epochs.
    for metric in sorted(k for k in history if k != "epoch" and not k.startswith("val_") and len(history[k]) == len(x)):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        marker = "o" if len(x) <= MARKED_POINTS else None
        ax.plot(x, history[metric], marker=marker, label=f"{metric} (evaluation)" if metric in evaluated else f"train {metric}")
        if len(history.get(f"val_{metric}", ())) == len(x):
            ax.plot(x, history[f"val_{metric}"], marker=marker, label=f"test {metric}")
        ax.set_xlabel("step" if steps_per_point else "epoch")
        if len(x) <= TICKED_POINTS:
            ax.set_xticks(x)  # each epoch (interval) its own tick: no 2.5 or 7.5
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} per {'interval' if steps_per_point else 'epoch'}")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        written.append(out.figure(metric, fig))
    return written
