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
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.serving import Endpoint, ServeOptions
from adl_runner.kernel.specs import FitSpec
from adl_runner.models.gan.base import GAN
from adl_runner.models.vae import VAE
from adl_runner.runner.artifacts import ArtifactData, ArtifactWriter
from adl_runner.runner.objectives import objective_of
from adl_runner.runner.provenance import git_commit, package_versions
from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.serving import endpoints as served
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
    """What a family is served as (runner.serving.endpoints, or "own": its `serve` hook, a
    detector's), from its spec; None: it has no serving signature (a segmenter, two image domains)."""
    if isinstance(spec, FitSpec) and spec.serve is not None:
        return "own"
    if not isinstance(spec, FitSpec) or spec.input_kind is not None or spec.two_domains:
        return None
    if spec.objective in ("classify", "reconstruct"):
        return {"classify": "classifier", "reconstruct": "autoencoder"}[spec.objective]
    return "generative" if spec.sample is not None else None


def refuse_unserved(job: Job) -> None:
    if served_kind(job.model.spec) is None:
        able = [name for name in MODELS.names() if served_kind(MODELS.get(name).spec) is not None]
        raise IncompatibleError(f"model '{job.model.name}' has no serving signature, task=export cannot serve it; "
                                f"models that export: {', '.join(able)}")


def image_source(job: Job, ckpt: Path, model: keras.Model) -> served.ImageSource:
    """The checkpoint's data as an export sees it: raw test images, the training pixel mean
    (`restore_pixel_mean`) and the pipeline's own preprocessing, the reference of the check."""
    view, inputs = view_of(model)
    pipeline = make_pipeline(job, job.dataset_config, view, inputs, objective_of(job.model.spec.objective)).pipeline
    require_matching_inputs(job, ckpt, model, pipeline)
    restore_pixel_mean(pipeline, ckpt)
    n = job.export.batch
    return served.ImageSource(pipeline.image_shape, pipeline.pixel_mean, job.dataset_config.gray_input, pipeline.images("test", n),
                              pipeline.labels("test")[:n], pipeline.inference_inputs)


def own_endpoints(job: Job, ckpt: Path, model: keras.Model) -> list[Endpoint]:
    """The family's `serve` hook on its own input kind's test data (a detector's images)."""
    spec = job.model.spec
    pipeline = make_pipeline(job, job.dataset_config, spec.view, spec.inputs, objective_of(spec.objective),
                             input_kind=spec.input_kind).pipeline
    require_matching_inputs(job, ckpt, model, pipeline)
    return list(spec.serve(model, ArtifactData(pipeline), ServeOptions(job.export.format.value, job.export.batch, job.export.max_detections)))


def serving_endpoints(job: Job, ckpt: Path, model: keras.Model) -> list[Endpoint]:
    kind = served_kind(job.model.spec)
    if kind == "own":
        return own_endpoints(job, ckpt, model)
    if isinstance(model, GAN):
        return served.generator(model, job.export.batch, job.seed)
    if kind == "generative" and not isinstance(model, VAE):
        raise IncompatibleError(f"checkpoint {ckpt} holds a '{job.model.name}' model with no serving signature "
                                f"(task=export serves a GAN's generator and a VAE's encoder and decoder)")
    build = {"classifier": served.classifier, "autoencoder": served.autoencoder, "generative": served.vae}[str(kind)]
    return build(model, image_source(job, ckpt, model))


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
        endpoints = serving_endpoints(job, ckpt, model)
        name = job.export.name or job.model.name
        base = rundir.export_dir / fmt.folder / name
        version = job.export.version or next_version(base)
        record = {"format": fmt.name, "name": name, "version": version, "checkpoint": str(ckpt), "model": job.model.name,
                  "checked_on": job.export.batch, "tolerance": job.export.tolerance,
                  "pixel_mean_subtracted": job.dataset_config.subtract_pixel_mean and served_kind(job.model.spec) != "generative",
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
