"""`jobs.md` and `jobs.csv` in a sweep dir: which overrides each job dir holds, how it ended and
its main number, written at the end of every multirun (`report.JobsIndexCallback`).

The main number of a job is the best value of its checkpoint monitor (`best_<monitor>`, what picks
`best.keras`: `val_accuracy`, `fid`, `val_miou`, ...), else its first `test_*` metric; a job with
no metrics.json (killed, failed) shows its status as `not finished`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from adl_runner.runner.reports.aggregate import job_dirs, job_overrides
from adl_runner.runner.reports.files import ReportError, read_json
from adl_runner.runner.rundir import RunDir


def _main_number(metrics: dict[str, Any]) -> tuple[str, Any]:
    best = [key for key in metrics if key.startswith("best_") and key != "best_epoch" and metrics[key] is not None]
    if best:
        return best[0], metrics[best[0]]
    tests = [key for key in metrics if key.startswith("test_")]
    return (tests[0], metrics[tests[0]]) if tests else ("", None)


def job_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per job dir of `sweep_dir` (aggregate.job_dirs)."""
    rows = []
    for job in job_dirs(sweep_dir):
        try:
            metrics = read_json(job / "metrics.json") if (job / "metrics.json").is_file() else {}
        except ReportError:
            metrics = {}
        name, value = _main_number(metrics)
        rows.append({"job": str(job.relative_to(sweep_dir)), "overrides": " ".join(job_overrides(job)), "status": metrics.get("status", "not finished"),
                     "metric": name, "value": value})
    return rows


def _text(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def write_jobs_index(sweep_dir: Path) -> Path | None:
    """Write `jobs.md` and `jobs.csv` into `sweep_dir`; returns the markdown's path (None: no job dirs)."""
    rows = job_rows(sweep_dir)
    if not rows:
        return None
    lines = [f"# Jobs of {sweep_dir}", "", "| job | overrides | status | main metric | value |", "|---|---|---|---|---|"]
    lines += [f"| [{r['job']}]({r['job']}/) | `{r['overrides']}` | {r['status']} | {r['metric'] or '-'} | {_text(r['value'])} |"
              for r in rows]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    out = RunDir(sweep_dir)
    out.write_text("jobs.csv", table.getvalue())
    return out.write_text("jobs.md", "\n".join(lines) + "\n")
