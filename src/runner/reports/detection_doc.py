"""`run-report detection-doc`: docs/results/ssd.md from committed SSD run records.

    run-report detection-doc <record> [<record> ...] [--docs docs/results]

A record is a folder holding a run's small files as the runner wrote them: `config.yaml`,
`metrics.json`, `history.csv` (training runs), `run.json` (commit and command) and, shown when
present, `detections.png` (the overlays after training). Training
records give one row of the Table 11.13.1 comparison each, the book's numbers beside them (read
from `conf/experiment/book/table_11_13_1.yaml`, never typed here) and their per-epoch curve; the
five variants at one budget also judge the book's reading of its table (`book_reading`);
`task=evaluate` records of the same checkpoint (soft NMS, another FN rule) give the NMS comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

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

BOOK_TABLE = Path(__file__).resolve().parents[1] / "conf" / "experiment" / "book" / "table_11_13_1.yaml"
METRICS = ("miou", "precision", "recall", "map50", "map")
CPU_TARGETS = {"map50": 0.5, "precision": 0.7, "recall": 0.7}
"""What a reduced CPU run of CE + L1 should reach on the 50 test images (the project's bar, not the book's)."""
LABELS = {"miou": "mIoU", "precision": "precision", "recall": "recall", "map50": "mAP@0.5", "map": "COCO mAP"}


def _variant(model: dict[str, Any]) -> tuple[bool, str]:
    return bool(model.get("normalize", False)), str(model.get("loss", "ce_l1"))


def book_rows() -> dict[tuple[bool, str], dict[str, Any]]:
    """(normalize, loss) -> the book table's row: its labels and numbers."""
    table = read_yaml(BOOK_TABLE)["table"]
    rows = {}
    for row in table["rows"]:
        settings = dict(o.split("=", 1) for o in row["overrides"])
        rows[(settings["model.normalize"] == "true", settings["model.loss"])] = row
    return rows


def schedule(trainer: dict[str, Any]) -> str:
    """The learning-rate steps that fell inside the run, by 1-based epoch: `x0.1 from 9, x0.01 from 11`.

    A factor applies to the 0-based epochs after its boundary, so from 1-based epoch boundary + 2;
    the book's 200-epoch steps never start in a shorter run, which then reads `constant`."""
    steps = trainer.get("lr_schedule") or {}
    epochs = int(trainer.get("epochs", 0))
    inside = [(b + 2, f) for b, f in zip(steps.get("boundaries", []), steps.get("factors", [1.0])[1:]) if b + 2 <= epochs]
    return ", ".join(f"x{f:g} from {epoch}" for epoch, f in inside) or "constant"


def _size(config: dict[str, Any]) -> str:
    """The run's input size, `128x160` (the book's 480x640 where the dataset options leave it)."""
    size = config["dataset"].get("options", {}).get("image_size") or [480, 640]
    return f"{size[0]}x{size[1]}"


def _label(row: dict[str, Any]) -> str:
    """A book row's variant as the table labels it: `normalized, CE + L1`."""
    return ", ".join(str(v) for v in row["labels"].values())


