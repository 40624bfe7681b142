"""The tasks `run` can do, registered per training loop: `run_task` dispatches once, on the loop of
the job's model family (for a task on a checkpoint, the checkpoint's family).

    fit       train, evaluate, sample (tasks/fit.py), export and predict (tasks/export.py)
    episodes  train, evaluate (tasks/episodes.py)
    none      train (tasks/none.py)

A task is a function `(job, rundir) -> metrics` registered with `@task(loop, name)`
(tasks/registry.py); a task a loop lacks (task=sample of an agent) is one error line naming the
family's tasks. The serving tasks (export, predict) live in tasks/export.py.
"""

from __future__ import annotations

from typing import Any

from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.tasks import episodes, export, fit, none  # noqa: F401  (each registers its tasks)
from adl_runner.runner.tasks.registry import task_for


def run_task(job: Job) -> dict[str, Any]:
    """Do `job.task` for the job's family, holding its run dir; returns the metrics it wrote."""
    rundir = RunDir(job.run_dir)
    with rundir.locked():
        with rundir.removed_if_failed_fresh():  # a task the family lacks leaves no run dir behind
            do = task_for(job)
        return do(job, rundir)
