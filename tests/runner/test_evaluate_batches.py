"""Evaluating several test steps per call gives Keras' numbers to the bit, and leaves the model's
own test function as it was."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from adl_runner.runner.loops.evaluate import EVALUATION_STEPS, Validation, evaluate_batches


def _model_and_batches() -> tuple[keras.Model, tf.data.Dataset]:
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.3),
                              keras.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(1)
    n = 8 * (2 * EVALUATION_STEPS + 3) + 5  # not whole calls of the many-step function, nor whole batches
    batches = tf.data.Dataset.from_tensor_slices((rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 4, n))).batch(8)
    return model, batches


def test_the_same_numbers_as_one_step_per_call_and_the_model_keeps_its_function() -> None:
    model, batches = _model_and_batches()
    keras_numbers = model.evaluate(batches, return_dict=True, verbose=0)
    own_function = model.test_function
    assert evaluate_batches(model, batches) == keras_numbers
    assert model.test_function is own_function and model.steps_per_execution == 1
    assert model.evaluate(batches, return_dict=True, verbose=0) == keras_numbers  # one step per call still sees every batch
    assert evaluate_batches(model, batches.take(3)) == model.evaluate(batches.take(3), return_dict=True, verbose=0)


def test_validation_gives_fit_its_val_numbers() -> None:
    model, batches = _model_and_batches()
    keras_history = model.fit(batches, validation_data=batches, epochs=2, verbose=0, shuffle=False).history
    model, batches = _model_and_batches()
    ours = model.fit(batches, callbacks=[Validation(batches)], epochs=2, verbose=0, shuffle=False).history
    assert ours == keras_history
