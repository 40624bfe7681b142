"""What every segmentation network (FCN, U-Net, the encoder-decoder) shares: a model that trains on
`(images, masks)` batches of the `masks` input kind and turns its outputs into class ids in one
place, `mask_ids`, which the Keras metrics, the `segmentation` evaluator and task=predict all use.

Outputs are either K >= 2 softmax channels (ids: the argmax) or one channel for a binary
foreground (ids: output > `threshold`; a one-channel logit model thresholds its logits, so 0.0 is
"probability > 0.5" and 0.5 is the book's literal `logits > 0.5`). Targets may be one-hot
(B, H, W, K) or ids (B, H, W), as `dataset.labels` chooses. A network with unpadded convs
(`padding=valid`) predicts the centre of its input: its loss and metrics compare the centre of the
targets (`centre_of`), as the U-Net paper's 572 -> 388 does.

The Keras metrics `miou` and `pixel_accuracy` are the book's (`models/metrics/segmentation.py`),
computed in the graph and exact over a split: they accumulate per-image values, not per-batch
means. They are measured by `test_step` only (hence `val_miou`, the checkpoint monitor, and
`test_miou` in metrics.json); `train_step` reports the loss, so that the `segmentation` evaluator's
test-split `miou` owns the plain name in the epoch logs.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from adl_runner.kernel.custom_step import NetworkStepModel, minimize
from adl_runner.kernel.errors import ConfigError


def target_ids(targets: Any) -> Any:
    """(B, H, W) int32 class ids of mask targets: one-hot (B, H, W, K), ids (B, H, W) or (B, H, W, 1)."""
    if len(targets.shape) == 4 and targets.shape[-1] > 1:
        return ops.cast(ops.argmax(targets, axis=-1), "int32")
    return ops.cast(ops.reshape(targets, ops.shape(targets)[:3]), "int32")


def output_ids(outputs: Any, threshold: float = 0.5) -> Any:
    """(B, H, W) int32 class ids of (B, H, W, K) outputs: the argmax of K >= 2 channels, else
    1 where the one channel is above `threshold`."""
    if outputs.shape[-1] == 1:
        return ops.cast(outputs[..., 0] > threshold, "int32")
    return ops.cast(ops.argmax(outputs, axis=-1), "int32")


def centre_of(values: Any, outputs: Any) -> Any:
    """`values` (B, H, W, ...) cut to their centre of the size of `outputs` (B, h, w, ...): the targets
    (or images) a network with unpadded convs (`padding=valid`) predicts, whose output is the centre
    of its input, as `models.unet.centre_cropped` cuts its skips."""
    (height, width), (h, w) = values.shape[1:3], outputs.shape[1:3]
    if (height, width) == (h, w):
        return values
    top, left = (height - h) // 2, (width - w) // 2
    return values[:, top:top + h, left:left + w]


def predicted_ids(model: Any, outputs: Any) -> np.ndarray:
    """(B, H, W) class ids of a model's outputs through its `mask_ids` hook; a model without one
    (a plain Keras model) gets `output_ids` at 0.5."""
    hook = getattr(model, "mask_ids", None)
    return np.asarray(hook(outputs) if hook is not None else output_ids(outputs), dtype=np.int64)


def _per_image(values: Any) -> Any:
    """(B, H*W, ...) of (B, H, W, ...)."""
    shape = ops.shape(values)
    return ops.reshape(values, (shape[0], -1, *shape[3:]))


@keras.saving.register_keras_serializable(package="adl_runner")
class ImageMeanIoU(keras.metrics.Metric):
    """The book's mIoU (`metrics.segmentation.miou`) over every image seen: `update_state(true_ids,
    pred_ids)` with (B, H, W) class ids."""

    def __init__(self, num_classes: int, name: str = "miou", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.images = self.add_variable(shape=(), initializer="zeros", name="images")

    def update_state(self, true_ids: Any, pred_ids: Any, sample_weight: Any = None) -> None:
        true_hot = ops.one_hot(_per_image(true_ids), self.num_classes)
        pred_hot = ops.one_hot(_per_image(pred_ids), self.num_classes)
        intersection = ops.sum(true_hot * pred_hot, axis=1)
        present = ops.sum(true_hot, axis=1)
        union = present + ops.sum(pred_hot, axis=1) - intersection
        present = ops.cast(present > 0, "float32")
        ious = ops.sum(present * intersection / ops.maximum(union, 1.0), axis=1) / ops.sum(present, axis=1)
        self.total.assign_add(ops.sum(ious))
        self.images.assign_add(ops.cast(ops.shape(ious)[0], "float32"))

    def result(self) -> Any:
        return ops.divide_no_nan(self.total, self.images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="adl_runner")
class PixelAccuracy(keras.metrics.Metric):
    """The book's average pixel accuracy (`metrics.segmentation.pixel_accuracy`) over every image seen."""

    def __init__(self, name: str = "pixel_accuracy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.images = self.add_variable(shape=(), initializer="zeros", name="images")

    def update_state(self, true_ids: Any, pred_ids: Any, sample_weight: Any = None) -> None:
        correct = ops.mean(ops.cast(_per_image(ops.equal(true_ids, pred_ids)), "float32"), axis=1)
        self.total.assign_add(ops.sum(correct))
        self.images.assign_add(ops.cast(ops.shape(correct)[0], "float32"))

    def result(self) -> Any:
        return ops.divide_no_nan(self.total, self.images)


def categorical_crossentropy(targets: Any, outputs: Any) -> Any:
    """Pixel-wise categorical cross-entropy of softmax outputs, averaged over pixels and images (the
    book's Keras 'categorical_crossentropy' on (B, H, W, K))."""
    if len(targets.shape) == 4 and targets.shape[-1] == outputs.shape[-1]:
        return ops.mean(keras.losses.categorical_crossentropy(targets, outputs))
    return ops.mean(keras.losses.sparse_categorical_crossentropy(target_ids(targets), outputs))


def binary_crossentropy_logits(targets: Any, outputs: Any) -> Any:
    """Pixel-wise sigmoid cross-entropy of one-channel logits against the foreground (class 1)."""
    foreground = ops.cast(target_ids(targets) == 1, outputs.dtype)[..., None]
    return ops.mean(keras.losses.binary_crossentropy(foreground, outputs, from_logits=True))


LOSSES = {"categorical_crossentropy": categorical_crossentropy, "binary_crossentropy_logits": binary_crossentropy_logits}
"""Pixel losses by name: softmax outputs (FCN, U-Net), one-channel logits (Pattanayak's encoder-decoder)."""


@keras.saving.register_keras_serializable(package="adl_runner")
class SegmentationModel(NetworkStepModel):
    """A segmentation `network` (images -> per-pixel outputs), its pixel loss and `mask_ids`."""

    def __init__(self, network: keras.Model, *, loss: str = "categorical_crossentropy", threshold: float = 0.5,
                 class_names: tuple[str, ...] | list[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if loss not in LOSSES:
            raise ConfigError(f"segmentation loss {loss!r} is not one; valid: {', '.join(LOSSES)}")
        self.network = network
        self.loss_name, self.threshold = loss, float(threshold)
        self.class_names = tuple(class_names) or tuple(f"class {i}" for i in range(self.num_classes))
        self.trackers: dict[str, keras.metrics.Metric] = {
            "loss": keras.metrics.Mean(name="loss"), "miou": ImageMeanIoU(self.num_classes, name="miou"),
            "pixel_accuracy": PixelAccuracy(name="pixel_accuracy")}
        self(keras.KerasTensor(network.inputs[0].shape, name="image"))

    @property
    def num_classes(self) -> int:
        """Classes the ids take: the output channels, or 2 (background, foreground) for one channel."""
        return max(2, int(self.network.outputs[0].shape[-1]))

    def mask_ids(self, outputs: Any) -> Any:
        """(B, H, W) int32 class ids of the network's outputs (see the module docstring)."""
        return output_ids(outputs, self.threshold)

    # -- training ----------------------------------------------------------------------------------
    def train_step(self, data: Any) -> dict[str, Any]:
        images, targets = data
        with tf.GradientTape() as tape:
            outputs = self.network(images, training=True)
            loss = LOSSES[self.loss_name](centre_of(targets, outputs), outputs)
            if self.network.losses:
                loss = loss + ops.sum(self.network.losses)  # the backbone's L2 penalties
        weights = self.network.trainable_weights
        minimize(self.optimizer, tape, loss, weights)
        self.trackers["loss"].update_state(loss)
        return {"loss": self.trackers["loss"].result()}

    def test_step(self, data: Any) -> dict[str, Any]:
        images, targets = data
        outputs = self.network(images, training=False)
        targets = centre_of(targets, outputs)
        self.trackers["loss"].update_state(LOSSES[self.loss_name](targets, outputs))
        true_ids, pred_ids = target_ids(targets), self.mask_ids(outputs)
        self.trackers["miou"].update_state(true_ids, pred_ids)
        self.trackers["pixel_accuracy"].update_state(true_ids, pred_ids)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    # -- saving ------------------------------------------------------------------------------------
    def step_config(self) -> dict[str, Any]:
        return {"loss": self.loss_name, "threshold": self.threshold, "class_names": list(self.class_names)}
