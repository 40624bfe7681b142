"""Print a Markdown table of a book table's train accuracies: the book's, the running average
during the last epoch (dropout on, what `fit` logs), and the checkpoint evaluated on the training
split in inference mode (`run task=evaluate split=train`).

    python docs/results/train_eval_table.py outputs/book/table_1_3_3 outputs/book/table_1_3_3_train_eval
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from omegaconf import OmegaConf


def main(sweep_dir: str, eval_dir: str) -> None:
    sweep, evals = Path(sweep_dir), Path(eval_dir)
    table = OmegaConf.to_container(OmegaConf.load(sweep / "multirun.yaml").table, resolve=True)
    train_key = next(m["book"] for m in table["metrics"] if m["key"] == "train_accuracy")
    columns = table["columns"]
    print("| " + " | ".join(columns) + " | book train (%) | fit log, last epoch (%) | inference mode (%) | diff to book |")
    print("|" + "---|" * (len(columns) + 4))
    for job in sorted((p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)):
        row = table["rows"][OmegaConf.load(job / "config.yaml").table.row]
        fit_log = json.loads((job / "metrics.json").read_text())["train_accuracy"] * 100
        evaluated = json.loads((evals / job.name / "metrics.json").read_text())["train_accuracy"] * 100
        book = row["book"][train_key]
        labels = " | ".join(str(row["labels"][c]) for c in columns)
        print(f"| {labels} | {book:.2f} | {fit_log:.2f} | {evaluated:.2f} | {evaluated - book:+.2f} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
