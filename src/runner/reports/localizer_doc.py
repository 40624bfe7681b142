"""`run-report localizer-doc`: docs/results/localizer.md from committed localizer run records.

    run-report localizer-doc <record> [<record> ...] [--docs docs/results]

A record is a folder holding a training run's small files as the runner wrote them: `config.yaml`,
`metrics.json`, `history.csv`, `run.json` (commit and command) and, shown when present,
`localizations.png`. Each record gives one row (accuracy, macro F1 and mean box IoU of the final
weights on the test split, the best epoch by the checkpoint monitor) and its per-epoch curve. The
book (Pattanayak ch. 6 section 3) has no code and no number to put beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from adl_runner.runner.reports.files import (
    ReportError,
    cell,
    commands_section,
    generated_by,
    read_csv,
    read_json,
    read_yaml,
    records_doc_main,
    write_page,
)

METRICS = ("accuracy", "f1", "box_iou")
LABELS = {"accuracy": "accuracy", "f1": "macro F1", "box_iou": "mean box IoU"}


def _selected_on(config: dict[str, Any]) -> str:
    """What a run's val_* metrics (its per-epoch curve and best epoch) were measured on."""
    held = config["dataset"].get("validation")
    return "the test split" if held is None else f"{held} held-out photos"


def _record(path: Path) -> dict[str, Any]:
    metrics = read_json(path / "metrics.json")
    if metrics.get("task") != "train" or metrics.get("model") != "localizer":
        raise ReportError(f"{path / 'metrics.json'} is not a localizer training run "
                          f"(task={metrics.get('task')}, model={metrics.get('model')})")
    return {"name": path.name, "path": path, "config": read_yaml(path / "config.yaml"), "metrics": metrics,
            "run": read_json(path / "run.json"), "history": read_csv(path / "history.csv")}


def localizer_doc(records: Sequence[Path], docs: Path) -> Path:
    """Write `docs`/localizer.md from `records`; returns its path."""
    entries = [_record(path) for path in records]
    lines = ["# Classification + localisation on drinks objects (Pattanayak ch. 6, section 3)", "",
             generated_by("localizer-doc"),
             "The book has no code and no result for this section. One example per labelled drink of the drinks set: a crop around",
             "the object (seeded margin and position) resized to the model's input, its class (Water, Soda, Juice)",
             "and its box (`dataset=drinks_objects`: 2780 training and 146 test objects). Loss alpha x CE + beta x the",
             "sum over the 4 normalised box numbers (x, y, h, w) of squared errors. The numbers are the final weights",
             "on the test split (macro F1 over the three classes; mean IoU of the predicted and true boxes); the",
             "best epoch is by the checkpoint monitor, a metric, never the loss, measured on what the run selects on:",
             "whole photos held out of the training split (`dataset.validation`, all their crops; the default since",
             "the photo hold-out), or the test split itself in the earlier records. Measured on a 2-core machine",
             "shared with other jobs, so the seconds are an upper bound.", "",
             "| record | input | alpha, beta | epochs | " + " | ".join(LABELS[m] for m in METRICS)
             + " | selected on | best epoch (monitor) | train seconds |",
             "|---|---|---|---|" + "---|" * len(METRICS) + "---|---|---|"]
    for entry in entries:
        config, metrics = entry["config"], entry["metrics"]
        size = config["dataset"].get("options", {}).get("image_size") or ["?", "?"]
        monitor = config.get("trainer", {}).get("checkpoint", {}).get("monitor", "?")
        best = metrics.get(f"best_{monitor}")
        lines.append(f"| [{entry['name']}](runs/{entry['name']}/) | {size[0]}x{size[1]} | "
                     f"{config['model'].get('alpha')}, {config['model'].get('beta')} | {metrics.get('epochs_completed')} | "
                     + " | ".join(cell(metrics.get(m)) for m in METRICS)
                     + f" | {_selected_on(config)} | {metrics.get('best_epoch')} ({monitor} {cell(best)}) | {metrics.get('train_seconds')} |")
    lines += ["", *commands_section(entries)]
    for entry in entries:
        if (entry["path"] / "localizations.png").is_file():
            lines += ["", f"![{entry['name']}: the first test crops with the predicted class, probability and box; "
                          f"titled with the true class and the IoU](runs/{entry['name']}/localizations.png)"]
        lines += ["", f"## `{entry['name']}`: per epoch ({_selected_on(entry['config'])})", "",
                  "| epoch | train loss | train class loss | train box loss | val loss | "
                  + " | ".join(LABELS[m] for m in METRICS) + " |",
                  "|---|---|---|---|---|" + "---|" * len(METRICS)]
        for h in entry["history"]:
            lines.append(f"| {int(h['epoch']) + 1} | {cell(h['loss'])} | {cell(h.get('class_loss'))} | "
                         f"{cell(h.get('box_loss'))} | {cell(h.get('val_loss'))} | "
                         + " | ".join(cell(h.get(f"val_{m}")) for m in METRICS) + " |")
    return write_page(docs / "localizer.md", lines)


def main(argv: Sequence[str]) -> str:
    return records_doc_main(argv, "localizer-doc", __doc__.splitlines()[0], "config.yaml, metrics.json, history.csv, run.json", localizer_doc)
