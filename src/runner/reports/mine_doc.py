"""`run-report mine-doc`: docs/results/mine.md from committed MINE run records (the Gaussians and MNIST).

    run-report mine-doc <record> [<record> ...] [--docs docs/results]

A record is a folder holding a run's small files as the runner wrote them: `config.yaml`,
`metrics.json`, `history.csv` (training runs), `run.json` (commit and command) and, shown when
present, `mi_per_step.png`. Records of `model=mine` are rows of the Gaussian table (with their
per-100-step bounds, the book's printout); records of `model=mine_encoder` (training, and
`task=evaluate` of a checkpoint under the other probe protocol) rows of the MNIST table.
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
    write_page,
)

MODELS = ("mine", "mine_encoder")
TOLERANCE = 0.01
"""nats: the issue's target for the held-out estimate against the exact value."""
BOOK_GAUSSIAN = {0.5: ("0.142186 (mean of steps 901-1000)", "0.145158; 0.147247"), 0.8: ("-", "0.510342")}
BOOK_ACCURACY = 93.86
BOOK_PER_100 = (0.112297, 0.141723, 0.142567, 0.142087, 0.142083, 0.144755, 0.141434, 0.142480, 0.143059, 0.142186)
"""The book's printed MINE estimates at rho = 0.5, each the mean over 100 steps (section 13.8)."""


def _gaussian(entries: list[dict[str, Any]]) -> list[str]:
    lines = ["## Correlated Gaussians (Listings 13.8.1-13.8.2, E13.6-E13.7)", "",
             "`mi_estimate` is the Donsker-Varadhan bound of the trained T over the 1,000,000 held-out joint and",
             "1,000,000 marginal samples, pooled; `train_mi` the mean of the per-batch bounds over the last 100",
             "training steps, which is what the book prints; `mi_histogram` the book's 100 x 100-bin histogram",
             "estimate of the same held-out joint samples; `mi_true` = -0.5 ln(1 - rho^2). The book's columns",
             "are its printed values (MINE at rho = 0.5 only).", "",
             "| record | rho | seed | steps | bias correction | mi_estimate (held-out) | train_mi (last 100 steps) | "
             "mi_histogram | mi_true | held-out - exact | within 0.01 | book MINE | book histogram |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for entry in sorted(entries, key=lambda e: (e["rho"], e["config"]["model"].get("bias_correction", False),
                                                e["metrics"].get("seed", 0))):
        config, metrics, rho = entry["config"], entry["metrics"], entry["rho"]
        error = metrics["mi_estimate"] - metrics["mi_true"]
        book = BOOK_GAUSSIAN.get(rho, ("-", "-"))
        lines.append(f"| [{entry['name']}](runs/{entry['name']}/) | {rho:g} | {metrics.get('seed')} | {metrics.get('steps_completed')} | "
                     f"{'yes' if config['model'].get('bias_correction') else 'no'} | {cell(metrics['mi_estimate'], 4)} | "
                     f"{cell(metrics.get('train_mi'), 4)} | {cell(metrics.get('mi_histogram'), 4)} | "
                     f"{cell(metrics['mi_true'], 4)} | {error:+.4f} | {'yes' if abs(error) <= TOLERANCE else 'no'} | "
                     f"{book[0]} | {book[1]} |")
    lines += ["", "Per 100 steps (each the mean bound of its 100 training batches, as the book prints), after so many steps:", ""]
    measured = [entry for entry in entries if entry["history"]]
    width = max((len(e["history"]) for e in measured), default=0)
    interval = measured[0]["config"]["trainer"].get("steps_per_epoch") if measured else None
    lines += ["| record | " + " | ".join(str((i + 1) * interval if interval else i + 1) for i in range(width)) + " |",
              "|---|" + "---|" * width,
              "| book, rho = 0.5 | " + " | ".join(f"{v:.4f}" for v in BOOK_PER_100[:width]) + " |"]
    for entry in measured:
        cells = [cell(row.get("mi"), 4) for row in entry["history"]] + ["-"] * (width - len(entry["history"]))
        lines.append(f"| `{entry['name']}` | " + " | ".join(cells) + " |")
    lines += _figures(entries)
    return lines


def _protocol(config: dict[str, Any]) -> str:
    return "book_compat: trained and scored on the test embeddings" if config["model"].get("book_compat") else \
        "held-out: trained on the training embeddings, scored on the test embeddings"


def _mnist(entries: list[dict[str, Any]]) -> list[str]:
    lines = ["## MNIST encoder and linear probe (Listings 13.9.1-13.9.3, E13.8)", "",
             f"The book: {BOOK_ACCURACY} % after 200 epochs of the full training set at latent_dim 10, its probe",
             "trained and scored on the test embeddings (`model.book_compat=true`). `mi_estimate` is the bound",
             "over one pass of the training split's (X, G(X)) pairs in inference mode. The book's 200 epochs are",
             "11,800 steps of batch 1024; a CPU-sized run makes a few percent of them (its training column), so",
             "its accuracy is what a partly trained encoder gives the probe, not the book's result.", "",
             "| record | task | latent_dim | training | probe protocol | accuracy | book | mi_estimate |",
             "|---|---|---|---|---|---|---|---|"]
    for entry in entries:
        config, metrics = entry["config"], entry["metrics"]
        trainer, dataset = config.get("trainer", {}), config.get("dataset", {})
        images = f"the first {dataset['train_limit']:,} training images" if dataset.get("train_limit") else "the 60,000 training images"
        training = (f"the checkpoint {Path(metrics['checkpoint']).parent.parent.name}" if metrics.get("task") == "evaluate"
                    else f"{metrics.get('steps_completed')} steps of batch {trainer.get('batch_size')} ({images}, "
                         f"{trainer.get('epochs')} epoch{'s' if trainer.get('epochs') != 1 else ''})")
        lines.append(f"| [{entry['name']}](runs/{entry['name']}/) | {metrics.get('task')} | {config['model'].get('latent_dim')} | "
                     f"{training} | {_protocol(config)} | {100 * metrics['accuracy']:.2f} % | {BOOK_ACCURACY} % | "
                     f"{cell(metrics.get('mi_estimate'), 4)} |")
    return lines + _figures(entries)


def _figures(entries: list[dict[str, Any]]) -> list[str]:
    """The per-step plot of each record that has it copied."""
    return [line for entry in entries if (entry["path"] / "mi_per_step.png").is_file()
            for line in ("", f"![{entry['name']}: the bound of every step](runs/{entry['name']}/mi_per_step.png)")]


def mine_doc(records: Sequence[Path], docs: Path) -> Path:
    """Write `docs`/mine.md from `records`; returns its path."""
    gaussian: list[dict[str, Any]] = []
    mnist: list[dict[str, Any]] = []
    entries = load_records(records, MODELS)
    for entry in entries:
        history = entry["path"] / "history.csv"
        entry.update(history=read_csv(history) if history.is_file() else [], rho=entry["config"]["dataset"].get("rho"))
        (gaussian if entry["config"]["model"]["name"] == "mine" else mnist).append(entry)
    lines = ["# MINE: mutual information by the Donsker-Varadhan bound (chapter 13)", "",
             generated_by("mine-doc"), ""]
    if gaussian:
        lines += _gaussian(gaussian) + [""]
    if mnist:
        lines += _mnist(mnist) + [""]
    lines += commands_section(entries)
    return write_page(docs / "mine.md", lines)


def main(argv: Sequence[str]) -> str:
    return records_doc_main(argv, "mine-doc", __doc__.splitlines()[0], "config.yaml, metrics.json, history.csv, run.json", mine_doc)
