"""Running evaluators (`adl_runner.kernel.evaluators`) by name, and the runner's generic ones.

Families register evaluators tied to what they make (the GANs' `mnist_fid`); the ones here read
only a model's outputs and the data's labels, so any family can name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.evaluators import EVALUATORS
from adl_runner.kernel.hooks import DataView, QualityContext
from adl_runner.kernel.specs import EvaluatorSpec
from adl_runner.models.metrics.matching import clustering_accuracy, head_clusters


def evaluate(names: Sequence[str], model: Any, data: DataView, context: QualityContext) -> dict[str, Any]:
    """The numbers of the evaluators `names`, merged: floats, or lists of floats (one per head); a
    ConfigError for an unknown name, or for two evaluators that report the same metric (one would
    silently hide the other)."""
    evaluators = [EVALUATORS.get(name) for name in names]  # every name checked before any work
    numbers: dict[str, Any] = {}
    for entry in evaluators:
        found = entry.build(model, data, context)
        clash = sorted(set(found) & set(numbers))
        if clash:
            raise ConfigError(f"evaluator '{entry.name}' reports {', '.join(clash)}, already reported by another evaluator")
        numbers.update({key: [float(v) for v in value] if isinstance(value, (list, tuple)) else float(value)
                        for key, value in found.items()})
    return numbers


@EVALUATORS.register("matched_accuracy", EvaluatorSpec("Hungarian-matched accuracy of each softmax head's clusters against the labels"))
def head_accuracies(model: Any, data: DataView, context: QualityContext) -> dict[str, Any]:
    """Accuracy of each softmax head's argmax clusters on the test split after matching them to its
    labels (`clustering_accuracy`: Hungarian, or many-to-one for an over-clustering head):
    'accuracy' (the best head, what the book's Table 13.6.1 reports), 'accuracy_per_head' (a list),
    'accuracy_mean' and 'accuracy_std' over heads."""
    labels = data.labels("test")
    if not len(labels):
        raise IncompatibleError("matched accuracy needs the class labels of the test split, and it holds no examples "
                                "(dataset.test_limit=0?); evaluate on a labelled test split")
    clusters = head_clusters(model, data.batches("test"))
    widths = [int(out.shape[-1]) for out in model.outputs]
    accuracies = [clustering_accuracy(labels, found, data.num_classes, width) for found, width in zip(clusters, widths)]
    return {"accuracy": max(accuracies), "accuracy_per_head": accuracies, "accuracy_mean": float(np.mean(accuracies)),
            "accuracy_std": float(np.std(accuracies))}


BOOK_BATCH = 256
"""The one test batch Pattanayak's listings print the accuracy of (`mnist.test.next_batch(256)`)."""


@EVALUATORS.register("batch_accuracy", EvaluatorSpec("accuracy on one random test batch of 256, as the book prints it, and its spread"))
def batch_accuracy(model: Any, data: DataView, context: QualityContext) -> dict[str, float]:
    """`test_batch_accuracy`: a classifier's accuracy on one batch of 256 test examples drawn at
    random (a fixed draw), the figure the book reports; `test_batch_accuracy_std`: the standard
    deviation of that figure over a random partition of the test set into batches of 256, how far
    one batch strays from the full-test-set accuracy."""
    scores = np.concatenate([np.asarray(model.predict_on_batch(x)) for x, _ in data.batches("test").as_numpy_iterator()])
    correct = (scores.argmax(axis=-1) == data.labels("test")).astype(np.float64)
    size = min(BOOK_BATCH, len(correct))
    order = np.random.default_rng(0).permutation(len(correct))[: len(correct) // size * size]
    batches = correct[order].reshape(-1, size).mean(axis=1)
    return {"test_batch_accuracy": float(batches[0]), "test_batch_accuracy_std": float(batches.std())}
