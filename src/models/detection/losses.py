"""Losses of the book's SSD (spec 11.D, Listings 11.4.1-11.4.2, the repo's `loss.py`), as Keras-3 loss
functions of (y_true, y_pred) returning one value per anchor, (B, A); Keras averages them.

Offset losses: `y_true` (B, A, 8) is the book's concat(gt_offset, gt_mask); `y_pred` is the offset head,
(B, A, 4), or the book's duplicated (B, A, 8), of which the first 4 channels are read. Both sides are
multiplied by the mask, so only positive anchors contribute, but the mean still runs over every anchor
(the book's normalisation, not SSD's division by the number of positives).
Class losses: `y_true` (B, A, C) one-hot, `y_pred` (B, A, C) softmax probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

OFFSET_CHANNELS = 4

Tensor = Any
"""A backend tensor or array: the losses use `keras.ops` only."""


def masked_offsets(y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """(target, prediction) offsets, each (B, A, 4) times the mask (the repo's `mask_offset`)."""
    mask = y_true[..., OFFSET_CHANNELS:2 * OFFSET_CHANNELS]
    return y_true[..., :OFFSET_CHANNELS] * mask, y_pred[..., :OFFSET_CHANNELS] * mask


@keras.saving.register_keras_serializable(package="adl_runner")
def l1_loss(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Mean |prediction - target| over the 4 masked offsets of each anchor (spec 11.D `l1_loss`)."""
    target, prediction = masked_offsets(y_true, y_pred)
    return ops.mean(ops.abs(prediction - target), axis=-1)


@keras.saving.register_keras_serializable(package="adl_runner")
def smooth_l1_loss(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Mean Huber loss (delta 1, i.e. smooth L1 with sigma 1, Eq. 11.4.9) over the 4 masked offsets of each
    anchor (spec 11.D `smooth_l1_loss`). The book's `Huber()(offset, pred)` returns the batch mean at
    once; the mean of these per-anchor values is that same number."""
    target, prediction = masked_offsets(y_true, y_pred)
    error = ops.abs(prediction - target)
    return ops.mean(ops.where(error <= 1.0, 0.5 * ops.square(error), error - 0.5), axis=-1)


@keras.saving.register_keras_serializable(package="adl_runner")
def focal_categorical(y_true: Tensor, y_pred: Tensor, gamma: float = 2.0, alpha: float = 0.25) -> Tensor:
    """Categorical focal loss (Eq. 11.4.12, the repo's `focal_loss_categorical`): the probabilities are
    renormalised to sum 1 and clipped to [eps, 1 - eps], then sum over classes of -y log(p) alpha (1 - p)^gamma."""
    y_pred = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    eps = keras.config.epsilon()
    y_pred = ops.clip(y_pred, eps, 1.0 - eps)
    return ops.sum(-y_true * ops.log(y_pred) * alpha * ops.power(1.0 - y_pred, gamma), axis=-1)


@keras.saving.register_keras_serializable(package="adl_runner")
def categorical_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """The book's default class loss, Keras' categorical cross-entropy on probabilities (Eq. 11.4.11)."""
    return keras.losses.categorical_crossentropy(y_true, y_pred)


def ssd_losses(improved_loss: bool = False, smooth_l1: bool = False) -> tuple[Callable, Callable]:
    """(class loss, offset loss) as the book's `train()` chooses them (spec 11.D): `--improved-loss`
    focal + smooth L1, `--smooth-l1` cross-entropy + smooth L1, else cross-entropy + L1."""
    if improved_loss:
        return focal_categorical, smooth_l1_loss
    return categorical_crossentropy, smooth_l1_loss if smooth_l1 else l1_loss
