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
