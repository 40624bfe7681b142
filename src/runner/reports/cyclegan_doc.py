"""`run-report cyclegan-doc`: docs/results/cyclegan.md from committed CycleGAN run records.

    run-report cyclegan-doc <record> [<record> ...] [--docs docs/results]

A record is a folder holding a run's small files as the runner wrote them: `config.yaml`,
`metrics.json`, `history.csv`, `run.json` (commit and command) and, shown when present, the final
grids of the test images (`test_source.png`, `translated_target.png`, `test_target.png`,
`translated_source.png`). Each record gives one row (its budget and test-split losses) and its
per-interval losses. The book's CycleGAN results are qualitative (figures), so the page puts its
words beside the grids, not numbers beside numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from adl_runner.runner.reports.files import (
    cell,
    command_line,
    generated_by,
    interval_steps,
    load_records,
    read_csv,
    records_doc_main,
    table_row,
    write_page,
)

LOSSES = (("d_target_loss", "D_y loss"), ("d_source_loss", "D_x loss"), ("gan_loss", "GAN loss"),
          ("cycle_loss", "cycle loss"), ("adv_loss", "G + F loss"))
"""The losses a CycleGAN step logs (`history.csv` per interval, `test_*` in `metrics.json`): each
discriminator's MSE, the generators' adversarial (GAN) and cycle-consistency terms, and their
weighted sum that G and F minimise."""
GRIDS = (("test_source.png", "source x"), ("translated_target.png", "G(x)"), ("test_target.png", "target y"),
         ("translated_source.png", "F(y)"))
"""The final grids shown, in reading order: the source test images and their translation, then the
target test images and theirs."""
COMMANDS = (
    "run model=cyclegan                                           # E7.2: gray -> colour CIFAR-10, 2x2 PatchGAN, kernel 3, 100,000 steps of batch 32",
    "run model=cyclegan model.discriminator=plain                 # E7.1: the vanilla (scalar) discriminator",
    "run model=cyclegan dataset=mnist_svhn model.kernel_size=5    # E7.3 (PatchGAN) / E7.4 (add model.discriminator=plain): MNIST <-> SVHN",
)
BOOK = (
    "- Gray -> colour CIFAR-10 (E7.1, E7.2; 100,000 steps of batch 32, Figs 7.1.13-7.1.14): both",
    "  discriminators give \"perceptually acceptable\" colours, but neither gets sky and vehicle colours",
    "  consistently right (the plane's white sky comes out light brown or blue, no method gets the red",
    "  car; PatchGAN is closest on the boat); on animals both are close to the ground truth.",
    "  Colour -> gray is \"generally accurate\". The book timed 3.6 ms an image at batch 32 (GTX 1060).",
    "- MNIST <-> SVHN (E7.3, E7.4; kernel 5, Figs 7.1.16-7.1.19): the SVHN style transfers but digits",
    "  flip labels; the forward-cycle MNIST reconstruction is almost the source, the backward-cycle",
    "  SVHN one less faithful.",
)


def _setting(config: dict[str, Any]) -> str:
    """`cifar10 (gray -> colour), patchgan, kernel 3`: what the book's experiment labels differ by,
    and the training images a reduced run kept."""
    dataset, model = config["dataset"], config["model"]
    notes = [*(["gray -> colour"] if dataset.get("gray_input") else []),
             *([f"first {dataset['train_limit']:,} training images"] if dataset.get("train_limit") else [])]
    kept = f" ({', '.join(notes)})" if notes else ""
    return f"{dataset['name']}{kept}, {model['discriminator']}, kernel {model['kernel_size']}"


def _record(entry: dict[str, Any]) -> list[str]:
    config, metrics, name = entry["config"], entry["metrics"], entry["name"]
    trainer = config["trainer"]
    interval = interval_steps(config)
    history = read_csv(entry["path"] / "history.csv")
    lines = ["", f"## `{name}`: {_setting(config)}, {metrics['steps_completed']:,} steps of batch {trainer['batch_size']}", "",
             command_line(name, entry["run"]), "",
             f"Per interval of {interval:,} steps (`history.csv`, means over the interval's steps):", "",
             table_row(["step", *(label for _, label in LOSSES)]), "|---|" + "---|" * len(LOSSES)]
    for row in history:
        lines.append(table_row([f"{(int(row['epoch']) + 1) * interval:,}", *(cell(row.get(key)) for key, _ in LOSSES)]))
    shown = [(file, label) for file, label in GRIDS if (entry["path"] / file).is_file()]
    if shown:
        lines += ["", f"The first {config['model']['grid_size']} test images after {metrics['steps_completed']:,} steps:", "",
                  table_row([label for _, label in shown]), "|" + "---|" * len(shown),
                  table_row([f"![{name}: {label}](runs/{name}/{file})" for file, label in shown])]
    return lines


def cyclegan_doc(records: Sequence[Path], docs: Path) -> Path:
    """Write `docs`/cyclegan.md from `records`; returns its path."""
    entries = load_records(records, ("cyclegan",))
    lines = ["# CycleGAN (chapter 7)", "",
             generated_by("cyclegan-doc"),
             "The book's results are figures, with no number to put beside these; its budget is 100,000 steps of",
             "batch 32 on a GPU, the records' the budgets below on 2 shared CPU cores. Test losses are over the",
             "first `trainer.test_examples` test images of each domain; the best interval is by the lowest cycle loss.", "",
             table_row(["record", "dataset, discriminator, kernel", "steps of batch", *(f"test {label}" for _, label in LOSSES),
                        "best interval (cycle loss)", "train seconds"]),
             "|---|---|---|" + "---|" * len(LOSSES) + "---|---|"]
    for entry in entries:
        config, metrics = entry["config"], entry["metrics"]
        lines.append(table_row([f"[{entry['name']}](runs/{entry['name']}/)", _setting(config),
                                f"{metrics['steps_completed']:,} of {config['trainer']['batch_size']}",
                                *(cell(metrics.get(f"test_{key}")) for key, _ in LOSSES),
                                f"{metrics.get('best_epoch')} ({cell(metrics.get('best_cycle_loss'))})",
                                str(metrics.get("train_seconds"))]))
    lines += ["", "## The book's results (qualitative only)", "", *BOOK,
              "", "## The book's experiments", "", "```", *COMMANDS, "```"]
    for entry in entries:
        lines += _record(entry)
    return write_page(docs / "cyclegan.md", lines)


def main(argv: Sequence[str]) -> str:
    return records_doc_main(argv, "cyclegan-doc", __doc__.splitlines()[0], "config.yaml, metrics.json, history.csv, run.json",
                            cyclegan_doc)
