"""`run-report seeds-doc`: a docs page of mean ± std per configuration from the run records of
repeated seeds, each configuration's seeds and per-seed values, and its targets met or not met.

    run-report seeds-doc docs/results/runs/<set> [--preset gan/lsgan_vs_dcgan] [--docs docs/results]
                         [--metrics fid,best_fid] [--target 'test_accuracy>=0.982'] [--tolerance 0.6]

The records are folders of a run's small files (`config.yaml`, `metrics.json`, `run.json`), a set of
them nested at any depth (`make record-set` copies a sweep's jobs to docs/results/runs/<set>/<job>/).
Records are grouped by their config minus `seed` (and the keys that do not change what is trained:
paths, logger, data download and checksum switches): unlike run.json's command line, which a sweep's
jobs share, the config tells every job's configuration apart, whether it came from a sweep, from
single runs with `seed=`, or from a book table's rows.

A comparison preset (conf/experiment/gan/*, conf/experiment/seeds/*) says what its page shows in its
`comparison` node, which its records carry in config.yaml: `page` (its record set docs/results/runs/<page>/,
whose page is docs/results/<page>.md: a page is named after its records' folder), `title`,
`source`, `preset` (the experiment that runs it), `label` (the keys naming a configuration; default: the keys whose values differ), `metrics`,
`targets` (`metric>=value`, judged on the mean over seeds, or `median(metric)<=value`, `max(...)`,
`min(...)` over the seeds, where a seed that lacks the metric, say a DQN that never solved, counts as
the worst value; or `{when: key=value ..., target: ...}` for the configurations holding those values) and `claims` (`{metric, lower: key=value, than: key=value}` or `higher:`: the book's
statement that one configuration beats another, met when its mean does). A configuration that is a
row of a book table (the record's own `table.row`, or a run of a row's overrides) is also held to
the book's value, less `--tolerance` points of the table's scale. With no records yet, `--preset`
gives the page its title and the command to run.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, cast

from adl_runner.runner.reports.aggregate import (
    COMPLETED,
    GROUPED_OUT,
    Group,
    Job,
    default_metrics,
    group_jobs,
    job_dirs,
    number,
    shared,
)
from adl_runner.runner.reports.book_values import DEFAULT_TOLERANCE, BookValue, book_values, flatten, row_values
from adl_runner.runner.reports.files import ReportError, read_json, read_yaml, recorded_command
from adl_runner.runner.rundir import RunDir

EXPERIMENTS = Path(__file__).resolve().parent.parent / "conf" / "experiment"
NOT_CONFIGURATION = ("seed", "paths.", "logger.", "dataset.download", "dataset.verify_checksums", "comparison.")
"""Config keys (prefixes) that repeat a configuration rather than change it."""
MISSING = "—"
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_STATISTICS: dict[str, Callable[[list[float]], float]] = {"median": statistics.median, "max": max, "min": min}
"""Per-seed statistics a target may name instead of the mean: `median(episodes_to_solve)<=1500`."""
_TARGET = re.compile(r"^\s*(?:(median|max|min)\(\s*([A-Za-z_][\w.]*)\s*\)|([A-Za-z_][\w.]*))\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$")


@dataclass
class Record(Job):
    """One run record: a Job whose overrides are its flattened config (so `Job.group` drops `seed`)."""

    config: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    path: Optional[Path] = None
    """The record's folder: figures are looked for there."""
    link: str = ""
    """The record's folder as a docs page links it (`runs/<set>/<record>`)."""

    @property
    def seed(self) -> Any:
        return self.config.get("seed", self.metrics.get("seed"))


@dataclass(frozen=True)
class Target:
    """`metric op value` (the mean over seeds, or `statistic(metric) op value`), for the configurations
    whose config holds every `when` item."""

    metric: str
    op: str
    value: float
    when: tuple[str, ...] = ()
    note: str = ""
    statistic: str = "mean"

    def text(self) -> str:
        name = self.metric if self.statistic == "mean" else f"{self.statistic}({self.metric})"
        return f"{name} {self.op} {_g(self.value)}{self.note}"


def _g(x: Optional[float]) -> str:
    return MISSING if x is None else f"{x:.4g}"


def _item(key: str, value: Any) -> str:
    """A config leaf as a command-line override reads (`model.discriminator_batch_norm=true`)."""
    return f"{key}={value if isinstance(value, str) else json.dumps(value)}"


def _config_items(config: dict[str, Any]) -> list[str]:
    return [_item(k, v) for k, v in flatten(config) if not (k + ".").startswith(NOT_CONFIGURATION)]


