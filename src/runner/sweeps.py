"""Sweeps that resume: where a sweep and each of its jobs live, and what a re-run does with a job.

Pure Python (no TensorFlow, no Hydra): the resumable sweeper plugin (hydra_plugins/adl_runner) and
the CLI both use it.

- The sweep dir of `run -m <overrides>` is `<paths.output_dir>/multirun/<the overrides, sorted>`
  unless `hydra.sweep.dir` is given, so the same command finds the same dir again.
- A job's dir in it is named after the job's own overrides, sorted by key (`optimizer=adam,seed=0`);
  a name longer than NAME_LIMIT characters keeps its start and ends with a hash of the whole.
- A re-run skips a job whose metrics.json says `completed`, launches again one that is unfinished
  or `interrupted` (the job resumes from its checkpoints), and skips a `failed` one unless
  `hydra.sweeper.retry_failed=true`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adl_runner.kernel.errors import ConfigError

NAME_LIMIT = 120
"""Characters of a sweep or job dir name before it is shortened (a file name holds 255 bytes)."""
COMPLETED, FAILED, INTERRUPTED, UNFINISHED, NEW = "completed", "failed", "interrupted", "unfinished", "new"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+:@-]")


def dir_name(overrides: list[str], empty: str = "defaults") -> str:
    """A file name for a set of `key=value` overrides: sorted by key (the order on the command line
    does not matter), `/` as `+`, other unsafe characters as `_`, a hash ending a long one."""
    items = sorted(overrides, key=lambda o: o.lstrip("+~").split("=", 1)[0])
    whole = ",".join(items)
    if not whole:
        return empty
    name = _UNSAFE.sub("_", whole.replace("/", "+"))
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha1(whole.encode()).hexdigest()[:10]
    return f"{name[:NAME_LIMIT - 11]}-{digest}"


def sweep_dir_override(overrides: list[str]) -> str:
    """The `hydra.sweep.dir=...` a multirun gets when its command line names none (quoted for
    Hydra's override grammar: the name holds `=` and `,`); paths.output_dir is where, not what."""
    task = [o for o in overrides if not o.startswith(("hydra.", "hydra/", "+hydra", "~hydra", "paths.output_dir="))]
    return f"hydra.sweep.dir='${{paths.output_dir}}/multirun/{dir_name(task)}'"


def job_name(overrides: list[str]) -> str:
    """A job's dir name, from its own overrides (Hydra's own keys left out)."""
    return dir_name([o for o in overrides if not o.startswith("hydra")])


def subdir_override(name: str) -> str:
    """The `hydra.sweep.subdir=...` that puts a job in its dir `name` (quoted: it holds `=` and `,`)."""
    return f"hydra.sweep.subdir='{name}'"


@dataclass(frozen=True)
class JobState:
    """What a job dir holds: its status (completed, failed, interrupted, unfinished, new) and, for a
    failed job, its error line."""

    status: str
    error: str = ""


def job_state(job_dir: Path) -> JobState:
    """The state of a job dir left by an earlier run of the sweep."""
    metrics = job_dir / "metrics.json"
    if not metrics.is_file():
        return JobState(UNFINISHED if job_dir.is_dir() else NEW)
    try:
        held = json.loads(metrics.read_text())
    except (OSError, json.JSONDecodeError):
        return JobState(UNFINISHED)
    status = str(held.get("status", COMPLETED))  # older writers had no status: a finished run
    return JobState(status if status in (COMPLETED, FAILED, INTERRUPTED) else UNFINISHED, str(held.get("error", "")))


def plan(state: JobState, retry_failed: bool) -> str | None:
    """The one line a re-run logs for a job it skips; None for a job to launch."""
    if state.status == COMPLETED:
        return "completed, skipped"
    if state.status == FAILED and not retry_failed:
        return f"failed ({state.error or 'no error line'}), skipped; hydra.sweeper.retry_failed=true runs it again"
    return None


@dataclass
class Outcome:
    """How the last multirun of this process ended: jobs failed (this time or skipped as failed)."""

    failed: int = 0


OUTCOME = Outcome()
"""Set by the sweeper, read by the CLI for its exit code (one multirun per process at a time)."""

EXIT_CAP = 100
"""The exit code is the number of failed jobs, capped here (a shell keeps 8 bits)."""


def exit_code() -> int:
    return min(OUTCOME.failed, EXIT_CAP)


def objective(metric: str | None, metrics: dict[str, Any]) -> Any:
    """What a job returns to its sweeper: `metrics[optimized_metric]` as a float for a search
    (Optuna minimises or maximises it), else the metrics themselves."""
    if metric is None:
        return metrics
    value = metrics.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        numbers = ", ".join(k for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
        raise ConfigError(f"optimized_metric={metric} is not a number this job measured; its numbers: {numbers}")
    return float(value)
