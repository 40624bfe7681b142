"""`run-report autoencoders-doc`: docs/results/chapters2_3_8.md from committed run records of the
functional-API classifiers (chapter 2), the autoencoders (chapter 3) and the VAEs (chapter 8).

    run-report autoencoders-doc <record> [<record> ...] [--docs docs/results]

A record is a folder holding a run's small files as the runner wrote them: `config.yaml`,
`metrics.json`, `run.json` (commit and command), `history.csv`, for the beta-VAE `latent_kl.json`
(the mean KL per latent dimension and the `muted_below` line) and the figures the page shows. Each
record is the row of `autoencoders_plan.ROWS` whose command it ran; a row without a record is
listed as not yet re-run, with its command, and no number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from adl_runner.runner.reports.autoencoders_plan import ROWS, Row
from adl_runner.runner.reports.files import (
    ReportError,
    command_line,
    generated_by,
    load_records,
    read_csv,
    read_json,
    record_command,
    records_doc_main,
    write_page,
)

PAGE = "chapters2_3_8.md"
MODELS = ("cnn", "ynet", "autoencoder", "colorization", "vae_mlp", "vae_cnn", "cvae", "beta_vae")
"""config.yaml model names of the rows (`model=cnn_functional` and `model=dae` are presets of cnn and autoencoder)."""
NEUTRAL = ("logger.", "hydra.")
"""Command-line overrides that change no result, left out when a record is matched to its row."""


def _overrides(run: dict[str, Any]) -> set[str]:
    return {arg for arg in (run.get("argv") or [])[1:] if not arg.startswith(NEUTRAL)}


def _match(records: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """{row name: its record's entry}; a record that ran no row's command is a one-line ReportError."""
    matched: dict[str, dict[str, Any]] = {}
    for entry in load_records(records, MODELS):
        row = next((row for row in ROWS if set(row.overrides) == _overrides(entry["run"])), None)
        if row is None:
            raise ReportError(f"{entry['path'] / 'run.json'} ran `{record_command(entry['run'])}`, no row of the page; "
                              f"rows: {', '.join('run ' + ' '.join(r.overrides) for r in ROWS)}")
        if row.name in matched:
            raise ReportError(f"{entry['path']} and {matched[row.name]['path']} are both `run {' '.join(row.overrides)}`")
        history = entry["path"] / "history.csv"
        entry["history"] = read_csv(history) if history.is_file() else []
        matched[row.name] = entry
    return matched


def _percent(value: float) -> str:
    return f"{100 * value:.2f} %"


def _measured(entry: dict[str, Any]) -> str:
    """The test metrics of a record, in the terms of its family."""
    metrics, model = entry["metrics"], entry["config"]["model"]
    if "test_accuracy" in metrics:
        late = entry["history"][len(entry["history"]) // 2:]
        values = [float(h["val_accuracy"]) for h in late]
        spread = (f"; val accuracy {_percent(min(values))} to {_percent(max(values))} over epochs "
                  f"{int(late[0]['epoch']) + 1}-{int(late[-1]['epoch']) + 1}") if values else ""
        return f"test accuracy **{_percent(metrics['test_accuracy'])}**{spread}"
    if "test_kl_loss" in metrics:
        return (f"loss {metrics['test_loss']:.2f} = reconstruction {metrics['test_reconstruction_loss']:.2f} + "
                f"{model.get('beta', 1):g} x KL {metrics['test_kl_loss']:.2f} ({model.get('reconstruction', 'mse').upper()} "
                "summed over the pixels)")
    against = " to the clean digits" if entry["config"]["dataset"].get("sigma") is not None else ""
    best = f"; best val {metrics['best_val_loss']:.4f} at epoch {metrics['best_epoch']}" if "best_val_loss" in metrics else ""
    return f"test MSE{against} **{metrics['test_loss']:.4f}**{best}"


def _latent_kl(entry: dict[str, Any]) -> tuple[list[float], float]:
    kl = read_json(entry["path"] / "latent_kl.json")
    return [float(v) for v in kl["mean_kl_per_dim"]], float(kl["muted_below"])


def _verdict(row: Row, entry: dict[str, Any]) -> str:
    """met / not met against the row's target or muting claim; a row with neither is the book's pictures."""
    if row.target is not None:
        value = float(entry["metrics"][row.target.metric])
        return f"{'met' if row.target.low <= value <= row.target.high else 'not met'} ({row.target.wording})"
    if row.muting is not None:
        kl, muted_below = _latent_kl(entry)
        met = tuple(v < muted_below for v in kl) == row.muting.muted
        return f"{'met' if met else 'not met'} (the book: {row.muting.claim})"
    return "qualitative (figures below)"


def _duration(seconds: Any) -> str:
    if seconds is None:
        return "-"
    return f"{float(seconds):.0f} s" if float(seconds) < 120 else f"{float(seconds) / 60:.1f} min"


def _table(matched: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| record | model (book) | params | epochs | test metrics (`metrics.json`) | book | verdict | wall time |",
             "|---|---|---|---|---|---|---|---|"]
    for row in ROWS:
        entry = matched.get(row.name)
        if entry is None:
            lines.append(f"| `{row.name}` | {row.title} | - | - | not yet re-run | {row.book} | - | - |")
            continue
        metrics = entry["metrics"]
        lines.append(f"| [{row.name}](runs/{row.name}/) | {row.title} | {metrics['params']:,} | {metrics['epochs_completed']} | "
                     f"{_measured(entry)} | {row.book} | {_verdict(row, entry)} | {_duration(entry['run'].get('wall_time_s'))} |")
    return lines


def _beta_sweep(matched: dict[str, dict[str, Any]]) -> list[str]:
    """The table of mean KL per latent dimension and the book's claims, met or not."""
    lines = ["## The beta sweep (Section 8.3)", "",
             "Each run's mean KL per latent dimension on the test set (`latent_kl.json`; a dimension below the",
             "record's `muted_below` carries next to nothing: muted). From the KL numbers the page can say whether a",
             "dimension is used; which factor (tilt, width) a used one carries is only in the traversal figures below",
             "(which axis takes which factor is a matter of initialisation). One seed per β: whether the muting depends",
             "on the seed is not checked.", "",
             "| β | record | seed | mean KL of each latent (nats) | muted (below) | book | verdict |", "|---|---|---|---|---|---|---|"]
    for row in (row for row in ROWS if row.beta is not None):
        entry = matched.get(row.name)
        if entry is None:
            lines.append(f"| {row.beta:g} | `{row.name}`: not yet re-run | - | - | - | {row.book} | - |")
            continue
        kl, muted_below = _latent_kl(entry)
        muted = ", ".join(f"z[{i}]" for i, v in enumerate(kl) if v < muted_below) or "none"
        lines.append(f"| {row.beta:g} | [{row.name}](runs/{row.name}/) | {entry['metrics']['seed']} | "
                     + ", ".join(f"z[{i}] {v:.3f}" for i, v in enumerate(kl))
                     + f" | {muted} ({muted_below:g}) | {row.book} | {_verdict(row, entry)} |")
    return lines


def _figures(matched: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## Figures", "", "As the runs wrote them, copied into their records; a figure over 300 KB is kept as the same",
             "image with fewer colours (a 256-colour palette; the 30x30 digit grid: 32 gray levels)."]
    for row in ROWS:
        shown = [(file, caption) for file, caption in row.figures if row.name in matched
                 and (matched[row.name]["path"] / file).is_file()]
        if not shown:
            continue
        lines += ["", f"### {row.title}: `{row.name}`", "", f"The book: {row.book}."]
        for file, caption in shown:
            lines += ["", f"`{file}`: {caption}.", "", f"![{row.name}: {file}](runs/{row.name}/{file})"]
    return lines


def _stack(matched: dict[str, dict[str, Any]]) -> list[str]:
    versions = sorted({", ".join(f"{k} {entry['run'].get('versions', {}).get(k)}" for k in ("tensorflow-cpu", "keras"))
                       for entry in matched.values()})
    return [f"Stack (from `run.json`): {'; '.join(versions)}."] if versions else []


def autoencoders_doc(records: Sequence[Path], docs: Path) -> Path:
    """Write `docs`/chapters2_3_8.md from `records`; returns its path."""
    matched = _match(records)
    lines = ["# Chapters 2, 3 and 8: the functional-API CNNs, the autoencoders and the VAEs", "",
             generated_by("autoencoders-doc"),
             "The beta-VAE's also hold `latent_kl.json`, and each record the figures shown here. Every number below is",
             "from a record. Test metrics are the final weights on the test split, which is also the book's validation",
             "data; the book's column is its stated result (chapters 3 and 8 give pictures, not numbers, for all but the",
             "first autoencoder). Runs on the project's CPU machine, shared with other jobs, so wall times are an upper",
             "bound.", *_stack(matched), "",
             *_table(matched), ""]
    missing = [row for row in ROWS if row.name not in matched]
    if missing:
        lines += ["Not yet re-run (each to be recorded under `runs/<record>/` from its run dir):", ""]
        lines += [f"- `{row.name}`: `run {' '.join(row.overrides)} logger.tensorboard=false hydra.run.dir=outputs/book/{row.name}`"
                  for row in missing]
        lines.append("")
    lines += ["Commands and commits:", "",
              *(command_line(row.name, matched[row.name]["run"]) for row in ROWS if row.name in matched), "",
              *_beta_sweep(matched), "", *_figures(matched)]
    return write_page(docs / PAGE, lines)


def main(argv: Sequence[str]) -> str:
    return records_doc_main(argv, "autoencoders-doc", __doc__.splitlines()[0],
                            "config.yaml, metrics.json, run.json, history.csv, latent_kl.json", autoencoders_doc)
