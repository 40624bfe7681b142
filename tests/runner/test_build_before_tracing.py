"""The fit loop builds the optimizer and metrics before Keras traces the train step: one trace
instead of two, and the same training to the bit."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_runner.runner.loops.fit import build_before_tracing


def _trained(prebuild: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[np.ndarray], int]:
    """A seeded dropout MLP after 2 epochs of Adam: its weights and optimizer state, and how often
    Keras traced its train step."""
    traces = []
    default_step = keras.Model.train_step

    def counted(self: keras.Model, data: object) -> object:
        traces.append(1)
        return default_step(self, data)

    monkeypatch.setattr(keras.Model, "train_step", counted)
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.4),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    batches = tf.data.Dataset.from_tensor_slices((rng.normal(size=(64, 8)).astype("float32"),
                                                  rng.integers(0, 3, 64))).batch(16)
    if prebuild:
        build_before_tracing(model, batches)
    model.fit(batches, epochs=2, verbose=0, shuffle=False)
    return [np.array(v) for v in [*model.weights, *model.optimizer.variables]], len(traces)


def test_one_trace_and_the_same_weights_and_optimizer_state(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, plain_traces = _trained(False, monkeypatch)
    built, built_traces = _trained(True, monkeypatch)
    assert (plain_traces, built_traces) == (2, 1)
    assert len(plain) == len(built)
    for a, b in zip(plain, built):
        np.testing.assert_array_equal(a, b)


def test_a_family_with_its_own_train_step_is_left_alone() -> None:
    class Own(keras.Model):
        def train_step(self, data: object) -> dict:
            return {}

    inputs = keras.Input((2,))
    model = Own(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    build_before_tracing(model, tf.data.Dataset.from_tensor_slices((np.zeros((4, 2), "float32"), np.zeros(4))).batch(2))
    assert not model.optimizer.built
