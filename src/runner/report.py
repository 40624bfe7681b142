"""Book tables: compare the runs of a `run -m experiment=book/<table>` sweep with the book's numbers.

A table spec is the `table` node of a book experiment config (conf/experiment/book/*.yaml):
`id`, `title`, `source`, `columns` (label columns), `metrics` (measured key in metrics.json vs.
book key, with display label, scale and decimals), optional `references` (book-side numbers shown
but not compared, such as the original paper's) and `rows` (labels, overrides, book values).
Optional display keys: `headers` (column -> title), `name` (replaces the "Table <id>" heading),
`notes` (lines printed under the heading) and `extras` (measured-only columns with no book value: `key`,
`label`, `scale`, `decimals`; a list-valued metric such as `accuracy_per_head` shows every entry). Each job of the sweep wrote
`config.yaml` (with `table.row`) and `metrics.json` into its run dir; this module groups those runs
by row, averages repeated runs (seeds), and writes `table.md` and `table.csv` into the sweep dir.
The table names the command and commit each job's `run.json` records.

The docs' copies (docs/results/table_<id>.md/.csv) come from run records instead: a folder holding,
per job, the small files the sweep wrote (`config.yaml`, `metrics.json`, `history.csv`, `run.json`),
`run-report <records> --table book/<table> --docs docs/results`. They read as the sweep's own
table.md (the command from the records' `run.json`, Hydra's own options left out); with no records
yet, the book's values alone.

Pure Python on purpose (no TensorFlow): it runs inside Hydra's end-of-multirun callback and as the
`run-report` console script on machines that only hold results.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import shlex
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from adl_runner.runner.reports import (
    autoencoders_doc,
    classical_doc,
    cyclegan_doc,
    detection_doc,
    gan_doc,
    gan_table,
    iic_doc,
    judge_doc,
    localizer_doc,
    mine_doc,
    record,
    rl_doc,
    rl_results,
    seeds_doc,
    segmentation_doc,
    serving_doc,
    train_eval,
)
from adl_runner.runner.reports.aggregate import job_dirs, mean_std, number, write_results
from adl_runner.runner.reports.book_values import DEFAULT_TOLERANCE
from adl_runner.runner.reports.files import ReportError, recorded_command
from adl_runner.runner.reports.jobs_index import write_jobs_index
from adl_runner.runner.rundir import RunDir

log = logging.getLogger(__name__)

MISSING = "—"  # shown for a measured value or difference that has no finished run
NOT_AVAILABLE = "NA"  # shown for a book value the book does not give (e.g. the paper's ResNet56 v2)
COMPLETED = "completed"
_CONF_DIR = Path(__file__).resolve().parent / "conf"  # src/runner/conf -> repo conf/ (symlink)


# ---------------------------------------------------------------------------------------------
# Table specs


def _to_plain(node: Any) -> Any:
    """A DictConfig/ListConfig as plain containers; interpolations stay unresolved (multirun.yaml
    may hold `${now:...}` whose resolver only exists inside Hydra)."""
    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=False)
    return node


def validate_spec(spec: Any) -> dict[str, Any]:
    """Check a table spec's shape and return it as a plain dict; ReportError names the first problem."""
    spec = _to_plain(spec)
    if not isinstance(spec, dict):
        raise ReportError("the table spec is not a mapping (expected the `table` node of a book experiment)")
    for key in ("columns", "metrics", "rows"):
        if not isinstance(spec.get(key), list) or not spec[key]:
            raise ReportError(f"table {spec.get('id', '?')}: `{key}` must be a non-empty list")
    keys = [m.get("key") if isinstance(m, dict) else None for m in spec["metrics"]]
    for i, m in enumerate(spec["metrics"]):
        if not isinstance(m, dict) or not m.get("key") or not m.get("book"):
            raise ReportError(f"table {spec.get('id', '?')}: metrics[{i}] needs `key` and `book`")
    if len(set(keys)) != len(keys):
        raise ReportError(f"table {spec.get('id', '?')}: metric keys must be unique, got {keys}")
    for i, r in enumerate(spec.get("references") or []):
        if not isinstance(r, dict) or not r.get("book"):
            raise ReportError(f"table {spec.get('id', '?')}: references[{i}] needs `book`")
    for i, x in enumerate(spec.get("extras") or []):
        if not isinstance(x, dict) or not x.get("key"):
            raise ReportError(f"table {spec.get('id', '?')}: extras[{i}] needs `key`")
    for i, t in enumerate(spec.get("targets") or []):
        _check_target(spec, i, t, keys)
    book_keys = [m["book"] for m in spec["metrics"]] + [r["book"] for r in spec.get("references") or []]
    for i, row in enumerate(spec["rows"]):
        if not isinstance(row, dict):
            raise ReportError(f"table {spec.get('id', '?')}: rows[{i}] is not a mapping")
        labels, book = row.get("labels") or {}, row.get("book") or {}
        missing = [c for c in spec["columns"] if c not in labels] + [b for b in book_keys if b not in book]
        if missing:
            raise ReportError(f"table {spec.get('id', '?')}: rows[{i}] lacks {', '.join(missing)}")
    return spec


