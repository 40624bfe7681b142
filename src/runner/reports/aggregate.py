"""`results.md` and `results.csv` in a sweep dir: the jobs grouped by every override but `seed`,
with the mean ± sample standard deviation and the number of completed jobs of each chosen metric,
then the failed jobs with their error lines. Written at the end of every multirun
(`report.JobsIndexCallback`) and by `run-report <sweep dir>`; the book tables (runner.report) share
the job discovery and the statistics.

The chosen metrics default to every `test_*` and `best_*` number the completed jobs report
(`best_epoch` aside); `run-report <dir> --metrics test_accuracy,test_loss` picks others.
"""

from __future__ import annotations

import csv
import io
import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from adl_runner.runner.reports.files import ReportError, read_json, read_yaml
from adl_runner.runner.rundir import RunDir

COMPLETED, FAILED = "completed", "failed"
GROUPED_OUT = ("seed",)
"""Override keys that repeat a configuration rather than change it."""
_SKIPPED_DIRS = {".hydra", ".submitit", ".gpus", "checkpoints", "tensorboard", "grids"}


def job_dirs(sweep_dir: Path) -> list[Path]:
    """Every job dir under `sweep_dir` (one holding metrics.json or Hydra's .hydra/overrides.yaml),
    numbered dirs in number order, named ones by name."""
    found = []
    for d, subdirs, files in os.walk(sweep_dir):
        subdirs[:] = [s for s in subdirs if s not in _SKIPPED_DIRS]
        path = Path(d)
        if path != sweep_dir and ("metrics.json" in files or (path / ".hydra" / "overrides.yaml").is_file()):
            found.append(path)

    def order(p: Path) -> tuple[Any, ...]:
        return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in p.relative_to(sweep_dir).parts)

    return sorted(found, key=order)


