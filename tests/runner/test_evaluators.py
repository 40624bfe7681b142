"""The evaluator registry: lookup by name, merging, the generic matched accuracy, the GANs' mnist_fid."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import adl_runner.models.gan.quality  # noqa: F401  (registers mnist_fid, as load_families does)
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.evaluators import EVALUATORS
from adl_runner.kernel.hooks import QualityContext
from adl_runner.kernel.specs import EvaluatorSpec
from adl_runner.runner.evaluators import evaluate

PERMUTATION = np.array([2, 0, 1])  # head 0 puts class k in cluster PERMUTATION[k]


class LabelData:
    """A DataView whose inputs are the one-hot labels themselves."""

    num_classes = 3

    def __init__(self, labels: np.ndarray) -> None:
        self._labels = labels

    def batches(self, split: str = "test") -> tf.data.Dataset:
        x = np.eye(3, dtype=np.float32)[self._labels]
        return tf.data.Dataset.from_tensor_slices((x, self._labels)).batch(4)

    def labels(self, split: str = "test") -> np.ndarray:
        return self._labels


def _context(dataset: str = "synthetic") -> QualityContext:
    return QualityContext(dataset=dataset, data_dir=Path("."), cache_dir=Path("."), samples=10, verify=False)


def _two_head_model() -> keras.Model:
    """Head 0: a relabelling of the input class (perfect clusters); head 1: cluster 0 for everything."""
    inputs = keras.Input((3,))
    permuted = keras.layers.Dense(3, use_bias=False, activation="softmax", name="z_head0")
    collapsed = keras.layers.Dense(3, use_bias=False, activation="softmax", name="z_head1")
    model = keras.Model(inputs, [permuted(inputs), collapsed(inputs)])
    permuted.set_weights([10.0 * np.eye(3, dtype=np.float32)[PERMUTATION]])
    collapsed.set_weights([np.tile([[10.0, 0.0, 0.0]], (3, 1)).astype(np.float32)])
    return model


def test_an_unknown_evaluator_is_one_line_with_the_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown evaluator 'mnist_fd' \(did you mean 'mnist_fid'\?\); valid: .*matched_accuracy"):
        evaluate(["matched_accuracy", "mnist_fd"], None, None, _context())


def test_matched_accuracy_per_head_and_best() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    numbers = evaluate(["matched_accuracy"], _two_head_model(), LabelData(labels), _context())
    assert numbers == {"accuracy": 1.0, "accuracy_per_head": [1.0, 0.4], "accuracy_mean": 0.7, "accuracy_std": pytest.approx(0.3)}


def test_one_head_is_its_own_best_and_mean() -> None:
    model = _two_head_model()
    one_head = keras.Model(model.inputs, model.outputs[0])
    numbers = evaluate(["matched_accuracy"], one_head, LabelData(np.array([0, 1, 2, 1])), _context())
    assert numbers == {"accuracy": 1.0, "accuracy_per_head": [1.0], "accuracy_mean": 1.0, "accuracy_std": 0.0}


def test_an_empty_test_split_has_no_labels_to_match() -> None:
    with pytest.raises(IncompatibleError, match="matched accuracy needs the class labels of the test split"):
        evaluate(["matched_accuracy"], _two_head_model(), LabelData(np.array([], int)), _context())


def test_two_evaluators_merge_but_may_not_report_the_same_metric(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EVALUATORS, "_entries", dict(EVALUATORS._entries))  # registrations undone after the test
    EVALUATORS.register("first", EvaluatorSpec("a test metric"))(lambda model, data, context: {"a": 1, "b": 2})
    EVALUATORS.register("second", EvaluatorSpec("a test metric"))(lambda model, data, context: {"c": 3.5})
    EVALUATORS.register("again", EvaluatorSpec("a test metric"))(lambda model, data, context: {"b": 0})
    assert evaluate(["first", "second"], None, None, _context()) == {"a": 1.0, "b": 2.0, "c": 3.5}
    with pytest.raises(ConfigError, match="evaluator 'again' reports b, already reported by another evaluator"):
        evaluate(["first", "again"], None, None, _context())


def test_mnist_fid_is_the_gan_quality_hook_and_says_nothing_off_mnist() -> None:
    assert evaluate(["mnist_fid"], None, None, _context("cifar10")) == {}