def _check_target(spec: dict[str, Any], i: int, target: Any, keys: list[Any]) -> None:
    """A `targets` entry: {label, metric (a metric key), min (displayed units), rows (optional indices)}."""
    where = f"table {spec.get('id', '?')}: targets[{i}]"
    if not isinstance(target, dict) or not target.get("label") or target.get("metric") not in keys:
        raise ReportError(f"{where} needs `label` and `metric` (one of {', '.join(map(str, keys))})")
    if number(target.get("min")) is None:
        raise ReportError(f"{where}: `min` must be a number in the table's displayed units, got {target.get('min')!r}")
    rows = target.get("rows", list(range(len(spec["rows"]))))
    if not isinstance(rows, list) or not rows or not all(isinstance(r, int) and 0 <= r < len(spec["rows"]) for r in rows):
        raise ReportError(f"{where}: `rows` must list row indices in 0..{len(spec['rows']) - 1}, got {rows!r}")


def load_table_spec(path: str | Path) -> dict[str, Any]:
    """The `table` node of a YAML file: a sweep's multirun.yaml or a book experiment config.

    `path` may also name a packaged experiment, e.g. `book/table_1_3_3`.
    """
    p = Path(path)
    if not p.is_file():
        packaged = _CONF_DIR / "experiment" / f"{str(path).removesuffix('.yaml')}.yaml"
        if not packaged.is_file():
            raise ReportError(f"no such table config: {path}")
        p = packaged
    try:
        cfg = OmegaConf.load(p)
    except Exception as e:  # YAML errors are multi-line
        raise ReportError(f"cannot read {p}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    table = OmegaConf.select(cfg, "table", default=None) if isinstance(cfg, DictConfig) else None
    if table is None:
        raise ReportError(f"{p} has no `table` node (not a book table sweep?)")
    spec = validate_spec(table)
    # The flagging tolerance is declared once, on the table's sweep callback; a table rebuilt later reads it there.
    tolerance = number(OmegaConf.select(cfg, "hydra.callbacks.book_table.tolerance", default=None))
    if tolerance is not None:
        spec.setdefault("tolerance", tolerance)
    return spec


def _is_table_sweep(sweep_dir: Path) -> bool:
    """Whether the sweep's multirun.yaml holds a book table."""
    try:
        return OmegaConf.select(OmegaConf.load(sweep_dir / "multirun.yaml"), "table", default=None) is not None
    except Exception:  # no or unreadable multirun.yaml: not a book table as far as we can tell
        return False


def sweep_command(sweep_dir: Path) -> Optional[str]:
    """The `run -m ...` command line that produced the sweep, from multirun.yaml's task overrides."""
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return None
    try:
        overrides = OmegaConf.select(OmegaConf.load(path), "hydra.overrides.task", default=None)
    except Exception:
        return None
    if overrides is None:
        return None
    return " ".join(["run", "-m", *(shlex.quote(str(o)) for o in _to_plain(overrides))])


# ---------------------------------------------------------------------------------------------
# Collecting runs


@dataclass
class Run:
    """One finished-or-not job of the sweep."""

    path: Path
    row: int
    metrics: dict[str, Any]
    command: Optional[str] = None  # the `run -m ...` line its run.json records
    commit: Optional[str] = None

    @property
    def completed(self) -> bool:
        # A metrics.json without a status comes from an older writer: treat it as finished.
        return self.metrics.get("status", COMPLETED) == COMPLETED


@dataclass
class Collection:
    """The runs of a sweep dir grouped by table row, plus what was skipped and why."""

    by_row: dict[int, list[Run]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # "<dir>: <reason>"
    order: list[Run] = field(default_factory=list)  # every collected run, in job-dir order

    def completed(self, row: int) -> list[Run]:
        return [r for r in self.by_row.get(row, []) if r.completed]

    def commands(self) -> list[str]:
        """The distinct command lines the runs recorded, first seen first."""
        return list(dict.fromkeys(r.command for r in self.order if r.command))

    def commits(self) -> list[str]:
        return list(dict.fromkeys(r.commit for r in self.order if r.commit))


def _provenance(job: Path) -> tuple[Optional[str], Optional[str]]:
    """(command, commit) of a job's run.json; (None, None) without a readable one."""
    try:
        info = json.loads((job / "run.json").read_text())
    except (OSError, ValueError):
        return None, None
    if not isinstance(info, dict):
        return None, None
    return recorded_command(info.get("argv")), info.get("git_commit")


def _job_dirs(sweep_dir: Path) -> list[Path]:
    """Every job dir of the sweep (aggregate.job_dirs) holding both config.yaml and metrics.json."""
    return [d for d in job_dirs(sweep_dir) if (d / "config.yaml").is_file() and (d / "metrics.json").is_file()]


def collect_runs(sweep_dir: str | Path, spec: dict[str, Any]) -> Collection:
    """Read every job dir of `sweep_dir` and group its metrics by `table.row`.

    Jobs of another table (a different `table.id`), without a row, or with unreadable files are
    skipped and listed in `Collection.skipped`.
    """
    sweep_dir = Path(sweep_dir)
    out = Collection()
    for d in _job_dirs(sweep_dir):
        name = str(d.relative_to(sweep_dir))
        try:
            cfg = OmegaConf.load(d / "config.yaml")
            metrics = json.loads((d / "metrics.json").read_text())
        except Exception as e:
            out.skipped.append(f"{name}: unreadable ({type(e).__name__})")
            continue
        row = OmegaConf.select(cfg, "table.row", default=None, throw_on_resolution_failure=False)
        job_table = OmegaConf.select(cfg, "table.id", default=None, throw_on_resolution_failure=False)
        if job_table is not None and spec.get("id") is not None and str(job_table) != str(spec["id"]):
            out.skipped.append(f"{name}: belongs to table {job_table}")
        elif not isinstance(row, int) or not 0 <= row < len(spec["rows"]) or not isinstance(metrics, dict):
            out.skipped.append(f"{name}: no valid table.row")
        else:
            run = Run(d, row, metrics, *_provenance(d))
            out.by_row.setdefault(row, []).append(run)
            out.order.append(run)
    return out


# ---------------------------------------------------------------------------------------------
# Building the table


@dataclass
class Cell:
    """One metric of one row: book value, measured mean (scaled), sample std, diff; None = absent."""

    book: Optional[float]
    measured: Optional[float]
    std: Optional[float]
    diff: Optional[float]
    decimals: int
    flagged: bool = False
    exact: Optional[float] = None  # the unrounded measured mean, which targets are judged on


@dataclass
class TableRow:
    """A row of the output table."""

    index: int
    labels: dict[str, Any]
    cells: dict[str, Cell]  # metric key -> cell
    references: dict[str, Optional[float]]  # reference book key -> value
    extras: dict[str, str]  # measured-only column key -> its text
    n: int  # completed runs averaged
    not_completed: list[str]  # statuses of runs that did not finish
    epochs: Optional[float]

    def title(self, columns: Sequence[str]) -> str:
        return " / ".join(str(self.labels.get(c, "")) for c in columns)


def _round(x: float, decimals: int) -> float:
    r = round(x, decimals)
    return 0.0 if r == 0 else r  # no "-0.0"


def build_rows(spec: dict[str, Any], runs: Collection, tolerance: float = DEFAULT_TOLERANCE) -> list[TableRow]:
    """The output rows: per metric, the mean over the row's completed runs, scaled and rounded.

    The difference is taken between the rounded measured value and the book value, so the table
    reads consistently (what is shown minus what the book shows); it is flagged when its magnitude
    exceeds `tolerance` (in displayed units, i.e. percentage points for accuracies).
    """
    rows: list[TableRow] = []
    for i, row in enumerate(spec["rows"]):
        done = runs.completed(i)
        cells: dict[str, Cell] = {}
        for m in spec["metrics"]:
            scale, decimals = float(m.get("scale", 1)), int(m.get("decimals", 2))
            book = number(row["book"].get(m["book"]))
            values = [v * scale for v in (number(r.metrics.get(m["key"])) for r in done) if v is not None]
            mean, spread = mean_std(values)
            measured = _round(mean, decimals) if mean is not None else None
            std = _round(spread, decimals) if spread is not None else None
            diff = _round(measured - book, decimals) if measured is not None and book is not None else None
            flagged = diff is not None and abs(diff) > tolerance + 1e-9
            cells[m["key"]] = Cell(book, measured, std, diff, decimals, flagged, mean)
        epochs = [e for e in (number(r.metrics.get("epochs_completed")) for r in done) if e is not None]
        extras = {x["key"]: _extra_text(x, [r.metrics.get(x["key"]) for r in done]) for x in spec.get("extras") or []}
        rows.append(
            TableRow(
                index=i,
                labels=dict(row["labels"]),
                cells=cells,
                references={r["book"]: number(row["book"].get(r["book"])) for r in spec.get("references") or []},
                extras=extras,
                n=len(done),
                not_completed=[str(r.metrics.get("status")) for r in runs.by_row.get(i, []) if not r.completed],
                epochs=statistics.fmean(epochs) if epochs else None,
            )
        )
    return rows


def _extra_text(extra: dict[str, Any], values: list[Any]) -> str:
    """A measured-only cell: the mean over runs, scaled and rounded; a list-valued metric (one value
    per head) entry by entry, joined by ' / ' (runs whose lists differ in length: MISSING)."""
    scale, decimals = float(extra.get("scale", 1)), int(extra.get("decimals", 2))
    if values and all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
        means = [statistics.fmean(float(v) for v in column) * scale for column in zip(*values)]
        return " / ".join(_fmt(m, decimals) for m in means) or MISSING
    numbers = [v * scale for v in map(number, values) if v is not None]
    return _fmt(statistics.fmean(numbers), decimals) if numbers else MISSING


# ---------------------------------------------------------------------------------------------
# Rendering


def _fmt(x: Optional[float], decimals: int, absent: str = MISSING, signed: bool = False) -> str:
    if x is None:
        return absent
    return f"{x:+.{decimals}f}" if signed and x != 0 else f"{x:.{decimals}f}"


def _headers(spec: dict[str, Any]) -> dict[str, str]:
    titles = spec.get("headers") or {}
    return {c: str(titles.get(c, c)) for c in spec["columns"]}


def render_csv(spec: dict[str, Any], rows: list[TableRow]) -> str:
    """table.csv: label columns, reference values, then book/measured/std/diff per metric, runs, epochs."""
    refs = spec.get("references") or []
    header = ["row", *spec["columns"], *(f"{r['book']}_book" for r in refs)]
    for m in spec["metrics"]:
        header += [f"{m['key']}_book", m["key"], f"{m['key']}_std", f"{m['key']}_diff"]
    header += [x["key"] for x in spec.get("extras") or []]
    header += ["runs", "epochs_completed"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        line: list[Any] = [r.index, *(r.labels.get(c, "") for c in spec["columns"])]
        line += ["" if r.references[x["book"]] is None else r.references[x["book"]] for x in refs]
        for m in spec["metrics"]:
            c = r.cells[m["key"]]
            line += [_fmt(c.book, c.decimals, ""), _fmt(c.measured, c.decimals, ""), _fmt(c.std, c.decimals, "")]
            line += [_fmt(c.diff, c.decimals, "")]
        line += [r.extras[x["key"]] for x in spec.get("extras") or []]
        line += [r.n, "" if r.epochs is None else f"{r.epochs:g}"]
        w.writerow(line)
    return buf.getvalue()


def render_markdown(
    spec: dict[str, Any],
    rows: list[TableRow],
    *,
    commands: Sequence[str] = (),
    commits: Sequence[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
    skipped: Sequence[str] = (),
) -> str:
    """table.md: title, source, command(s) and commit(s), the comparison table, then missing rows
    and flagged diffs."""
    refs = spec.get("references") or []
    heads = _headers(spec)
    show_runs = any(r.n > 1 for r in rows)
    header = [heads[c] for c in spec["columns"]] + [str(x.get("label", x["book"])) for x in refs]
    for m in spec["metrics"]:
        label = str(m.get("label", m["key"]))
        header += [f"{label} book", f"{label} measured", "Diff"]
    header += [str(x.get("label", x["key"])) for x in spec.get("extras") or []]
    if show_runs:
        header.append("Runs")
    name = spec.get("name") or f"Table {spec.get('id', '?')}"
    lines = [f"# {name}: {spec.get('title', '')}".rstrip(": "), ""]
    if spec.get("source"):
        lines.append(f"Source: {spec['source']}")
    if commands:
        lines.append(("Command: " if len(commands) == 1 else "Commands: ") + "; ".join(f"`{c}`" for c in commands))
    if commits:
        lines.append(("Commit: " if len(commits) == 1 else "Commits: ") + ", ".join(f"`{c}`" for c in commits))
    for note in spec.get("notes") or []:
        lines.append(f"Note: {note}")
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [str(r.labels.get(c, "")) for c in spec["columns"]]
        cells += [_fmt(r.references[x["book"]], int(x.get("decimals", 2)), NOT_AVAILABLE) for x in refs]
        for m in spec["metrics"]:
            c = r.cells[m["key"]]
            measured = _fmt(c.measured, c.decimals)
            if c.std is not None:
                measured += f" ± {_fmt(c.std, c.decimals)}"
            diff = _fmt(c.diff, c.decimals, signed=True)
            cells += [_fmt(c.book, c.decimals, NOT_AVAILABLE), measured, f"**{diff}**" if c.flagged else diff]
        cells += [r.extras[x["key"]] for x in spec.get("extras") or []]
        if show_runs:
            cells.append(str(r.n))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if show_runs:
        lines.append("Measured values are the mean ± sample standard deviation over the row's runs.")
    epochs = sorted({r.epochs for r in rows if r.epochs is not None})
    if epochs:
        lines.append(f"Epochs completed: {', '.join(f'{e:g}' for e in epochs)}.")
    missing = [r for r in rows if r.n == 0]
    if len(missing) == len(rows):
        lines.append("No finished run recorded yet: the measured columns await one.")
    elif missing:
        lines.append(f"Missing rows ({len(missing)} of {len(rows)}, no finished run):")
        for r in missing:
            why = f" (runs with status {', '.join(sorted(set(r.not_completed)))})" if r.not_completed else ""
            lines.append(f"- row {r.index}: {r.title(spec['columns'])}{why}")
    flagged = [(r, m) for r in rows for m in spec["metrics"] if r.cells[m["key"]].flagged]
    if flagged:
        lines.append(f"Differences beyond ±{tolerance:g} points ({len(flagged)}):")
        for r, m in flagged:
            c = r.cells[m["key"]]
            label = m.get("label", m["key"])
            lines.append(f"- row {r.index}: {r.title(spec['columns'])}: {label} {_fmt(c.diff, c.decimals, signed=True)}")
    elif any(c.diff is not None for r in rows for c in r.cells.values()):
        lines.append(f"All differences are within ±{tolerance:g} points.")
    lines += _target_lines(spec, rows)
    if skipped:
        lines.append(f"Skipped run dirs ({len(skipped)}): " + "; ".join(skipped))
    return "\n".join(lines).rstrip() + "\n"


def _target_lines(spec: dict[str, Any], rows: list[TableRow]) -> list[str]:
    """The spec's `targets`, each judged on the best measured value among its rows: met, not met, or
    not measured while none of them has a finished run."""
    lines = []
    metrics = {m["key"]: m for m in spec["metrics"]}
    for t in spec.get("targets") or []:
        m = metrics[t["metric"]]
        wanted = f"{m.get('label', m['key'])} >= {t['min']:g}"
        measured = [(rows[i].cells[m["key"]].exact, i) for i in t.get("rows", range(len(rows)))]
        measured = [(v, i) for v, i in measured if v is not None]
        if not measured:
            lines.append(f"- {t['label']}, {wanted}: not measured (no finished run)")
            continue
        # Judged unrounded: 98.17 is not 98.2, though a one-decimal column shows it so.
        value, i = max(measured)
        verdict = "met" if value >= float(t["min"]) else "not met"
        lines.append(f"- {t['label']}, {wanted}: **{verdict}** ({value:.2f}, row {i}: {rows[i].title(spec['columns'])})")
    return ["", "Targets:", *lines] if lines else []


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass
class Report:
    """What write_table produced."""

    markdown: str
    csv_text: str
    rows: list[TableRow]
    paths: tuple[Path, Path]


def _render(sweep_dir: Path, spec: dict[str, Any], runs: Collection, tolerance: float) -> tuple[str, str, list[TableRow]]:
    """table.md and table.csv of `runs`; the command is the sweep's (multirun.yaml), else what the runs recorded."""
    rows = build_rows(spec, runs, tolerance)
    command = sweep_command(sweep_dir)
    md = render_markdown(spec, rows, commands=[command] if command else runs.commands(), commits=runs.commits(),
                         tolerance=tolerance, skipped=runs.skipped)
    return md, render_csv(spec, rows), rows


def write_table(
    sweep_dir: str | Path,
    spec: Optional[Any] = None,
    *,
    tolerance: Optional[float] = None,
) -> Report:
    """Build the table of `sweep_dir` and write table.md and table.csv into it (`tolerance`: by
    default the table's own).

    `spec` is the table node (dict or DictConfig); by default it is read from the sweep's
    multirun.yaml. Raises ReportError when the dir, the spec or every finished run is missing.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ReportError(f"no such sweep dir: {sweep_dir}")
    if spec is None:
        if not (sweep_dir / "multirun.yaml").is_file():
            raise ReportError(f"{sweep_dir} has no multirun.yaml; pass the table with --table")
        spec = load_table_spec(sweep_dir / "multirun.yaml")
    spec = validate_spec(spec)
    runs = collect_runs(sweep_dir, spec)
    if not any(runs.completed(i) for i in range(len(spec["rows"]))):
        raise ReportError(f"no finished runs of table {spec.get('id', '?')} in {sweep_dir}")
    md, text_csv, rows = _render(sweep_dir, spec, runs, _tolerance(spec, tolerance))
    out = RunDir(sweep_dir)  # readers never see half a table
    paths = (out.write_text("table.md", md), out.write_text("table.csv", text_csv))
    return Report(md, text_csv, rows, paths)


def doc_stem(spec: dict[str, Any]) -> str:
    """The docs' file name of a table, its config's: `table_1_3_3` for Table 1.3.3, `densenet` for
    the DenseNet result."""
    table = str(spec.get("id", ""))
    return "table_" + table.replace(".", "_") if table[:1].isdigit() else table


def _tolerance(spec: dict[str, Any], given: Optional[float]) -> float:
    """`given`, else the table's declared tolerance (its sweep callback's), else the default."""
    return float(given if given is not None else spec.get("tolerance", DEFAULT_TOLERANCE))


def write_table_doc(records: str | Path, spec: Any, docs: str | Path, *, tolerance: Optional[float] = None) -> Report:
    """The docs' copy of a table, `docs`/table_<id>.md and .csv, from a folder of run records (or a
    sweep dir); no such folder: the book's values alone, for a table that awaits its runs.
    `tolerance` defaults to the table's own."""
    records, spec = Path(records), validate_spec(spec)
    runs = collect_runs(records, spec) if records.is_dir() else Collection()
    md, text_csv, rows = _render(records, spec, runs, _tolerance(spec, tolerance))
    out, stem = RunDir(Path(docs)), doc_stem(spec)
    paths = (out.write_text(f"{stem}.md", md), out.write_text(f"{stem}.csv", text_csv))
    return Report(md, text_csv, rows, paths)


class BookTableCallback(Callback):
    """Hydra callback: at the end of a book-table multirun, write and print the table.

    Registered by each book table config under `hydra.callbacks.book_table`.
    """

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.tolerance = float(tolerance)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        table = OmegaConf.select(config, "table", default=None)
        if table is None:
            return  # a multirun of something else that kept the callback: nothing to tabulate
        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            report = write_table(sweep_dir, table, tolerance=self.tolerance)
        except ReportError as e:
            # Hydra would turn a raise into a warning anyway; say it the way run-report does.
            print(f"error: {e}", file=sys.stderr)
            return
        print(report.markdown)
        log.info(f"Book table written to {report.paths[0]} and {report.paths[1]}")


class JobsIndexCallback(Callback):
    """Hydra callback: at the end of every multirun, `jobs.md` / `jobs.csv` in the sweep dir index its
    job dirs (overrides, status, main metric), and `results.md` / `results.csv` give each
    configuration's mean ± std over its seeds (printed too, unless a book table is printed instead).
    Registered in conf/config.yaml; `metrics` (a list) chooses the results' metrics."""

    def __init__(self, metrics: Optional[Sequence[str]] = None) -> None:
        self.metrics = list(metrics) if metrics else None

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        written = write_jobs_index(sweep_dir) if sweep_dir.is_dir() else None
        if written is None:
            return
        log.info(f"Jobs index written to {written}")
        results = write_results(sweep_dir, self.metrics, sweep_command(sweep_dir))
        if OmegaConf.select(config, "table", default=None) is None:
            print(results, end="")
        log.info(f"Results written to {sweep_dir / 'results.md'} and {sweep_dir / 'results.csv'}")


# The docs' tables: `run-report <subcommand> ...` prints (or writes) one of them; `record` copies a run's record for them.
SUBCOMMANDS: dict[str, Callable[[Sequence[str]], str]] = {
    "gan-table": gan_table.main,
    "rl-results": rl_results.main,
    "rl-doc": rl_doc.main,
    "train-eval": train_eval.main,
    "gan-doc": gan_doc.main,
    "cyclegan-doc": cyclegan_doc.main,
    "autoencoders-doc": autoencoders_doc.main,
    "detection-doc": detection_doc.main,
    "localizer-doc": localizer_doc.main,
    "classical-doc": classical_doc.main,
    "segmentation-doc": segmentation_doc.main,
    "iic-doc": iic_doc.main,
    "mine-doc": mine_doc.main,
    "serving-doc": serving_doc.main,
    "judge-doc": judge_doc.main,
    "seeds-doc": seeds_doc.main,
    "record": record.main,
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`run-report SWEEP_DIR [--tolerance 0.6] [--table FILE] [--docs DIR]`: rebuild table.md/table.csv
    (with --docs: DIR/table_<id>.md/.csv from SWEEP_DIR's run records); `run-report SUBCOMMAND ...`:
    one of the docs' tables (SUBCOMMANDS)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        try:
            print(SUBCOMMANDS[args_list[0]](args_list[1:]), end="")
        except ReportError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except KeyError as e:  # a run file written by another version of the runner
            print(f"error: {args_list[0]}: a run file lacks the field {e}; is it a run dir of the right model?", file=sys.stderr)
            return 2
        return 0
    parser = argparse.ArgumentParser(
        prog="run-report",
        description="Write results.md/results.csv of any sweep (mean ± std over seeds per configuration); "
                    "a book-table sweep also gets table.md/table.csv, its comparison with the book.",
        epilog=f"The docs' tables: run-report {{{','.join(SUBCOMMANDS)}}} --help",
    )
    parser.add_argument("sweep_dir", help="the multirun dir (holds multirun.yaml and one dir per job)")
    parser.add_argument("--metrics", help="comma-separated metrics of results.md (default: every test_* and best_*)")
    parser.add_argument(
        "--tolerance", type=float, help=f"flag |diff| above this many points (default: the table config's, else {DEFAULT_TOLERANCE:g})"
    )
    parser.add_argument(
        "--table", help="table config (a YAML file or a name like book/table_1_3_3); default: SWEEP_DIR/multirun.yaml"
    )
    parser.add_argument(
        "--docs", type=Path, help="write DIR/table_<id>.md and .csv (nothing into SWEEP_DIR, which may then be a folder of "
                                  "the jobs' run records, or not exist yet: the book's values alone)")
    args = parser.parse_args(args_list)
    sweep_dir = Path(args.sweep_dir)
    chosen = args.metrics.split(",") if args.metrics else None
    try:
        if args.docs:
            print(f"wrote {_write_doc(sweep_dir, args.table, args.docs, args.tolerance).paths[0]}")
            return 0
        if not args.table and not _is_table_sweep(sweep_dir):
            print(write_results(sweep_dir, chosen, sweep_command(sweep_dir)), end="")
            return 0
        spec = load_table_spec(args.table) if args.table else None
        report = write_table(sweep_dir, spec, tolerance=args.tolerance)
        write_results(sweep_dir, chosen, sweep_command(sweep_dir))
    except ReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report.markdown, end="")
    return 0


def _write_doc(records: Path, table: Optional[str], docs: Path, tolerance: Optional[float]) -> Report:
    if not docs.is_dir():
        raise ReportError(f"no such docs folder: {docs}")
    if table:
        return write_table_doc(records, load_table_spec(table), docs, tolerance=tolerance)
    if not (records / "multirun.yaml").is_file():
        raise ReportError(f"{records} has no multirun.yaml; name its table with --table book/<table>")
    return write_table_doc(records, load_table_spec(records / "multirun.yaml"), docs, tolerance=tolerance)


if __name__ == "__main__":
    sys.exit(main())
