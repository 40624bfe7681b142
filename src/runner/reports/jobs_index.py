"""`jobs.md` and `jobs.csv` in a sweep dir: which overrides each job dir holds, how it ended and
its main number, written at the end of every multirun (`report.JobsIndexCallback`).

The main number of a job is the best value of its checkpoint monitor (`best_<monitor>`, what picks
`best.keras`: `val_accuracy`, `fid`, `val_miou`, ...), else its first `test_*` metric; a job with
no metrics.json (killed, failed) shows its status as `not finished`.

`contact.png` puts each job's main figure side by side, titled with its overrides: the curve of
its main metric (`accuracy.png` for `best_val_accuracy`, `fid.png`, ...), else its returns or
loss curve, else its first figure.
"""

from __future__ import annotations

import csv
import io
import textwrap
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


CONTACT_JOBS = 36
"""At most this many jobs on the contact sheet (the first, in job order)."""
PREFERRED = ("returns.png", "loss.png")


def main_figure(job: Path, metric: str) -> Path | None:
    """The figure of `job` that shows its main `metric` best (module docstring)."""
    name = metric.removeprefix("best_").removeprefix("val_").removeprefix("test_")
    for candidate in (f"{name}.png", *PREFERRED):
        if (job / candidate).is_file():
            return job / candidate
    figures = sorted(job.glob("*.png"))
    return figures[0] if figures else None


def write_contact_sheet(sweep_dir: Path, rows: list[dict[str, Any]]) -> Path | None:
    """`contact.png` of the sweep (module docstring); None when no job has a figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    shown = [(row, figure) for row in rows[:CONTACT_JOBS]
             if (figure := main_figure(sweep_dir / row["job"], row["metric"])) is not None]
    if not shown:
        return None
    cols = min(4, len(shown))
    rows_n = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4 * cols, 3.2 * rows_n), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (row, figure) in zip(axes.flat, shown):
        with Image.open(figure) as image:
            ax.imshow(image.convert("RGB"))
        ax.set_title(textwrap.fill(row["overrides"] or row["job"], 48), fontsize=8)
    fig.suptitle(f"{sweep_dir.name}: the main figure of each job", fontsize=10)
    fig.tight_layout()
    path = RunDir(sweep_dir).write_atomic(sweep_dir / "contact.png", lambda p: fig.savefig(p, format="png", dpi=100))
    plt.close(fig)
    return path


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
    if write_contact_sheet(sweep_dir, rows) is not None:
        lines += ["", "![the main figure of each job](contact.png)"]
    return out.write_text("jobs.md", "\n".join(lines) + "\n")