def read_records(paths: Sequence[Path]) -> list[Record]:
    """The records under `paths` (each a record or a folder of them; a missing folder holds none)."""
    records = []
    for path in paths:
        dirs = [path] if (path / "metrics.json").is_file() else job_dirs(path) if path.is_dir() else []
        for d in dirs:
            if not (d / "config.yaml").is_file() or not (d / "metrics.json").is_file():
                continue  # a task's sub-folder of a record set, or a job that never got to write its numbers
            config, metrics = read_yaml(d / "config.yaml"), read_json(d / "metrics.json")
            if not isinstance(config, dict) or not isinstance(metrics, dict):
                raise ReportError(f"{d} is not a run record: config.yaml and metrics.json must hold mappings")
            run = read_json(d / "run.json") if (d / "run.json").is_file() else {}
            name = str(d.relative_to(path)) if d != path else d.name
            link = f"runs/{path.name}/{name}" if d != path else f"runs/{name}"
            records.append(Record(name, _config_items(config), metrics, config, run if isinstance(run, dict) else {}, d, link))
    return records


def load_preset(name: str) -> dict[str, Any]:
    """The `comparison` node of a packaged experiment (`gan/lsgan_vs_dcgan`), read as plain YAML."""
    path = EXPERIMENTS / f"{name.removesuffix('.yaml')}.yaml"
    if not path.is_file():
        known = sorted(str(p.relative_to(EXPERIMENTS).with_suffix("")) for p in EXPERIMENTS.rglob("*.yaml")
                       if isinstance((read_yaml(p) or {}).get("comparison"), dict))
        raise ReportError(f"no such preset: {name}; the comparison presets are {', '.join(known)}")
    comparison = (read_yaml(path) or {}).get("comparison")
    if not isinstance(comparison, dict):
        raise ReportError(f"{path} has no `comparison` node (not a comparison preset)")
    return comparison


def parse_target(spec: Any, where: str) -> Target:
    """A target from `metric>=value` or `{when: 'key=value ...', target: 'metric>=value'}`."""
    when = ""
    if isinstance(spec, dict):
        when, spec = str(spec.get("when") or ""), spec.get("target")
    match = _TARGET.match(str(spec)) if spec is not None else None
    if match is None:
        raise ReportError(f"{where}: bad target {spec!r}; write metric>=value (or <=, >, <; the mean over seeds) or "
                          f"{'/'.join(_STATISTICS)}(metric)<=value, e.g. test_accuracy>=0.982")
    statistic, metric, plain, op, number_text = match.groups()
    try:
        value = float(number_text)
    except ValueError:
        raise ReportError(f"{where}: bad target {spec!r}: {number_text!r} is not a number") from None
    return Target(metric or plain, op, value, tuple(when.split()), statistic=statistic or "mean")


def book_targets(record: Record, metrics: Sequence[str], tolerance: float) -> list[Target]:
    """The book's value of each shown metric, less `tolerance` points, where the record is a book row."""
    table = record.config.get("table")
    row = table.get("row") if isinstance(table, dict) else None
    if isinstance(table, dict) and isinstance(row, int) and 0 <= row < len(table.get("rows") or []):
        values = row_values(table, table["rows"][row])
    else:
        values = book_values(record.config, _argv_overrides(record))
    return [_book_target(m, values[m], tolerance) for m in metrics if m in values]


def _argv_overrides(record: Record) -> list[str]:
    """The overrides of the command line its run.json records, Hydra's own left out."""
    argv = [str(a) for a in (record.run.get("argv") or [])[1:]]
    return [a for a in argv if "=" in a and not a.startswith(("-", "hydra."))]


def _book_target(metric: str, book: BookValue, tolerance: float) -> Target:
    where = f", Table {book.table}" if book.table[:1].isdigit() else ""  # a preset's own table is no book table
    note = f" (the book's {_g(book.value)}{where}, less {tolerance:g} points)" if tolerance else f" (the book{where})"
    return Target(metric, ">=", book.value - tolerance / book.scale, note=note)


@dataclass
class Configuration:
    """A group of records with its name and targets."""

    group: Group
    label: str
    targets: list[Target]

    def completed(self) -> list[Record]:
        """The completed records, by seed."""
        done = [r for r in self.group.jobs if r.status == COMPLETED and isinstance(r, Record)]
        return sorted(done, key=lambda r: r.seed if isinstance(r.seed, int) else -1)

    def values(self, metric: str) -> list[tuple[Any, Optional[float]]]:
        """(seed, value) of each completed record, by seed."""
        return [(r.seed, number(r.metrics.get(metric))) for r in self.completed()]

    def holds(self, items: Sequence[str]) -> bool:
        return all(i in self.group.overrides for i in items)


