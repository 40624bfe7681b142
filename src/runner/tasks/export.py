"""The serving tasks: task=export, a checkpoint as a served model in one of Keras 3's export
formats, preprocessing inside, verified before it is kept (`runner.serving`); task=predict, a
checkpoint on the user's own files (`image=`) through its family's `predict` hook (a detector's
boxes drawn and listed) or its kind's (tasks/predictions.py)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import keras

from adl_runner.data.images import image_files
from adl_runner.kernel.errors import IncompatibleError, RunnerError
from adl_runner.kernel.provenance import git_commit, package_versions
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.serving import Endpoint, ServeOptions
from adl_runner.kernel.specs import FitSpec
from adl_runner.runner.artifacts import ArtifactWriter
from adl_runner.runner.objectives import objective_of
from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.serving import endpoints as served
from adl_runner.runner.serving.data import ServedData
from adl_runner.runner.serving.formats import FORMATS, Format, largest_differences
from adl_runner.runner.tasks.common import (
    configure_tensorflow,
    finish,
    load_for_inference,
    required_checkpoint,
    restore_pixel_mean,
    write_config,
)
from adl_runner.runner.tasks.fit import make_pipeline, require_matching_inputs, view_of
from adl_runner.runner.tasks.predictions import predict_with
from adl_runner.runner.tasks.registry import task

log = logging.getLogger("runner")


def served_kind(spec: Any) -> str | None:
    """What a family is served as: "own", its `serve` hook's endpoints (a generator's, a VAE's, a
    detector's), else those of its objective (runner.serving.endpoints); None: it has no serving
    signature (a segmenter, two image domains, a generative family without a `serve` hook)."""
    if isinstance(spec, FitSpec) and spec.serve is not None:
        return "own"
    if not isinstance(spec, FitSpec) or spec.input_kind is not None or spec.two_domains:
        return None
    return {"classify": "classifier", "reconstruct": "autoencoder"}.get(spec.objective)


def refuse_unserved(job: Job) -> None:
    if served_kind(job.model.spec) is None:
        able = [name for name in MODELS.names() if served_kind(MODELS.get(name).spec) is not None]
        raise IncompatibleError(f"model '{job.model.name}' has no serving signature, task=export cannot serve it; "
                                f"models that export: {', '.join(able)}")


def served_data(job: Job, ckpt: Path, model: keras.Model) -> ServedData:
    """The checkpoint's data as an export sees it, loaded at its first use: the test split through
    the family's input kind, or the array pipeline in the view the model takes, with the training
    pixel mean (`restore_pixel_mean`); the reference of the check."""
    spec = job.model.spec

    def load() -> Any:
        view, inputs = view_of(model) if getattr(model, "inputs", None) else (spec.view, spec.inputs)
        pipeline = make_pipeline(job, job.dataset_config, view, inputs, objective_of(spec.objective),
                                 input_kind=spec.input_kind).pipeline
        require_matching_inputs(job, ckpt, model, pipeline)
        restore_pixel_mean(pipeline, ckpt)
        return pipeline

    return ServedData(load)


def serving_endpoints(job: Job, model: keras.Model, data: ServedData) -> list[Endpoint]:
    spec = job.model.spec
    if spec.serve is not None:
        options = ServeOptions(job.export.format.value, job.export.batch, job.export.max_detections, job.seed)
        return list(spec.serve(model, data, options))
    build = {"classifier": served.classifier, "autoencoder": served.autoencoder}[str(served_kind(spec))]
    return build(model, data.source(job.export.batch))


def next_version(base: Path) -> int:
    """One above the highest numeric version folder in `base` (TF Serving serves the highest)."""
    versions = [int(p.name) for p in base.glob("*") if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return max(versions, default=0) + 1


def write_verified(fmt: Format, endpoints: list[Endpoint], folder: Path, record: dict[str, Any],
                   tolerance: float) -> None:
    """Write the endpoints, load them back, compare with the Keras model and add export.json; a
    failed conversion or a difference above `tolerance` raises, and the caller keeps nothing."""
    try:
        fmt.write(endpoints, folder)
        differences = largest_differences(fmt, folder, endpoints)
    except RunnerError:
        raise
    except Exception as exc:  # a converter's own error (an op tf2onnx or LiteRT cannot convert)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IncompatibleError(f"export.format={fmt.name} failed for model '{record['model']}': {first}") from None
    largest = max((d for each in differences.values() for d in each.values()), default=0.0)
    if not largest <= tolerance:
        raise RunnerError(f"the {fmt.name} export differs from the Keras model by up to {largest:.3g} "
                          f"(export.tolerance={tolerance}): {differences}; nothing was kept")
    record.update(endpoints={e.name: e.describe() for e in endpoints}, max_abs_difference=differences,
                  largest_difference=largest)
    (folder / "export.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


@task("fit", "export")
def export(job: Job, rundir: RunDir) -> dict[str, Any]:
    """The checkpoint's endpoints, preprocessing inside, as export/<name>/<version>/ in
    `export.format`, kept only once reloaded and matched with the Keras model."""
    started = time.time()
    fmt = FORMATS[job.export.format.value]
    with rundir.removed_if_failed_fresh():
        fmt.require()
        refuse_unserved(job)
        configure_tensorflow(job)
        ckpt = required_checkpoint(job)
        model = load_for_inference(job, ckpt)  # a detector's NMS settings of this command
        data = served_data(job, ckpt, model)
        endpoints = serving_endpoints(job, model, data)
        name = job.export.name or job.model.name
        base = rundir.export_dir / fmt.folder / name
        version = job.export.version or next_version(base)
        record = {"format": fmt.name, "name": name, "version": version, "checkpoint": str(ckpt), "model": job.model.name,
                  "checked_on": job.export.batch, "tolerance": job.export.tolerance,
                  "pixel_mean_subtracted": data.pixel_mean_served,
                  "versions": package_versions(), "git_commit": git_commit()}
        log.info("exporting %s (%s) as %s to %s, then reloading it and checking it against the Keras model on %d "
                 "images", name, ", ".join(e.name for e in endpoints), fmt.name, base / str(version), job.export.batch)
        # Built beside its place and swapped in: a failed check or a kill never leaves a half-written version.
        target = rundir.write_dir_atomic(base / str(version),
                                         lambda tmp: write_verified(fmt, endpoints, tmp, record, job.export.tolerance))
    write_config(rundir, job)
    metrics = {"task": "export", "checkpoint": str(ckpt), "model": model.name, "params": model.count_params(),
               "format": fmt.name, "export": str(target), "endpoints": [e.name for e in endpoints],
               "largest_difference": record["largest_difference"], "status": "completed"}
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
