"""SSD losses (spec 11.D) on hand-computed values: masked L1 and smooth L1, focal and cross-entropy."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import ops

from adl_runner.models.detection.losses import (
    categorical_crossentropy,
    focal_categorical,
    l1_loss,
    smooth_l1_loss,
    ssd_losses,
)

# One image, two anchors: anchor 0 positive (mask 1) with target offsets (1, 2, 3, 4); anchor 1 background
# (mask 0) with offsets that must not count.
Y_OFFSETS = np.array([[[1, 2, 3, 4, 1, 1, 1, 1], [9, 9, 9, 9, 0, 0, 0, 0]]], np.float32)
PREDICTED = np.array([[[2, 2, 5, 0], [-7, 3, 8, 1]]], np.float32)  # errors on anchor 0: 1, 0, 2, 4


def _np(x) -> np.ndarray:
    return ops.convert_to_numpy(x)


def test_l1_is_the_mean_masked_absolute_error_per_anchor() -> None:
    np.testing.assert_allclose(_np(l1_loss(Y_OFFSETS, PREDICTED)), [[7 / 4, 0]])
    duplicated = np.concatenate([PREDICTED, PREDICTED], -1)  # the book's 8-channel offset output
    np.testing.assert_allclose(_np(l1_loss(Y_OFFSETS, duplicated)), [[7 / 4, 0]])


def test_smooth_l1_is_huber_with_delta_1_and_averages_to_the_books_scalar() -> None:
    # Errors 1, 0, 2, 4: 0.5, 0, 1.5, 3.5.
    per_anchor = _np(smooth_l1_loss(Y_OFFSETS, PREDICTED))
    np.testing.assert_allclose(per_anchor, [[5.5 / 4, 0]])
    mask = Y_OFFSETS[..., 4:]
    books = keras.losses.Huber()(Y_OFFSETS[..., :4] * mask, PREDICTED * mask)  # a batch-mean scalar
    assert float(books) == pytest.approx(per_anchor.mean())


def test_focal_loss_down_weights_the_true_class_by_alpha_and_one_minus_p_squared() -> None:
    y = np.array([[[0, 1, 0]]], np.float32)
    expected = -math.log(0.5) * 0.25 * 0.5 ** 2
    assert float(_np(focal_categorical(y, np.array([[[0.2, 0.5, 0.3]]], np.float32)))[0, 0]) == pytest.approx(expected)
    # Renormalised first: twice the probabilities give the same loss.
    assert float(_np(focal_categorical(y, np.array([[[0.4, 1.0, 0.6]]], np.float32)))[0, 0]) == pytest.approx(expected)


def test_focal_loss_is_finite_on_a_confidently_wrong_prediction() -> None:
    eps = keras.config.epsilon()
    loss = float(_np(focal_categorical(np.array([[1.0, 0, 0]]), np.array([[0.0, 1.0, 0]])))[0])
    assert loss == pytest.approx(-math.log(eps) * 0.25 * (1 - eps) ** 2, rel=1e-4)


def test_cross_entropy_is_minus_log_of_the_true_class() -> None:
    loss = _np(categorical_crossentropy(np.array([[[0, 1.0, 0]]]), np.array([[[0.2, 0.5, 0.3]]])))
    np.testing.assert_allclose(loss, [[-math.log(0.5)]], rtol=1e-6)


def test_the_book_flags_choose_the_losses() -> None:
    assert ssd_losses() == (categorical_crossentropy, l1_loss)
    assert ssd_losses(smooth_l1=True) == (categorical_crossentropy, smooth_l1_loss)
    assert ssd_losses(improved_loss=True) == (focal_categorical, smooth_l1_loss)


@pytest.mark.parametrize("loss", [l1_loss, smooth_l1_loss, focal_categorical, categorical_crossentropy])
def test_losses_survive_keras_serialization(loss) -> None:
    config = keras.saving.serialize_keras_object(loss)
    assert keras.saving.deserialize_keras_object(config) is loss


def test_a_two_output_model_trains_on_the_losses_with_keras_averaging_every_anchor() -> None:
    inputs = keras.Input((2, 3))
    offsets = keras.layers.Dense(4, kernel_initializer="zeros")(inputs)  # predicts 0 until trained
    model = keras.Model(inputs, [keras.layers.Dense(3, activation="softmax")(inputs), offsets])
    model.compile(optimizer="adam", loss=[focal_categorical, l1_loss], loss_weights=[0.0, 1.0])
    x, y_class = np.ones((1, 2, 3), np.float32), np.array([[[0, 1, 0], [1, 0, 0]]], np.float32)
    # |0 - (1, 2, 3, 4)| averaged over the 4 offsets of both anchors, the masked one included.
    assert model.evaluate(x, [y_class, Y_OFFSETS], verbose=0, return_dict=True)["loss"] == pytest.approx(10 / 8)
    assert np.isfinite(model.train_on_batch(x, [y_class, Y_OFFSETS])).all()