def configurations(records: Sequence[Record], comparison: dict[str, Any], metrics: Sequence[str],
                   targets: Sequence[Target], tolerance: float) -> list[Configuration]:
    groups = group_jobs(records)
    present = set.intersection(*({_key(o) for o in g.overrides} for g in groups)) if groups else set()
    common = shared(groups)
    keys = comparison.get("label") or []
    out = []
    for g in groups:
        first = cast(Record, g.jobs[0])  # configurations() groups Records only
        table = first.config.get("table")
        if isinstance(table, dict) and isinstance(table.get("row"), int) and table["row"] < len(table.get("rows") or []):
            labels = table["rows"][table["row"]].get("labels") or {}
            label = " / ".join(str(labels.get(c, "")) for c in table.get("columns") or labels)
        elif keys:
            label = " ".join(o for k in keys for o in g.overrides if _key(o) == k)
        elif len(groups) > 1:
            label = " ".join(o for o in g.overrides if o not in common and _key(o) in present)
        else:  # nothing to tell apart: the command's own overrides but the seeds
            label = " ".join(o for o in _argv_overrides(first) if _key(o).lstrip("+~") not in GROUPED_OUT) or "(one configuration)"
        mine = [t for t in targets if all(i in g.overrides for i in t.when)]
        out.append(Configuration(g, label, [*mine, *book_targets(first, metrics, tolerance)]))
    return out


def _key(item: str) -> str:
    return item.split("=", 1)[0]


def _verdict(config: Configuration, target: Target) -> str:
    if target.statistic != "mean":
        return _statistic_verdict(config, target)
    _, mean, _ = config.group.stats(target.metric)
    if mean is None:
        return f"{target.text()}: not measured"
    return f"{target.text()}: {'met' if _OPERATORS[target.op](mean, target.value) else 'not met'}"


def _statistic_verdict(config: Configuration, target: Target) -> str:
    """A per-seed statistic's verdict, with its value; a completed seed without the metric counts as
    the worst value for the bound (a DQN that never solved has no episodes_to_solve)."""
    values = [v for _, v in config.values(target.metric)]
    if not values or all(v is None for v in values):
        return f"{target.text()}: not measured"
    worst = math.inf if target.op in ("<=", "<") else -math.inf
    value = _STATISTICS[target.statistic]([worst if v is None else v for v in values])
    met = _OPERATORS[target.op](value, target.value)
    return f"{target.text()}: {'met' if met else 'not met'} ({target.statistic} {_g(value) if math.isfinite(value) else 'none'})"


def _claim(configs: Sequence[Configuration], claim: Any) -> str:
    """`lower: a, than: b` (or `higher:`): whether a's mean `metric` beats b's."""
    if not isinstance(claim, dict) or not claim.get("metric") or not claim.get("than") or not (claim.get("lower") or claim.get("higher")):
        raise ReportError(f"bad claim {claim!r}; write {{metric: fid, lower: model.name=lsgan, than: model.name=dcgan}} (or higher:)")
    metric, better = str(claim["metric"]), str(claim.get("lower") or claim.get("higher"))
    word = "below" if claim.get("lower") else "above"
    text = f"mean {metric} of `{better}` {word} that of `{claim['than']}`"
    chosen = [[c for c in configs if c.holds(str(side).split())] for side in (better, claim["than"])]
    if any(len(c) != 1 for c in chosen):
        return f"- {text}: not measured"
    (a,), (b,) = chosen
    mean_a, mean_b = a.group.stats(metric)[1], b.group.stats(metric)[1]
    if mean_a is None or mean_b is None:
        return f"- {text}: not measured"
    met = mean_a < mean_b if claim.get("lower") else mean_a > mean_b
    return f"- {text}: {'met' if met else 'not met'} ({_g(mean_a)} against {_g(mean_b)})"


def _figures(configs: Sequence[Configuration], figures: dict[str, str]) -> list[str]:
    """The comparison's `figures` ({file: what it shows}) of each completed record that kept them, by
    configuration and seed."""
    shown = [f"![`{c.label}`, seed {r.seed}: {what}]({r.link}/{file})" for c in configs for r in c.completed()
             for file, what in figures.items() if r.path is not None and (r.path / file).is_file()]
    return ["", "## Figures", "", *(line for figure in shown for line in (figure, ""))][:-1] if shown else []


