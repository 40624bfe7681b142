"""The serving tasks: task=export, a checkpoint as a TensorFlow SavedModel (signatures `serve` and
`serving_default`); task=predict, a checkpoint on the user's own files (`image=`) through its
family's `predict` hook (a detector's boxes drawn and listed) or its kind's (tasks/predictions.py)."""

from __future__ import annotations

import time
from typing import Any

from adl_runner.data.images import image_files
from adl_runner.runner.artifacts import ArtifactWriter
from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.tasks.common import (
    configure_tensorflow,
    finish,
    load_checkpoint,
    load_for_inference,
    required_checkpoint,
    write_config,
)
from adl_runner.runner.tasks.predictions import predict_with
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


@task("fit", "predict")
def predict(job: Job, rundir: RunDir) -> dict[str, Any]:
    """The checkpoint's model on `image=` (a file, a folder or a .npy batch): what it writes is its
    family's, or its kind's (tasks/predictions.py)."""
    started = time.time()
    with rundir.removed_if_failed_fresh():
        files = image_files(job.image) if job.image is not None else None  # checked before the checkpoint is loaded
        configure_tensorflow(job)
        ckpt = required_checkpoint(job)
        model = load_for_inference(job, ckpt)
        summary = predict_with(job, model, files, ArtifactWriter(rundir))
    write_config(rundir, job)
    metrics = {"task": "predict", "checkpoint": str(ckpt), "model": job.model.name, **summary, "status": "completed"}
    return finish(rundir, job, started, metrics)
