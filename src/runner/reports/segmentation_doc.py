"""`run-report segmentation-doc`: docs/results/segmentation.md from committed mask-model run records
(FCN, U-Net, Pattanayak's encoder-decoder).

    run-report segmentation-doc <record> [<record> ...] [--docs docs/results]

A record is a folder holding a run's small files as the runner wrote them: `config.yaml`,
`metrics.json`, `history.csv` (training runs), `run.json` (commit and command) and, shown when
present, `segmentation.png` (test images, ground truth and prediction after training). Each record is
one row of the results table (training and `task=evaluate` records alike: an evaluation of a
trained checkpoint adds the segmentation evaluator's numbers, or another threshold rule); training
records add their per-epoch curve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from adl_runner.runner.reports.files import (
    cell,
    commands_section,
    generated_by,
    load_records,
    read_csv,
    records_doc_main,
    table_row,
    write_page,
)

METRICS = ("miou", "pixel_accuracy", "mean_iou", "dice", "iou")
LABELS = {"miou": "book mIoU", "pixel_accuracy": "pixel accuracy", "mean_iou": "mean IoU (confusion)",
          "dice": "Dice", "iou": "IoU"}
MODELS = ("fcn", "unet", "encoder_decoder")
TARGET_MEAN_IOU = 0.6
"""The CPU target on the drinks test images (a reduced size and budget), of the stricter mean IoU: the confusion-matrix one."""
BOOK = ("The book (E12.1: the FCN at 480x640, 100 epochs, the best epoch picked on the test set) reports a max mIoU "
        "of 0.91 and a max average pixel accuracy of 97.9 %.")
CURVE = (("loss", "train loss"), ("val_loss", "validation loss"), ("val_miou", "validation book mIoU"),
         ("val_pixel_accuracy", "validation pixel accuracy"), *((m, f"test {LABELS[m]}") for m in METRICS))
"""history.csv columns shown per epoch, where a run has them (the test ones are the evaluator's)."""


def _settings(config: dict[str, Any], metrics: dict[str, Any] | None = None) -> str:
    """What sets a record apart: image size, budget, optimizer (an evaluation: the checkpoint it
    measured), the encoder-decoder's skips, init and threshold rule."""
    size = (config.get("dataset", {}).get("options") or {}).get("image_size") or [480, 640]
    trainer = config.get("trainer", {})
    model, optimizer = config["model"], config.get("optimizer", {})
    if metrics and metrics.get("task") == "evaluate" and metrics.get("checkpoint"):
        checkpoint = Path(metrics["checkpoint"])
        parts = [f"{size[0]}x{size[1]}", f"the checkpoint {checkpoint.parent.parent.name}/{checkpoint.parent.name}/{checkpoint.name}"]
    else:
        budget = f"{trainer['steps']} steps" if trainer.get("steps") else f"{trainer.get('epochs')} epochs"
        parts = [f"{size[0]}x{size[1]}", budget, f"batch {trainer.get('batch_size')}",
                 f"{optimizer.get('name', '?')} {optimizer.get('learning_rate', '?')}"]
    if model.get("skip_connections"):
        parts.append("skip connections")
    if "init_std" in model:
        parts.append(f"N(0, {model['init_std']}) init" if model["init_std"] is not None else "He-normal init")
    if model.get("threshold_on"):
        parts.append(f"threshold on {model['threshold_on']} at {model.get('threshold')}")
    return ", ".join(parts)


def _targets(entries: list[dict[str, Any]]) -> list[str]:
    """One line per four-class drinks training record: its test numbers against the CPU target."""
    lines = []
    for entry in entries:
        config, metrics = entry["config"], entry["metrics"]
        if config["dataset"]["name"] != "drinks_segmentation" or metrics.get("task") != "train":
            continue
        value = metrics.get("mean_iou")
        verdict = "met" if value is not None and value >= TARGET_MEAN_IOU else "not met"
        lines.append(f"- `{entry['name']}` ({_settings(config)}): mean IoU {cell(value)}, book mIoU "
                     f"{cell(metrics.get('miou'))}, pixel accuracy {cell(metrics.get('pixel_accuracy'))}: "
                     f"the CPU target (mean IoU >= {TARGET_MEAN_IOU} on the test images) {verdict}.")
    return ["", *lines] if lines else []


def segmentation_doc(records: Sequence[Path], docs: Path) -> Path:
    """Write `docs`/segmentation.md from `records`; returns its path."""
    entries = load_records(records, MODELS)
    lines = ["# Semantic segmentation on the drinks set (chapter 12; Pattanayak ch. 6)", "",
             generated_by("segmentation-doc"),
             "Numbers are on the test split. book mIoU and pixel accuracy are the book's per-image means; mean IoU",
             "is the confusion-matrix one over the split; Dice and IoU are the foreground's, for two-class masks",
             "(per image, then the mean). A Dice of 0 with the pixel accuracy at the background's share is a model",
             "that marks no pixel as foreground.", "", BOOK, *_targets(entries), "",
             "| record | model | task | dataset | settings | test loss | " + " | ".join(LABELS[m] for m in METRICS) + " |",
             "|---|---|---|---|---|---|" + "---|" * len(METRICS)]
    for entry in entries:
        config, metrics = entry["config"], entry["metrics"]
        lines.append(f"| [{entry['name']}](runs/{entry['name']}/) | {config['model']['name']} | {metrics.get('task')} | "
                     f"{config['dataset']['name']} | {_settings(config, metrics)} | {cell(metrics.get('test_loss'))} | "
                     + " | ".join(cell(metrics.get(m)) for m in METRICS) + " |")
    lines += ["", *commands_section(entries)]
    for entry in entries:
        if entry["metrics"].get("task") != "train":
            continue
        history = read_csv(entry["path"] / "history.csv")
        if (entry["path"] / "segmentation.png").is_file():  # the run's prediction grid, copied with its record
            lines += ["", f"![{entry['name']}: test images, ground truth and prediction](runs/{entry['name']}/segmentation.png)"]
        columns = [(key, label) for key, label in CURVE if history and key in history[0]]
        trainer = entry["config"].get("trainer", {})
        unit = f"every {trainer.get('steps_per_epoch')} steps" if trainer.get("steps") else "per epoch"
        held = entry["config"]["dataset"].get("validation")
        split = f"{held} held-out training images" if held else "the test split (the book's choice)"
        lines += ["", f"## `{entry['name']}`: {unit}; validation on {split}, test on the test split", "",
                  table_row(["epoch", *(label for _, label in columns)]), "|---|" + "---|" * len(columns)]
        for h in history:
            lines.append(table_row([str(int(h["epoch"]) + 1), *(cell(h[key]) for key, _ in columns)]))
    return write_page(docs / "segmentation.md", lines)


def main(argv: Sequence[str]) -> str:
    return records_doc_main(argv, "segmentation-doc", __doc__.splitlines()[0], "config.yaml, metrics.json, history.csv, run.json", segmentation_doc)
