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