def render(records: Sequence[Record], comparison: dict[str, Any], sets: Sequence[str], preset: Optional[str],
           metrics: Sequence[str], targets: Sequence[Target], tolerance: float) -> str:
    lines = [f"# {comparison.get('title') or f'Seed repeats: {sets[0]}'}", ""]
    lines += ["Generated by `run-report seeds-doc` from the run records in " + ", ".join(f"[runs/{s}/](runs/{s}/)" for s in sets) +
              " (each holds a job's `config.yaml`, `metrics.json`, `history.csv` and `run.json`)."]
    if comparison.get("source"):
        lines += ["", f"Source: {comparison['source']}"]
    if preset:
        lines += ["", f"To run: `run -m experiment={preset}`, then `make record-set SWEEP=<its sweep dir> "
                      f"SET={comparison.get('page') or sets[0]}` copies the jobs' records here and regenerates this page."]
    commands = list(dict.fromkeys(c for c in (recorded_command(r.run.get("argv")) for r in records) if c))
    commits = list(dict.fromkeys(str(r.run["git_commit"]) for r in records if r.run.get("git_commit")))
    if commands:
        lines.append(("Command: " if len(commands) == 1 else "Commands: ") + "; ".join(f"`{c}`" for c in commands))
    if commits:
        lines.append(("Commit: " if len(commits) == 1 else "Commits: ") + ", ".join(f"`{c}`" for c in commits))
    if not records:
        return "\n".join([*lines, "", "No record yet: the numbers await the run above."]) + "\n"
    configs = configurations(records, comparison, metrics, targets, tolerance)
    header = ["configuration", "seeds", *(h for m in metrics for h in (f"{m} mean ± std", f"{m} per seed")), "targets"]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in configs:
        seeds = [str(s) for s, _ in c.values(metrics[0])] if metrics else []
        cells = [f"`{c.label}`", ", ".join(seeds) or MISSING]
        for m in metrics:
            _, mean, std = c.group.stats(m)
            cells += [_g(mean) + (f" ± {_g(std)}" if std is not None else ""), " / ".join(_g(v) for _, v in c.values(m)) or MISSING]
        cells.append("; ".join(_verdict(c, t) for t in c.targets) or "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Mean ± sample standard deviation over the configuration's completed seeds; per seed in the order of "
                  "the seeds column; a target is judged on the mean."]
    if any(t.statistic != "mean" for c in configs for t in c.targets):
        lines[-1] = lines[-1].removesuffix(".") + (" unless it names another statistic over the seeds, for which a seed "
                                                   "without the metric counts as its worst value (shown as none).")
    claims = [_claim(configs, claim) for claim in comparison.get("claims") or []]
    if claims:
        lines += ["", "The book's claims:", *claims]
    lines += _figures(configs, comparison.get("figures") or {})
    other = [r for r in records if r.status != COMPLETED]
    if other:
        lines += ["", f"Not completed ({len(other)}): " + "; ".join(f"`{r.name}` ({r.status})" for r in other)]
    return "\n".join(lines) + "\n"


def seeds_doc(records_paths: Sequence[Path], docs: Path, preset: Optional[str] = None, metrics: Optional[Sequence[str]] = None,
              targets: Sequence[str] = (), tolerance: float = DEFAULT_TOLERANCE) -> Path:
    """Write docs/<name of the first records folder>.md from the records (the preset's comparison where
    they carry none)."""
    if not docs.is_dir():
        raise ReportError(f"no such docs folder: {docs}")
    records = read_records(records_paths)
    carried = next((r.config["comparison"] for r in records if isinstance(r.config.get("comparison"), dict)), None)
    comparison = carried or (load_preset(preset) if preset else {})
    named = comparison.get("preset") or preset
    if carried is not None and "figures" not in comparison and named:  # how a page shows its records, not what they ran: a preset's later list serves older records
        comparison = {**comparison, "figures": load_preset(named).get("figures")}
    if not records and not preset:
        raise ReportError(f"no run records under {', '.join(map(str, records_paths))}; name the --preset whose page awaits them")
    chosen = list(metrics or comparison.get("metrics") or default_metrics(records))
    parsed = [parse_target(t, "comparison.targets") for t in comparison.get("targets") or []]
    parsed += [parse_target(t, "--target") for t in targets]
    sets = [p.name for p in records_paths]
    md = render(records, comparison, sets, comparison.get("preset") or preset, chosen, parsed, tolerance)
    return RunDir(docs).write_text(f"{sets[0]}.md", md)


def main(argv: Sequence[str]) -> str:
    parser = argparse.ArgumentParser(prog="run-report seeds-doc", description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("records", type=Path, nargs="+", help="run record folders, or folders of them (a record set)")
    parser.add_argument("--preset", help="the comparison preset (an experiment such as gan/lsgan_vs_dcgan): its page "
                                         "awaits records, or the records carry no comparison node")
    parser.add_argument("--metrics", help="comma-separated metrics (default: the comparison's, else every test_* and best_*)")
    parser.add_argument("--target", action="append", default=[], help="metric>=value (or <=, >, <) for every configuration; repeatable")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help="points of the table's scale a book row's mean may fall short of the book (0.6)")
    parser.add_argument("--docs", type=Path, default=Path("docs/results"), help="the docs folder to write (docs/results)")
    args = parser.parse_args(argv)
    metrics = args.metrics.split(",") if args.metrics else None
    return f"wrote {seeds_doc(args.records, args.docs, args.preset, metrics, args.target, args.tolerance)}\n"