def _budget(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """What a Table 11.13.1 comparison holds equal: `128x160, 12 epochs, x0.1 from 9, x0.01 from 11`."""
    return f"{_size(config)}, {metrics.get('epochs_completed')} epochs, learning rate {schedule(config.get('trainer', {}))}"


IMPROVED_LOSSES = (((False, "ce_smooth_l1"), (False, "ce_l1")), ((True, "ce_smooth_l1"), (True, "ce_l1")),
                   ((True, "focal_smooth_l1"), (True, "ce_l1")))
"""The book's "improved" losses, each beside CE + L1 with the same offsets."""


def _judged(holds: bool) -> str:
    return "met" if holds else "not met"


def _reading(got: dict[tuple[bool, str], dict[str, Any]], label: Callable[[tuple[bool, str]], str]) -> list[str]:
    """The book's reading judged on one budget's five variants (`got`: variant -> metrics)."""
    def value(variant: tuple[bool, str], metric: str) -> float:
        return float(got[variant].get(metric) or 0.0)

    lines = []
    top = max(got, key=lambda v: value(v, "miou"))
    lines.append(f"- The best mIoU comes from un-normalised offsets: {_judged(not top[0])} (best: {label(top)}, {value(top, 'miou'):.3f})")
    for metric in ("precision", "recall"):
        top = max(got, key=lambda v: value(v, metric))
        lines.append(f"- The best {metric} comes from normalised offsets with CE + L1: {_judged(top == (True, 'ce_l1'))} "
                     f"(best: {label(top)}, {value(top, metric):.3f})")
    for metric in ("miou", "precision", "recall"):  # the book: they "hurt performance", lower on all three
        shown = "; ".join(f"{label(a)} {value(a, metric):.3f} against {value(b, metric):.3f}" for a, b in IMPROVED_LOSSES)
        lines.append(f"- The \"improved\" losses score a lower {LABELS[metric]} than CE + L1 with the same offsets: "
                     f"{_judged(all(value(a, metric) < value(b, metric) for a, b in IMPROVED_LOSSES))} ({shown})")
    return lines


def book_reading(trained: Sequence[dict[str, Any]], book: dict[tuple[bool, str], dict[str, Any]]) -> list[str]:
    """The book's reading of Table 11.13.1 (the best mIoU from un-normalised offsets, the best precision
    and recall from normalised CE + L1, the "improved" losses below CE + L1 on all three), each judged met or not on
    the records of every budget at which all five variants ran; else what the fullest budget lacks."""
    budgets: dict[str, dict[tuple[bool, str], dict[str, Any]]] = {}
    for entry in trained:
        budgets.setdefault(_budget(entry["config"], entry["metrics"]), {})[_variant(entry["config"]["model"])] = entry["metrics"]

    def label(variant: tuple[bool, str]) -> str:
        return _label(book[variant])

    complete = {budget: {v: got[v] for v in book} for budget, got in budgets.items() if set(book) <= set(got)}
    if not complete:
        budget, got = max(budgets.items(), key=lambda item: len(set(book) & set(item[1])))
        missing = "; ".join(label(v) for v in book if v not in got)
        return ["", f"The book's reading of its table is judged once all five variants have run at one budget; at {budget}:",
                f"{len(set(book) & set(got))} of 5 (to run: {missing})."]
    lines = []
    for budget, got in complete.items():
        seeds = ", ".join(sorted({str(metrics.get("seed")) for metrics in got.values()}))
        lines += ["", f"## The book's reading of Table 11.13.1, at {budget}", "",
                  f"One run per variant (seed {seeds}), no repeats: values to three decimals, so that near-ties show; a gap",
                  "in the third decimal decides a line below but is not evidence by itself.", "", *_reading(got, label)]
    return lines


def detection_doc(records: Sequence[Path], docs: Path) -> Path:
    """Write `docs`/ssd.md from `records`; returns its path."""
    book = book_rows()
    trained: list[dict[str, Any]] = []
    evaluated: list[dict[str, Any]] = []
    for record in records:
        metrics = read_json(record / "metrics.json")
        entry = {"name": record.name, "path": record, "config": read_yaml(record / "config.yaml"),
                 "metrics": metrics, "run": read_json(record / "run.json")}
        if metrics.get("task") not in ("train", "evaluate"):
            raise ReportError(f"{record / 'metrics.json'} is a task={metrics.get('task')} run; give training and evaluation records")
        (evaluated if metrics["task"] == "evaluate" else trained).append(entry)
    if not trained:
        raise ReportError("no training record among the given folders (metrics.json with task: train)")
    lines = ["# SSD on the drinks set (chapter 11, Table 11.13.1)", "",
             generated_by("detection-doc"),
             "Book: 200 epochs at 480x640 on a GPU; measured: the budgets below, on 2 shared CPU cores.",
             "The learning rate is Adam's 1e-3 times the steps shown, by 1-based epoch (the book's first step,",
             "x0.5, comes at epoch 62, so a shorter run with the defaults is constant).",
             "Precision and recall are the book's per-image averages (its `evaluate_test`, hard NMS at class",
             "threshold 0.5 and IoU 0.2, the repository's FN rule); mAP@0.5 and COCO mAP have no book value.", "",
             "| record | offsets, loss | image | epochs | learning rate | " + " | ".join(LABELS[m] for m in METRICS) + " | book mIoU / precision / recall |",
             "|---|---|---|---|---|" + "---|" * len(METRICS) + "---|"]
    for entry in trained:
        config, metrics = entry["config"], entry["metrics"]
        row = book.get(_variant(config["model"]))
        labels = _label(row) if row else str(_variant(config["model"]))
        theirs = " / ".join(cell(row["book"].get(m), 2) for m in ("miou", "precision", "recall")) if row else "-"
        lines.append(f"| [{entry['name']}](runs/{entry['name']}/) | {labels} | {_size(config)} | "
                     f"{metrics.get('epochs_completed')} | {schedule(config.get('trainer', {}))} | " + " | ".join(cell(metrics.get(m), 2) for m in METRICS) + f" | {theirs} |")
    for entry in trained:
        if _variant(entry["config"]["model"]) == (False, "ce_l1"):
            checks = [f"{LABELS[key]} >= {bar}: {_judged((entry['metrics'].get(key) or 0) >= bar)} "
                      f"({cell(entry['metrics'].get(key), 2)})" for key, bar in CPU_TARGETS.items()]
            lines += ["", f"`{entry['name']}` against the CPU targets for CE + L1: " + "; ".join(checks) + "."]
    lines += book_reading(trained, book)
    lines += ["", *commands_section(trained + evaluated)]
    for entry in trained:
        history = read_csv(entry["path"] / "history.csv")
        if (entry["path"] / "detections.png").is_file():  # the run's overlays, copied with its record
            lines += ["", f"![{entry['name']}: the first test images with their detections](runs/{entry['name']}/detections.png)"]
        lines += ["", f"## `{entry['name']}`: per epoch (test split)", "",
                  "| epoch | train loss | test loss | " + " | ".join(LABELS[m] for m in METRICS) + " |",
                  "|---|---|---|" + "---|" * len(METRICS)]
        for h in history:
            lines.append(f"| {int(h['epoch']) + 1} | {float(h['loss']):.3f} | {float(h['val_loss']):.3f} | "
                         + " | ".join(cell(h.get(m), 2) for m in METRICS) + " |")
    if evaluated:
        lines += ["", "## NMS and metric settings on trained models (`task=evaluate` of a record's checkpoint, named before `_eval`)", "",
                  "| record | soft NMS | FN rule | " + " | ".join(LABELS[m] for m in METRICS) + " |",
                  "|---|---|---|" + "---|" * len(METRICS)]
        for entry in evaluated:
            model = entry["config"]["model"]
            lines.append(f"| [{entry['name']}](runs/{entry['name']}/) | {model.get('soft_nms')} | {model.get('fn_rule')} | "
                         + " | ".join(cell(entry["metrics"].get(m), 2) for m in METRICS) + " |")
    return write_page(docs / "ssd.md", lines)


def main(argv: Sequence[str]) -> str:
    return records_doc_main(argv, "detection-doc", __doc__.splitlines()[0], "config.yaml, metrics.json, history.csv, run.json", detection_doc)
