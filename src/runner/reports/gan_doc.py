"""`run-report gan-doc`: docs/results/gan.md from committed GAN run records.

    run-report gan-doc <record> [<record> ...] [--docs docs/results]

A record is a folder holding a run's small files as the runner wrote them: `config.yaml`,
`metrics.json`, `history.csv`, `run.json` (commit and command) and, shown when present,
`samples.png`. Each record gives its per-interval losses and the book's accuracies (D's on real
and on fake digits, their mean, the adversarial one; StackedGAN's four losses and enc1's accuracy);
a DCGAN record also stands beside the last three log lines the book printed (E4.1). A `task=sample`
record (a checkpoint's grid with its controls swept, the book's test-script figures) shows its
grids. The runs the page lists without a record are commands only: their earlier numbers had no
record and were removed.

A folder of records instead (a comparison's set, `runs/gan_lsgan_vs_dcgan/`) is not shown here: its
own page (`gan_lsgan_vs_dcgan.md`, by `run-report seeds-doc`) is linked from the rows of the models
whose completed runs it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from adl_runner.runner.reports.aggregate import COMPLETED
from adl_runner.runner.reports.files import (
    cell,
    command_line,
    generated_by,
    interval_steps,
    is_record_set,
    load_records,
    read_csv,
    records_doc_main,
    table_row,
    write_page,
)
from adl_runner.runner.reports.seeds_doc import read_records

MODELS = ("dcgan", "cgan", "wgan", "lsgan", "acgan", "infogan", "stackedgan", "gan_mlp")
BOOK = (  # model, listings, book budget, the book's result (spec book-ch01-05 and ch06-09; Pattanayak ch. 6)
    ("dcgan", "Listings 4.2.1-4.2.4", "40,000 steps of batch 64", "recognisable digits by 5,000 steps; the last three log "
     "lines: D loss 0.42-0.53, acc 0.74-0.80; adversarial loss 0.82-1.57, acc 0.20-0.48"),
    ("cgan", "Listings 4.3.1-4.3.3", "40,000 steps of batch 64", "qualitative: digit-conditioned grids"),
    ("wgan", "Listings 5.1.1-5.1.2", "40,000 steps of batch 64", "qualitative: stable, no mode collapse"),
    ("lsgan", "Listing 5.2.1", "40,000 steps of batch 64", "qualitative: better perceptual quality than DCGAN"),
    ("acgan", "Listings 5.3.1-5.3.4", "40,000 steps of batch 64", "qualitative: stable; digits 2-6 better than CGAN"),
    ("infogan", "Listings 6.1.1-6.1.4", "40,000 steps of batch 64", "qualitative: the discrete code selects the digit; "
     "code 1 (-2 to 2) thickness, code 2 tilt"),
    ("stackedgan", "Listings 6.2.1-6.2.5", "10 encoder epochs, then 10,000 steps", "qualitative: the label selects the "
     "digit; z0 (-4 to 4) thickness, z1 (-1 to 1) tilt"),
    ("gan_mlp", "Pattanayak Listing 6-5", "60,000 steps of batch 256", "qualitative: noisy, mostly readable digits (Fig 6-23)"),
)
PRESETS = (  # record (a set's folder, or a run record's name), its command
    ("gan_cpu_budgets", "run -m experiment=gan/cpu_budgets      # CGAN 3,000, ACGAN 5,000, InfoGAN 2,000, the MLP GAN 60,000 steps, WGAN 2,000 in both modes"),
    ("gan_lsgan_vs_dcgan", "run -m experiment=gan/lsgan_vs_dcgan   # DCGAN and LSGAN, 3,000 steps, seeds 1-3"),
    ("gan_batchnorm_d", "run -m experiment=gan/batchnorm_d      # Fig 5.1.5: DCGAN and WGAN with and without BatchNorm in D"),
    ("infogan_cpu_budgets_code1", "run task=sample ckpt=<gan_cpu_budgets' InfoGAN job dir> sample.code2=0 sample.code1=-2:2   # Fig 6.1.6"),
    ("infogan_cpu_budgets_code2", "run task=sample ckpt=<gan_cpu_budgets' InfoGAN job dir> sample.code1=0 sample.code2=-2:2   # Fig 6.1.7"),
    ("stackedgan_mnist", "run model=stackedgan                   # the book's budget (hours on a CPU)"),
    ("stackedgan_mnist_z0", "run task=sample ckpt=<stackedgan_mnist's run dir> sample.z1=0 sample.z0=-4:4   # Fig 6.2.10"),
    ("stackedgan_mnist_z1", "run task=sample ckpt=<stackedgan_mnist's run dir> sample.z0=0 sample.z1=-1:1   # Fig 6.2.11"),
)
"""The runs that re-made the GAN numbers from committed code (CPU budgets, MNIST-FID every interval)
and the `task=sample` code sweeps of their checkpoints; the page names those whose record is not yet
committed."""
BOOK_LINES = ((39997, 0.423329, 0.796875, 0.819355, 0.484375), (39998, 0.471747, 0.773438, 1.570030, 0.203125),
              (39999, 0.532917, 0.742188, 0.824350, 0.453125))
"""E4.1: the book's last three DCGAN log lines, (step, D loss, D acc, adversarial loss, adversarial acc)."""
CURVE = (("d_loss", "D loss"), ("d_acc", "D acc"), ("d_real_acc", "D acc, real"), ("d_fake_acc", "D acc, fake"),
         ("g_loss", "adversarial loss"), ("g_acc", "adversarial acc"), ("d_label_acc", "D label acc, real"),
         ("d_fake_label_acc", "D label acc, fake"), ("dis1_loss", "dis1 loss"), ("dis0_loss", "dis0 loss"),
         ("adv1_loss", "adv1 loss"), ("adv0_loss", "adv0 loss"), ("enc1_acc", "enc1 acc on gen1's features"),
         ("fid", "MNIST-FID"), ("label_accuracy", "label accuracy"))