def number(x: Any) -> Optional[float]:
    """A metric as a float; None for a missing, boolean, non-numeric or NaN value."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x):
        return None
    return float(x)


def mean_std(values: Sequence[float]) -> tuple[Optional[float], Optional[float]]:
    """The mean and the sample standard deviation (None below two values) of `values`."""
    mean = statistics.fmean(values) if values else None
    return mean, statistics.stdev(values) if len(values) > 1 else None


@dataclass
class Job:
    """One job dir of a sweep: its overrides, metrics and how it ended."""

    name: str
    overrides: list[str]
    metrics: dict[str, Any]

    @property
    def status(self) -> str:
        if not self.metrics:
            return "not finished"
        return str(self.metrics.get("status", COMPLETED))  # no status: an older writer's finished run

    @property
    def group(self) -> tuple[str, ...]:
        return tuple(sorted(o for o in self.overrides if o.lstrip("+").split("=", 1)[0] not in GROUPED_OUT))


def job_overrides(job: Path) -> list[str]:
    """The job's own overrides (Hydra's keys left out) from .hydra/overrides.yaml; [] without one."""
    path = job / ".hydra" / "overrides.yaml"
    try:
        overrides = read_yaml(path) if path.is_file() else []
    except ReportError:
        return []
    return [str(o) for o in overrides or [] if not str(o).startswith("hydra")]


def read_jobs(sweep_dir: Path) -> list[Job]:
    """The jobs of `sweep_dir`; a ReportError when it is not a folder or holds none."""
    if not sweep_dir.is_dir():
        raise ReportError(f"no such sweep dir: {sweep_dir}")
    jobs = []
    for d in job_dirs(sweep_dir):
        try:
            metrics = read_json(d / "metrics.json") if (d / "metrics.json").is_file() else {}
        except ReportError:
            metrics = {}
        jobs.append(Job(str(d.relative_to(sweep_dir)), job_overrides(d), metrics if isinstance(metrics, dict) else {}))
    if not jobs:
        raise ReportError(f"{sweep_dir} holds no jobs (no folder with a metrics.json or .hydra/overrides.yaml); "
                          "pass the dir of a `run -m` sweep")
    return jobs


def default_metrics(jobs: Sequence[Job]) -> list[str]:
    """Every `test_*` and `best_*` number (but best_epoch) of the completed jobs, first seen first."""
    keys: dict[str, None] = {}
    for job in jobs:
        if job.status == COMPLETED:
            keys.update((k, None) for k, v in job.metrics.items()
                        if k.startswith(("test_", "best_")) and k != "best_epoch" and number(v) is not None)
    return list(keys)


@dataclass
class Group:
    """The jobs of one configuration (its overrides but seed)."""

    overrides: tuple[str, ...]
    jobs: list[Job] = field(default_factory=list)

    def label(self, common: frozenset[str] = frozenset()) -> str:
        """Its overrides, those that every group shares left out."""
        return " ".join(o for o in self.overrides if o not in common) or "(defaults)"

    def stats(self, metric: str) -> tuple[int, Optional[float], Optional[float]]:
        values = [v for v in (number(j.metrics.get(metric)) for j in self.jobs if j.status == COMPLETED) if v is not None]
        return (len(values), *mean_std(values))


def group_jobs(jobs: Sequence[Job]) -> list[Group]:
    groups: dict[tuple[str, ...], Group] = {}
    for job in jobs:
        groups.setdefault(job.group, Group(job.group)).jobs.append(job)
    return list(groups.values())


def shared(groups: Sequence[Group]) -> frozenset[str]:
    """The overrides of every group (named once above the table, not in each row); none for one group."""
    if len(groups) < 2:
        return frozenset()
    return frozenset.intersection(*(frozenset(g.overrides) for g in groups))


def _g(x: Optional[float]) -> str:
    return "" if x is None else f"{x:.4g}"


def render_markdown(sweep_dir: Path, groups: Sequence[Group], metrics: Sequence[str], command: Optional[str]) -> str:
    lines = [f"# Results of {sweep_dir}", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    common = shared(groups)
    if common:
        lines += [f"Every job: `{' '.join(sorted(common))}`", ""]
    lines += ["| configuration | n | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
    for g in groups:
        done = sum(j.status == COMPLETED for j in g.jobs)
        cells = []
        for m in metrics:
            n, mean, std = g.stats(m)
            cells.append("—" if mean is None else _g(mean) + (f" ± {_g(std)}" if std is not None else "") +
                         (f" (n={n})" if n != done else ""))
        lines.append(f"| `{g.label(common)}` | {done} | " + " | ".join(cells) + " |")
    lines += ["", "n: completed jobs (seeds) of the configuration; mean ± sample standard deviation."]
    failed = [j for g in groups for j in g.jobs if j.status == FAILED]
    if failed:
        lines += ["", f"Failed jobs ({len(failed)}):"]
        lines += [f"- `{j.name}`: {j.metrics.get('error') or '(no error line)'}" for j in failed]
    other = [j for g in groups for j in g.jobs if j.status not in (COMPLETED, FAILED)]
    if other:
        lines += ["", f"Not completed ({len(other)}): " + "; ".join(f"`{j.name}` ({j.status})" for j in other)]
    return "\n".join(lines) + "\n"


def render_csv(groups: Sequence[Group], metrics: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["configuration", "n", "failed", *(f"{m}_{s}" for m in metrics for s in ("mean", "std"))])
    common = shared(groups)
    for g in groups:
        row: list[Any] = [g.label(common), sum(j.status == COMPLETED for j in g.jobs), sum(j.status == FAILED for j in g.jobs)]
        for m in metrics:
            _, mean, std = g.stats(m)
            row += ["" if mean is None else repr(mean), "" if std is None else repr(std)]
        w.writerow(row)
    return buf.getvalue()


def write_results(sweep_dir: Path, metrics: Optional[Sequence[str]] = None, command: Optional[str] = None) -> str:
    """Write results.md and results.csv into `sweep_dir`; returns the markdown."""
    jobs = read_jobs(sweep_dir)
    chosen = list(metrics) if metrics else default_metrics(jobs)
    groups = group_jobs(jobs)
    md = render_markdown(sweep_dir, groups, chosen, command)
    out = RunDir(sweep_dir)
    out.write_text("results.csv", render_csv(groups, chosen))
    out.write_text("results.md", md)
    return md
