"""`run task=sample dataset=<name>` with no checkpoint: a look at the data itself, the book's MNIST
sampler (Listing 1.3.1, spec E1.0). It prints each split's label counts, the book's dataset sanity
check, and draws `sample.n` random training images in a square-ish grid (`sample.n=25`: the book's
5x5 `mnist-samples.png`). No model is built and nothing is trained."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from adl_runner.runner.artifacts import ArtifactWriter
from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.tasks.common import finish, loaded_dataset, write_config

log = logging.getLogger("runner")

SAMPLES_FIGURE = "samples"


def label_counts(labels: np.ndarray, num_classes: int) -> dict[str, int] | None:
    """{class id: count} of integer or one-hot class labels; None for labels that are not classes
    (boxes, masks, images)."""
    if labels.ndim == 2 and labels.shape[1] == num_classes and num_classes > 1:
        labels = labels.argmax(axis=1)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        return None
    counts = np.bincount(labels, minlength=num_classes)
    return {str(label): int(count) for label, count in enumerate(counts)}


def sample_dataset(job: Job, rundir: RunDir) -> dict[str, Any]:
    started = time.time()
    dataset = job.dataset_config
    with rundir.removed_if_failed_fresh():
        splits = loaded_dataset(job, dataset).limited(dataset.train_limit, dataset.test_limit)
        counts = {split: label_counts(y, splits.num_classes)
                  for split, y in (("train", splits.y_train), ("test", splits.y_test))}
        for split, split_counts in counts.items():
            if split_counts is not None:
                log.info("%s labels: %s", split, split_counts)  # the book's printed dictionary
        n = min(job.sample.n, len(splits.x_train))
        chosen = np.random.default_rng(job.seed).choice(len(splits.x_train), size=n, replace=False)
        images = splits.x_train[np.sort(chosen)].astype(np.float32) / 255.0
        figure = ArtifactWriter(rundir).image_grid(
            SAMPLES_FIGURE, images, cols=math.ceil(math.sqrt(n)), title=f"{n} random {dataset.name} training images")
    write_config(rundir, job)
    metrics: dict[str, Any] = {"task": "sample", "dataset": dataset.name, "seed": job.seed,
                               "examples_train": len(splits.x_train), "examples_test": len(splits.x_test),
                               "input_shape": list(splits.input_shape), "class_names": list(splits.class_names)}
    metrics.update({f"label_counts_{split}": c for split, c in counts.items() if c is not None})
    metrics.update({"sampled_indices": [int(i) for i in np.sort(chosen)], "files": [str(figure)], "status": "completed"})
    return finish(rundir, job, started, metrics)
