"""The task of families with no training loop (classical segmentation, say): `train` runs the
family's computation once, with its figures and metrics written like any run's."""

from __future__ import annotations

import logging
import time
from typing import Any

from adl_runner.kernel.specs import RunContext
from adl_runner.runner.artifacts import ArtifactWriter
from adl_runner.runner.progress import start_line
from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.tasks.common import finish, write_config
from adl_runner.runner.tasks.registry import task

log = logging.getLogger("runner")


@task("none", "train")
def train(job: Job, rundir: RunDir) -> dict[str, Any]:
    started = time.time()
    with rundir.removed_if_failed_fresh():
        rundir.ensure_writable()
        log.info(start_line("train", job.model.name, job.image or "its sample image", "one pass, no training", rundir.path))
        context = RunContext(seed=job.seed, data_dir=job.data_dir, out=ArtifactWriter(rundir), image=job.image)
        numbers = job.model.build(job.model_options, context)
    write_config(rundir, job)
    metrics = {"task": "train", "model": job.model.name, "seed": job.seed, **numbers, "status": "completed"}
    return finish(rundir, job, started, metrics)
