"""`model.evaluate` over a stream of batches, several test steps per call of the test function.

Keras calls its test function once per batch; for a small network most of an evaluation is that
call's overhead (the MLP on MNIST's 60,000 training images at batch 128: 0.80 s CPU at one step per
call, 0.48 s at 16). The batches, their order and each test step are the same, so the numbers are
the same to the bit (tests/runner/test_evaluate_batches.py). Only a model with Keras' own
`test_step` is run this way: a family's own step stays at one per call, as it was written for.

The many-step test function is the runner's, kept beside the model's own: `steps_per_execution`
is read when a test function is traced, and a one-step function run by a many-step iterator would
skip batches, so each evaluation here swaps its function in and the model's back.
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
import tensorflow as tf

EVALUATION_STEPS = 16
"""Test steps per call of the runner's test function."""

_FUNCTIONS: weakref.WeakKeyDictionary[keras.Model, Any] = weakref.WeakKeyDictionary()
"""Each model's many-step test function, traced on its first evaluation here."""


def evaluate_batches(model: keras.Model, batches: tf.data.Dataset) -> dict[str, float]:
    """`model.evaluate(batches, return_dict=True, verbose=0)`, EVALUATION_STEPS batches per call
    where the model tests with Keras' own step."""
    if type(model).test_step is not keras.Model.test_step:
        return model.evaluate(batches, return_dict=True, verbose=0)
    saved = model.test_function, model.steps_per_execution
    model.test_function, model.steps_per_execution = _FUNCTIONS.get(model), EVALUATION_STEPS
    try:
        return model.evaluate(batches, return_dict=True, verbose=0)
    finally:
        _FUNCTIONS[model] = model.test_function
        model.test_function, model.steps_per_execution = saved


class Validation(keras.callbacks.Callback):
    """What `fit(validation_data=...)` does at each epoch end, through `evaluate_batches`: the
    `val_` numbers join the epoch's logs before any later callback sees them (so put it first)."""

    def __init__(self, batches: tf.data.Dataset) -> None:
        super().__init__()
        self.batches = batches

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs.update({f"val_{name}": value for name, value in evaluate_batches(self.model, self.batches).items()})
