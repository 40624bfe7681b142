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

import logging
from pathlib import Path
from typing import Any, Optional

from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import Task
from adl_runner.runner.tasks import episodes, export, fit, none  # noqa: F401  (each registers its tasks)
from adl_runner.runner.tasks.common import RUN_DIR_CHECKPOINTS
from adl_runner.runner.tasks.registry import task_for
from adl_runner.runner.tracking import open_trackers, tracking

log = logging.getLogger("runner")


def run_task(job: Job) -> dict[str, Any]:
    """Do `job.task` for the job's family, holding its run dir, with the job's trackers
    (runner.tracking); returns the metrics it wrote."""
    rundir = RunDir(job.run_dir, caption=figure_caption(job))
    with rundir.locked():
        swept = rundir.sweep_temp_files()
        if swept:
            log.info("removed %d temporary file(s) of writes an earlier job was stopped in: %s", len(swept),
                     ", ".join(p.name for p in swept))
        with rundir.removed_if_failed_fresh():  # a task the family lacks, or a tracker store that cannot be written, leaves no run dir
            do = task_for(job)
            trackers = open_trackers(job, rundir)
        with tracking(trackers, rundir) as tracked:
            metrics = do(job, rundir)
            tracked.finish(metrics, rundir, trained_model(job, rundir))
            return metrics


def trained_model(job: Job, rundir: RunDir) -> Optional[Path]:
    """The model a training task leaves: best.keras, else last.keras, else an agent's checkpoint folder."""
    if job.task != Task.train:
        return None
    candidates = [*(rundir.checkpoints / name for name in RUN_DIR_CHECKPOINTS), rundir.last_checkpoint_dir]
    return next((path for path in candidates if path.exists()), None)


def figure_caption(job: Job) -> str:
    """`model on data, run <dir>`: the line under every figure of the run."""
    data = job.env["name"] if job.env else job.dataset.name
    if job.task == Task.sample and job.ckpt is None:  # the dataset sampler: no model in it
        return f"{data}, run {job.run_dir.parent.name}/{job.run_dir.name}"
    return f"{job.model.name} on {data}, run {job.run_dir.parent.name}/{job.run_dir.name}"
