"""`run-report train-eval`: a book table's train accuracies side by side: the book's, the running
average during the last epoch (dropout on, what `fit` logs), and the checkpoint evaluated on the
training split in inference mode (`run task=evaluate split=train`).

    run-report train-eval outputs/book/table_1_3_3 outputs/book/table_1_3_3_train_eval
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from adl_runner.runner.reports.files import ReportError, metrics, read_yaml


def train_eval_table(sweep: Path, evals: Path) -> str:
    table = (read_yaml(sweep / "multirun.yaml") or {}).get("table")
    if not isinstance(table, dict):
        raise ReportError(f"{sweep / 'multirun.yaml'} has no `table` node (not a book table sweep?)")
    train_key = next((m["book"] for m in table["metrics"] if m["key"] == "train_accuracy"), None)
    if train_key is None:
        raise ReportError(f"table {table.get('id', '?')} has no train_accuracy metric")
    columns = table["columns"]
    lines = ["| " + " | ".join(columns) + " | book train (%) | fit log, last epoch (%) | inference mode (%) | diff to book |",
             "|" + "---|" * (len(columns) + 4)]
    for job in sorted((p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)):
        row = table["rows"][read_yaml(job / "config.yaml")["table"]["row"]]
        fit_log = metrics(job)["train_accuracy"] * 100
        evaluated = metrics(evals / job.name)["train_accuracy"] * 100
        book = row["book"][train_key]
        labels = " | ".join(str(row["labels"][c]) for c in columns)
        lines.append(f"| {labels} | {book:.2f} | {fit_log:.2f} | {evaluated:.2f} | {evaluated - book:+.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> str:
    parser = argparse.ArgumentParser(prog="run-report train-eval", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="the book table's sweep dir (multirun.yaml, one dir per job)")
    parser.add_argument("eval_dir", type=Path, help="the `task=evaluate split=train` sweep of the same jobs")
    args = parser.parse_args(argv)
    return train_eval_table(args.sweep_dir, args.eval_dir)
