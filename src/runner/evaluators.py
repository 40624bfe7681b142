"""Running evaluators (`adl_runner.kernel.evaluators`) by name, and the runner's generic ones.

Families register evaluators tied to what they make (the GANs' `mnist_fid`); the ones here read
only a model's outputs and the data's labels, so any family can name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.evaluators import EVALUATORS
from adl_runner.kernel.hooks import DataView, QualityContext
from adl_runner.kernel.specs import EvaluatorSpec
from adl_runner.models.metrics.matching import matched_accuracy


def evaluate(names: Sequence[str], model: Any, data: DataView, context: QualityContext) -> dict[str, float]:
    """The numbers of the evaluators `names`, merged; a ConfigError for an unknown name, or for two
    evaluators that report the same metric (one would silently hide the other)."""
    evaluators = [EVALUATORS.get(name) for name in names]  # every name checked before any work
    numbers: dict[str, float] = {}
    for entry in evaluators:
        found = entry.build(model, data, context)
        clash = sorted(set(found) & set(numbers))
        if clash:
            raise ConfigError(f"evaluator '{entry.name}' reports {', '.join(clash)}, already reported by another evaluator")
        numbers.update({key: float(value) for key, value in found.items()})
    return numbers


@EVALUATORS.register("matched_accuracy", EvaluatorSpec("Hungarian-matched accuracy of each softmax head's clusters against the labels"))
def clustering_accuracy(model: Any, data: DataView, context: QualityContext) -> dict[str, float]:
    """Hungarian-matched accuracy of each softmax head's argmax clusters on the test split against its
    labels ('matched_accuracy' for one head; 'matched_accuracy_head<i>' and the best for several)."""
    heads: list[list[np.ndarray]] = [[] for _ in model.outputs]
    for inputs, _ in data.batches("test").as_numpy_iterator():
        outputs = model.predict_on_batch(inputs)
        for head, probabilities in zip(heads, outputs if len(heads) > 1 else [outputs]):
            head.append(np.asarray(probabilities).argmax(axis=-1))
    labels = data.labels("test")
    n = max(data.num_classes, *(int(p.shape[-1]) for p in model.outputs))
    accuracies = [matched_accuracy(labels, np.concatenate(head), n) for head in heads]
    if len(accuracies) == 1:
        return {"matched_accuracy": accuracies[0]}
    return {**{f"matched_accuracy_head{i}": a for i, a in enumerate(accuracies)}, "matched_accuracy": max(accuracies)}