"""history.csv columns shown per interval, where a run has them (the means over the interval's steps)."""


def _against_book(entry: dict[str, Any]) -> list[str]:
    """A DCGAN record's accuracies and losses beside the book's last three log lines."""
    metrics, steps = entry["metrics"], entry["metrics"]["steps_completed"]
    first = steps - interval_steps(entry["config"]) + 1
    lines = ["The book's last three log lines (E4.1, steps 39,997-39,999: single batches, D on 64 real + 64 fake",
             f"digits, the adversarial model on 64 fakes) beside this record: the mean over steps {first:,}-{steps:,}",
             "(`train_*` in `metrics.json`) and D and G judged once on the held-out test digits (`test_*`).", "",
             "| quantity | book, steps 39,997 / 39,998 / 39,999 | book range | record, train | record, test | record against the book's range |",
             "|---|---|---|---|---|---|"]
    for column, (key, label) in enumerate((("d_loss", "D loss"), ("d_acc", "D acc"), ("g_loss", "adversarial loss"),
                                           ("g_acc", "adversarial acc")), start=1):
        book = [line[column] for line in BOOK_LINES]
        low, high = min(book), max(book)
        train = metrics.get(f"train_{key}")
        where = "-" if train is None else "inside" if low <= train <= high else "below" if train < low else "above"
        lines.append(table_row([label, " / ".join(f"{v:.3f}" for v in book), f"{low:.3f}-{high:.3f}", cell(train),
                                cell(metrics.get(f"test_{key}")), where]))
    for key, label in (("d_real_acc", "D acc, real digits"), ("d_fake_acc", "D acc, fake digits")):
        lines.append(table_row([label, "not printed", "-", cell(metrics.get(f"train_{key}")),
                                cell(metrics.get(f"test_{key}")), "-"]))
    lines += ["", f"The record ran {steps:,} of the book's 40,000 steps, so it is no reproduction of the book's end state,",
              "which the book describes as D's loss approaching 0.5 and the adversarial loss 1.0. The book's `acc` of D",
              "is over its concatenated real + fake batch, the record's `d_acc` the mean of `d_real_acc` and",
              "`d_fake_acc` (the same for equal halves); the adversarial `acc` is the share of fakes D takes for real."]
    return lines


def _samples(entry: dict[str, Any]) -> list[str]:
    """A `task=sample` record: its command and the grids it drew (kept with the record)."""
    name, metrics = entry["name"], entry["metrics"]
    lines = ["", f"## `{name}`: {entry['config']['model']['name']} samples from `{metrics['checkpoint']}`", "",
             command_line(name, entry["run"])]
    for figure in (Path(f).name for f in metrics.get("files", [])):
        if (entry["path"] / figure).is_file():
            lines += ["", f"![{name}: {figure}](runs/{name}/{figure})"]
    return lines


