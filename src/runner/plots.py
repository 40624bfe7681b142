"""Training-curve PNGs from history.csv (matplotlib, Agg: no display needed)."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from adl_runner.runner.artifacts import ArtifactWriter  # noqa: E402
from adl_runner.runner.rundir import RunDir  # noqa: E402


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


def plot_curves(rundir: RunDir, history: dict[str, list[float]]) -> list[Path]:
    """One PNG per metric with its train and validation curves: loss.png, accuracy.png, ..."""
    out = ArtifactWriter(rundir)
    written = []
    epochs = [int(e) + 1 for e in history.get("epoch", [])]
    # A metric measured at some epochs only (an evaluator every `trainer.quality.every`) has lost
    # its epochs with its "NA" rows; it is in metrics.json, not drawn against the wrong epochs.
    for metric in sorted(k for k in history if k != "epoch" and not k.startswith("val_") and len(history[k]) == len(epochs)):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot(epochs, history[metric], label=f"train {metric}")
        if len(history.get(f"val_{metric}", ())) == len(epochs):
            ax.plot(epochs, history[f"val_{metric}"], label=f"test {metric}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        written.append(out.figure(metric, fig))
    return written
