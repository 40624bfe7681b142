"""Kind `masks`: images with a per-pixel class mask, for semantic segmentation (ch. 12).

A loader gives `MaskSplits`: uint8 images and masks as class ids (N, H, W) or one-hot (N, H, W, K)
(the book's `segmentation_train.npy`), kept as uint8 ids. Image and mask are resized together,
bilinear for the image and nearest for the mask (a class id is never averaged into another), and
flipped together. Batches are `(images, masks)`: masks one-hot float32 (B, H, W, K) for a pixel-wise
categorical cross-entropy, or int32 ids (B, H, W) with `onehot=False`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from adl_runner.data.inputs.base import INPUT_KINDS, IndexedPipeline, coin, mirrored_where, require_plain_images, scaled
from adl_runner.data.pipeline import PipelineOptions
from adl_runner.data.tensors import host_tensor
from adl_runner.kernel.errors import DataError
from adl_runner.kernel.specs import InputKindSpec


@dataclass
class MaskSplits:
    x_train: np.ndarray
    """(N, H, W, C) uint8 images."""
    masks_train: np.ndarray
    """(N, H, W) class ids or (N, H, W, K) one-hot masks."""
    x_test: np.ndarray
    masks_test: np.ndarray
    class_names: tuple[str, ...]
    """Background first: ("background", "Water", "Soda", "Juice") for the drinks dataset."""

    def limited(self, train_limit: int | None, test_limit: int | None) -> MaskSplits:
        """Only the first `train_limit` / `test_limit` images of each split (None: all)."""
        return MaskSplits(self.x_train[:train_limit], self.masks_train[:train_limit], self.x_test[:test_limit],
                          self.masks_test[:test_limit], self.class_names)


@dataclass
class MaskOptions:
    size: tuple[int, int] | None = None
    """Resize images and masks to (height, width) (None: keep the size)."""
    flip: bool = False
    """Mirror training images and masks left-right half of the time (the book does not)."""
    sampling: str = "epochs"
    """epochs: every training example once per pass, in a seeded order | replacement: each batch drawn
    uniformly with replacement (Pattanayak's Listing 6-4 generator); `base.SAMPLING`."""


def class_ids(images: np.ndarray, masks: np.ndarray, num_classes: int, split: str) -> np.ndarray:
    """(N, H, W) uint8 class ids of `masks` (ids or one-hot), checked against the images and classes."""
    masks = np.asarray(masks)
    ids = masks.argmax(axis=-1) if masks.ndim == 4 else masks
    if ids.shape != images.shape[:3]:
        raise DataError(f"masks: {split} masks of shape {masks.shape} do not match images of shape {images.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise DataError(f"masks: {split} masks hold class ids {ids.min()}..{ids.max()}, valid: 0..{num_classes - 1}")
    return ids.astype(np.uint8)


class MaskPipeline(IndexedPipeline):
    """`(images, masks)` batches of a `MaskSplits` (see the module docstring)."""

    def __init__(self, splits: MaskSplits, options: PipelineOptions, kind: MaskOptions) -> None:
        require_plain_images("masks", options)
        super().__init__(len(splits.x_train), len(splits.x_test), options, kind.sampling)
        self.num_classes = len(splits.class_names)
        h, w, c = (int(d) for d in splits.x_train.shape[1:])
        self.size = tuple(kind.size) if kind.size is not None else (h, w)
        self.input_shape = (*self.size, c)
        self.onehot, self.flip = options.onehot, kind.flip
        self._arrays = {
            split: (host_tensor(x), host_tensor(class_ids(x, getattr(splits, f"masks_{split}"), self.num_classes, split)))
            for split, x in (("train", splits.x_train), ("test", splits.x_test))
        }

    def batch(self, split: str, idx: tf.Tensor, keys: tf.Tensor | None):
        images, masks = (tf.gather(a, idx) for a in self._arrays[split])
        images = tf.image.resize(scaled(images), self.size)
        masks = tf.image.resize(masks[..., None], self.size, method="nearest")[..., 0]
        if keys is not None and self.flip:
            flip = coin(keys, 0.5)
            images, masks = mirrored_where(images, flip), mirrored_where(masks, flip)
        masks = tf.cast(masks, tf.int32)
        return images, tf.one_hot(masks, self.num_classes) if self.onehot else masks


@INPUT_KINDS.register("masks", InputKindSpec(options=MaskOptions, sources=("masks",)))
def mask_inputs(splits: MaskSplits, options: PipelineOptions, kind: MaskOptions) -> MaskPipeline:
    return MaskPipeline(splits, options, kind)