def _record(entry: dict[str, Any]) -> list[str]:
    config, metrics, name = entry["config"], entry["metrics"], entry["name"]
    if metrics.get("task") == "sample":
        return _samples(entry)
    trainer = config["trainer"]
    lines = ["", f"## `{name}`: {config['model']['name']}, {metrics['steps_completed']:,} steps of batch {trainer['batch_size']}", "",
             command_line(name, entry["run"]), ""]
    if config["model"]["name"] == "dcgan":
        lines += [*_against_book(entry), ""]
    history = read_csv(entry["path"] / "history.csv")
    columns = [(key, label) for key, label in CURVE if history and history[0].get(key, "NA") != "NA"]
    interval = interval_steps(config)
    lines += [f"Per interval of {interval} steps (`history.csv`, means over the interval's steps):", "",
              table_row(["step", *(label for _, label in columns)]), "|---|" + "---|" * len(columns)]
    for row in history:
        lines.append(table_row([f"{(int(row['epoch']) + 1) * interval:,}", *(cell(row[key]) for key, _ in columns)]))
    if (entry["path"] / "samples.png").is_file():
        lines += ["", f"![{name}: samples after {metrics['steps_completed']:,} steps](runs/{name}/samples.png)"]
    return lines


def _sets(folders: Sequence[Path]) -> dict[str, list[str]]:
    """model -> a link to each comparison page whose record set holds completed runs of it, with
    how many and of how many steps."""
    held: dict[str, list[str]] = {}
    for folder in folders:
        done = [r for r in read_records([folder]) if r.status == COMPLETED]
        for model in MODELS:
            runs = [r for r in done if (r.config.get("model") or {}).get("name") == model]
            if runs:
                steps = "/".join(f"{s:,}" for s in sorted({int(r.metrics.get("steps_completed", 0)) for r in runs}))
                held.setdefault(model, []).append(
                    f"[{folder.name}]({folder.name}.md): {len(runs)} run{'s' if len(runs) > 1 else ''} of {steps} steps")
    return held


def gan_doc(records: Sequence[Path], docs: Path) -> Path:
    """Write `docs`/gan.md from `records` (run records, and folders of a comparison's records);
    returns its path."""
    folders = [r for r in records if is_record_set(r)]
    entries = load_records([r for r in records if r not in folders], MODELS)
    elsewhere = _sets(folders)
    lines = ["# GANs on MNIST (chapters 4-6; Pattanayak Listing 6-5)", "",
             generated_by("gan-doc"),
             "Every interval logs the book's accuracies: `d_real_acc` and `d_fake_acc` (the share of real and of fake",
             "digits D judges right), `d_acc` (their mean, the book's D `acc`), `g_acc` (the adversarial `acc`: the",
             "share of G's fakes D takes for real) and, for ACGAN, `d_label_acc` / `d_fake_label_acc` (D's digit",
             "accuracy on real and on fake digits); `model.book_log=true` also prints the book's line every step.", "",
             "## The book's results, and what is recorded", "",
             "A linked page (`.md`) is a comparison's: its runs with their MNIST-FID, seeds and sample grids.", "",
             "| model | book | book budget | book result | committed records |", "|---|---|---|---|---|"]
    for model, listing, budget, result in BOOK:
        records_of = ", ".join([*(f"[{e['name']}](runs/{e['name']}/)" for e in entries if e["config"]["model"]["name"] == model),
                                *elsewhere.get(model, [])])
        lines.append(table_row([f"`{model}`", listing, budget, result, records_of or "not yet re-run from committed code"]))
    recorded = {r.name for r in records}
    missing = [name for name, _ in PRESETS if name not in recorded]
    lines += ["", "## To run", "",
              "Each comparison is a preset whose records `make record-set SWEEP=<its sweep dir> SET=<its page>` copies",
              "to `runs/<its page>/`, linked from the model rows above; StackedGAN is one run, recorded with",
              "`make record RUN=<its run dir> NAME=stackedgan_mnist FIGURES=samples.png`. The code sweeps of the",
              "book's test scripts are `task=sample` runs of a recorded run's checkpoint (the other code fixed at 0,",
              "the digit cycling 0-9 over the grid, InfoGAN's noise drawn per image), each recorded with",
              "`make record RUN=<its run dir> NAME=<its name> FIGURES=<the grid it wrote>`; which factor a code",
              "carries (the book: thickness, tilt) is for the reader to judge from the grid, not measured:",
              "", "```",
              *(command for _, command in PRESETS), "```"]
    if missing:
        lines += ["", "Not yet recorded from committed code: " + ", ".join(f"`{name}`" for name in missing) + "."]
    for entry in entries:
        lines += _record(entry)
    return write_page(docs / "gan.md", lines)


def main(argv: Sequence[str]) -> str:
    return records_doc_main(argv, "gan-doc", __doc__.splitlines()[0], "config.yaml, metrics.json, history.csv, run.json", gan_doc)
