"""The end of a run as a person reads it: a short block printed at the end of every run, of every
family, and the same as markdown in the run dir's `summary.md`.

It names the job (task, model, dataset or env), its status and wall time, its main numbers with
their names (the final evaluation's `test_*` / `eval_*`, the family's own measures such as mIoU, FID
or mAP, and the best value of the checkpoint monitor with its epoch) with the book's value beside
each where the run is a row of a book table (runner/reports/book_values.py), and the files worth
opening.
"""

from __future__ import annotations

from typing import Any

import yaml

from adl_runner.runner.reports.book_values import BookValue, book_values
from adl_runner.runner.rundir import RunDir

FAMILY_NUMBERS = (
    "miou", "pixel_accuracy", "mean_iou", "dice", "iou", "map50", "map", "precision", "recall", "accuracy", "f1",
    "box_iou", "fid", "label_accuracy", "code_accuracy", "mean_return_100", "episodes_to_solve", "solved",
    "threshold", "segments", "adapted_rand_error", "clusters", "accuracy_per_head", "largest_difference",
)
"""A family's own measures, shown when its metrics hold them (evaluators, RL, classical segmentation)."""
MAX_NUMBERS = 12
WORTH_OPENING = ("checkpoints/best.keras", "checkpoints/last.keras", "history.csv", "grids.gif", "export")


def main_numbers(metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, value) of what a run measured, most telling first, at most MAX_NUMBERS."""
    keys = [k for k in metrics if k.startswith(("test_", "eval_")) and isinstance(metrics[k], (int, float))]
    keys += [k for k in FAMILY_NUMBERS if k in metrics and metrics[k] is not None]
    best = [k for k in metrics if k.startswith("best_") and k != "best_epoch" and metrics[k] is not None]
    keys += best
    if best and metrics.get("best_epoch") is not None:
        keys.append("best_epoch")
    return [(k, metrics[k]) for k in dict.fromkeys(keys)][:MAX_NUMBERS]


def _value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    return f"{value:.4g}"


def worth_opening(rundir: RunDir) -> list[str]:
    """The run dir's figures (top level) and the files named in WORTH_OPENING that exist."""
    figures = sorted(p.name for p in rundir.path.glob("*.png")) + sorted(p.name for p in rundir.path.glob("*.gif"))
    return [*dict.fromkeys([*figures, *(name for name in WORTH_OPENING if (rundir.path / name).exists())])]


def summary_lines(rundir: RunDir, metrics: dict[str, Any]) -> list[str]:
    """The summary as markdown lines (module docstring)."""
    on = metrics.get("dataset") or metrics.get("env")
    what = " ".join(filter(None, [metrics.get("task", "train"), metrics.get("model")])) + (f" on {on}" if on else "")
    lines = [f"## {what}: {metrics.get('status', '?')} in {_value(float(metrics.get('wall_time_s', 0.0)))} s", ""]
    book = run_book_values(rundir) if metrics.get("task", "train") == "train" else {}
    numbers = main_numbers(metrics) + [(k, metrics[k]) for k in book if k in metrics and k not in dict(main_numbers(metrics))]
    if numbers and book:
        lines += ["| metric | value | book |", "|---|---|---|",
                  *(f"| {name} | {_value(value)} | {_book(book.get(name))} |" for name, value in numbers), ""]
    elif numbers:
        lines += ["| metric | value |", "|---|---|", *(f"| {name} | {_value(value)} |" for name, value in numbers), ""]
    files = worth_opening(rundir)
    if files:
        lines += ["Files: " + ", ".join(f"`{name}`" for name in files), ""]
    lines.append(f"Run dir: `{rundir.path}` (every number: `metrics.json`)")
    return lines


def run_book_values(rundir: RunDir) -> dict[str, BookValue]:
    """The book's values for the run in `rundir`, from its config.yaml and Hydra's overrides.yaml."""
    config, overrides = (_read_yaml(rundir.file(name)) for name in ("config.yaml", ".hydra/overrides.yaml"))
    return book_values(config, overrides or []) if isinstance(config, dict) else {}


def _read_yaml(path: Any) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None


def _book(value: BookValue | None) -> str:
    return f"{value.value:.4g} (Table {value.table})" if value is not None else ""


def write_summary(rundir: RunDir, metrics: dict[str, Any]) -> str:
    """Write `summary.md` and return the block as plain text for the terminal."""
    lines = summary_lines(rundir, metrics)
    rundir.write_text("summary.md", "\n".join(lines) + "\n")
    return "\n".join(line.replace("`", "") for line in lines if not line.startswith("|---"))

