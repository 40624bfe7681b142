"""task=predict for every kind of fit family: what a checkpoint makes of a user's own images.

A family with its own `FitSpec.predict` hook (a detector, a mask model) writes what it writes. The
others are served by their kind, read from the spec and the loaded model:

    classifier   predictions.json (each image's class, its probability and all the class
                 probabilities) and predictions.png, a contact sheet of the images with their labels
    autoencoder  reconstructions.png (the images over their reconstructions) and reconstructions.npy
                 (autoencoders, the denoiser, the colorizer, unconditional VAEs)
    generator    what task=sample draws (GANs, CycleGAN): it takes no images, so image= is refused

Images reach the model as its training batches did (`ArrayPipeline.inference_inputs`): the run's
dataset gives the shape, class names and the training pixel mean, so predict reads that dataset.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import keras
import numpy as np

from adl_runner.data.images import image_batch
from adl_runner.data.pipeline import ArrayPipeline
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.specs import FitSpec
from adl_runner.runner.artifacts import ArtifactWriter
from adl_runner.runner.objectives import objective_of
from adl_runner.runner.resolve import Job
from adl_runner.runner.tasks.fit import make_pipeline

SHEET_COLUMNS = 8
"""Images per row of a contact sheet."""


def predict_kind(spec: FitSpec, model: keras.Model) -> str:
    """hook, classifier, autoencoder or generator (see the module docstring)."""
    if spec.predict is not None:
        return "hook"
    if spec.objective == "classify":
        return "classifier"
    if spec.two_domains or not getattr(model, "inputs", None):
        return "generator"
    return "autoencoder"


def predict_with(job: Job, model: keras.Model, files: Optional[list[Path]], out: ArtifactWriter) -> dict[str, Any]:
    """The checkpoint's predictions on `files` (None: no image= given), written to `out`; the
    numbers for metrics.json."""
    spec = job.model.spec
    assert isinstance(spec, FitSpec)
    kind = predict_kind(spec, model)
    if kind == "generator":
        if files is not None:
            raise ConfigError(f"model '{job.model.name}' generates images and takes none: drop image= (task=predict "
                              f"of a generator draws what task=sample draws, with the sample.* options)")
        if spec.sample is None:
            raise IncompatibleError(f"model '{job.model.name}' has no task=predict")
        return {"kind": kind, "files": [str(p) for p in spec.sample(model, job.sample, out) or []]}
    if files is None:
        raise ConfigError("task=predict needs image=<an image file, a folder of images or a .npy batch>")
    if spec.predict is not None:
        return {"kind": kind, "images": len(files), **spec.predict(model, files, out)}
    if getattr(model, "conditional", False):
        raise IncompatibleError(f"model '{job.model.name}' reconstructs an image from it and its label, which "
                                f"task=predict does not have; use task=sample sample.label=<class> to decode")
    pipeline, class_names = training_view(job)
    height, width, channels = pipeline.image_shape
    images, names = image_batch(files, (height, width, channels))
    outputs = model.predict(pipeline.inference_inputs(images), verbose=0, batch_size=job.trainer.batch_size)
    if kind == "classifier":
        return {"kind": kind, "images": len(images), **write_classes(images, names, outputs, class_names, out)}
    return {"kind": kind, "images": len(images), **write_reconstructions(images, outputs, out)}


def training_view(job: Job) -> tuple[ArrayPipeline, tuple[str, ...]]:
    """The pipeline the checkpoint was trained through (its dataset, view, inputs and pixel mean),
    and the dataset's class names."""
    spec = job.model.spec
    assert isinstance(spec, FitSpec)
    loaded = make_pipeline(job, job.dataset_config, spec.view, spec.inputs, objective_of(spec.objective))
    if not isinstance(loaded.pipeline, ArrayPipeline):
        raise IncompatibleError(f"model '{job.model.name}' on dataset '{job.dataset_config.name}' has no task=predict")
    return loaded.pipeline, loaded.class_names


def write_classes(images: np.ndarray, names: list[str], probabilities: np.ndarray, class_names: tuple[str, ...],
                  out: ArtifactWriter) -> dict[str, Any]:
    """predictions.json and the predictions.png contact sheet of a classifier's softmax outputs."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = [class_names[i] if i < len(class_names) else str(i) for i in range(probabilities.shape[-1])]
    ids = probabilities.argmax(axis=-1)
    listed = [{"image": name, "class_id": int(i), "class": labels[i], "probability": round(float(p[i]), 6),
               "probabilities": {label: round(float(value), 6) for label, value in zip(labels, p)}}
              for name, i, p in zip(names, ids, probabilities)]
    out.record("predictions", listed)
    titles = [f"{labels[i]} ({p[i]:.2f})" for i, p in zip(ids, probabilities)]
    out.labelled_grid("predictions", images, titles, min(len(images), SHEET_COLUMNS))
    counts: dict[str, int] = {}
    for i in ids:
        counts[labels[i]] = counts.get(labels[i], 0) + 1
    return {"predicted": counts}


def write_reconstructions(images: np.ndarray, outputs: np.ndarray, out: ArtifactWriter) -> dict[str, Any]:
    """reconstructions.png (each row of images over its reconstructions) and reconstructions.npy (the
    outputs as uint8 images)."""
    height, width = images.shape[1:3]
    decoded = np.clip(np.asarray(outputs, dtype=np.float32), 0.0, 1.0).reshape(len(images), height, width, -1)
    cols = min(len(images), SHEET_COLUMNS)
    rows = []
    for start in range(0, len(images), cols):
        chunk = slice(start, start + cols)
        shown = _as_channels(images[chunk] / 255.0, decoded.shape[-1])
        pad = cols - len(shown)
        filler = np.ones((pad, height, width, decoded.shape[-1]), dtype=np.float32)
        rows += [np.concatenate([shown, filler]), np.concatenate([decoded[chunk], filler])]
    out.image_grid("reconstructions", np.concatenate(rows), cols=cols,
                   title=f"{len(images)} images (rows 1, 3, ...) and their reconstructions")
    written = out.array("reconstructions", np.round(decoded * 255).astype(np.uint8))
    return {"reconstructions": str(written), "rows": math.ceil(len(images) / cols)}


def _as_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """Images shown beside outputs of `channels` channels (a colorizer's gray inputs in RGB)."""
    return np.repeat(images, channels, axis=-1) if images.shape[-1] == 1 and channels == 3 else images
