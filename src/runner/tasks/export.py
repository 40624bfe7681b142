"""task=export: a checkpoint as a TensorFlow SavedModel for serving (signatures `serve` and
`serving_default`). The place for the other serving tasks (predict) as they come."""

from __future__ import annotations

import time
from typing import Any

from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.tasks.common import finish, load_checkpoint, required_checkpoint, write_config
from adl_runner.runner.tasks.registry import task


@task("fit", "export")
def export(job: Job, rundir: RunDir) -> dict[str, Any]:
    started = time.time()
    with rundir.removed_if_failed_fresh():
        ckpt = required_checkpoint(job)
        model = load_checkpoint(ckpt)
    # Built beside its place and swapped in: a killed export never leaves a half-written saved_model/.
    target = rundir.write_dir_atomic(rundir.saved_model_dir, lambda tmp: model.export(str(tmp), verbose=False))
    write_config(rundir, job)
    metrics = {"task": "export", "checkpoint": str(ckpt), "model": model.name, "params": model.count_params(),
               "saved_model": str(target), "status": "completed"}
    return finish(rundir, job, started, metrics)
