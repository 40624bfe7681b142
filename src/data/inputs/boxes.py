"""Kind `boxes`: images with a variable number of labelled boxes each, for object detection (ch. 11).

A loader gives `BoxSplits`: uint8 images and, per image, a (k, 5) array of the book's label rows
`xmin, xmax, ymin, ymax, class` (pixels, minmax order as in `labels_train.csv`; class 0 is the
background and never a box). Batches are `(images, {"boxes": (B, M, 4), "classes": (B, M)})`:
every image's boxes padded to M = `max_boxes` rows, padding rows with class -1 and zero boxes, so
the batch has one static shape; a detector's target assignment keeps the rows with class >= 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from adl_runner.data.inputs.base import INPUT_KINDS, IndexedPipeline, coin, mirrored_where, require_plain_images
from adl_runner.data.pipeline import PipelineOptions
from adl_runner.data.tensors import host_tensor
from adl_runner.kernel.errors import ConfigError, DataError
from adl_runner.kernel.specs import InputKindSpec

PAD_CLASS = -1
"""The class of a padding row: not a box (0 is the background class, a real anchor target)."""


@dataclass
class BoxSplits:
    x_train: np.ndarray
    """(N, H, W, C) uint8 images."""
    boxes_train: Sequence[np.ndarray]
    """Per training image, a (k, 5) array: xmin, xmax, ymin, ymax in pixels, class id >= 1."""
    x_test: np.ndarray
    boxes_test: Sequence[np.ndarray]
    class_names: tuple[str, ...]
    """Background first: ("background", "Water", "Soda", "Juice") for the drinks dataset."""
    groups: np.ndarray | None = None
    """Per training example, the photo it was cut from (object crops: several per photo), so that
    `dataset.validation` holds out whole photos (`splits.held_out`); None: every example its own."""

    def limited(self, train_limit: int | None, test_limit: int | None) -> BoxSplits:
        """Only the first `train_limit` / `test_limit` images of each split (None: all)."""
        return BoxSplits(self.x_train[:train_limit], list(self.boxes_train)[:train_limit], self.x_test[:test_limit],
                         list(self.boxes_test)[:test_limit], self.class_names,
                         None if self.groups is None else self.groups[:train_limit])


@dataclass
class BoxOptions:
    max_boxes: int | None = None
    """Rows per image in a batch (None: the most boxes any image has)."""
    size: tuple[int, int] | None = None
    """Resize images to (height, width), boxes scaled with them (None: keep the size)."""
    flip: bool = False
    """Mirror training images left-right half of the time, boxes with them (the book does not)."""


def padded_boxes(per_image: Sequence[np.ndarray], max_boxes: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, max_boxes, 4) float32 boxes and (N, max_boxes) int32 classes, padded with `PAD_CLASS` rows."""
    boxes = np.zeros((len(per_image), max_boxes, 4), np.float32)
    classes = np.full((len(per_image), max_boxes), PAD_CLASS, np.int32)
    for i, rows in enumerate(per_image):
        rows = np.asarray(rows, np.float32).reshape(-1, 5) if np.size(rows) else np.zeros((0, 5), np.float32)
        if len(rows) > max_boxes:
            raise ConfigError(f"boxes: {split} image {i} has {len(rows)} boxes, more than max_boxes={max_boxes}")
        if (rows[:, 4] < 1).any():
            raise DataError(f"boxes: {split} image {i} has a box of class < 1 (0 is the background)")
        boxes[i, : len(rows)], classes[i, : len(rows)] = rows[:, :4], rows[:, 4]
    return boxes, classes


class BoxPipeline(IndexedPipeline):
    """`(images, {"boxes", "classes"})` batches of a `BoxSplits` (see the module docstring)."""

    def __init__(self, splits: BoxSplits, options: PipelineOptions, kind: BoxOptions) -> None:
        require_plain_images("boxes", options)
        for split in ("train", "test"):
            if len(getattr(splits, f"x_{split}")) != len(getattr(splits, f"boxes_{split}")):
                raise DataError(f"boxes: the {split} split has {len(getattr(splits, f'x_{split}'))} images but "
                                f"{len(getattr(splits, f'boxes_{split}'))} box lists")
        super().__init__(len(splits.x_train), len(splits.x_test), options)
        most = max(len(np.reshape(b, (-1, 5))) for b in (*splits.boxes_train, *splits.boxes_test))
        max_boxes = most if kind.max_boxes is None else kind.max_boxes
        if max_boxes < 1:
            raise ConfigError(f"boxes: max_boxes must be >= 1, got {max_boxes}")
        h, w, c = (int(d) for d in splits.x_train.shape[1:])
        self.size = tuple(kind.size) if kind.size is not None else (h, w)
        self.input_shape = (*self.size, c)
        self.num_classes = len(splits.class_names)
        self.max_boxes, self.flip = max_boxes, kind.flip
        # Scales boxes from the stored (xmin, xmax, ymin, ymax) pixels to the resized image.
        self._scale = tf.constant([self.size[1] / w] * 2 + [self.size[0] / h] * 2, tf.float32)
        self._resized = self.size != (h, w)
        self._arrays = {
            split: (host_tensor(getattr(splits, f"x_{split}")),
                    *map(host_tensor, padded_boxes(getattr(splits, f"boxes_{split}"), max_boxes, split)))
            for split in ("train", "test")
        }

    def batch(self, split: str, idx: tf.Tensor, keys: tf.Tensor | None):
        stored, boxes, classes = self._arrays[split]
        images = scaled_rows(stored, idx, tf.constant(PIXEL_MAX))  # made in the input graph, on its device
        boxes, classes = tf.gather(boxes, idx), tf.gather(classes, idx)
        if self._resized:  # the stored size is usually the model's already (the loader resized once)
            images = tf.image.resize(images, self.size)
            boxes = boxes * self._scale
        if keys is not None and self.flip:
            images, boxes = flipped(images, boxes, classes, coin(keys, 0.5), self.size[1])
        return images, {"boxes": boxes, "classes": classes}


PIXEL_MAX = 255.0


@tf.function(jit_compile=True, reduce_retracing=True)
def scaled_rows(images: tf.Tensor, idx: tf.Tensor, pixel_max: tf.Tensor) -> tf.Tensor:
    """`base.scaled(tf.gather(images, idx))`, bit for bit, fused by XLA into one pass (gather, cast,
    divide): the uint8-to-float conversion of four 480x640 images was most of a batch's time, and this
    takes about half the CPU time of the three ops one after another. `pixel_max` (255) is an argument,
    not a constant, so that XLA divides as `scaled` does rather than multiply by the rounded reciprocal
    (which differs in the last bit for 126 of the 256 pixel values)."""
    return tf.cast(tf.gather(images, idx), tf.float32) / pixel_max


def flipped(images: tf.Tensor, boxes: tf.Tensor, classes: tf.Tensor, flip: tf.Tensor, width: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Images and their boxes mirrored left-right where `flip` (B,) is True; padding rows stay zero."""
    xmin, xmax, ymin, ymax = tf.unstack(boxes, axis=-1)
    mirrored = tf.stack([width - xmax, width - xmin, ymin, ymax], axis=-1)
    chosen = flip[:, None] & (classes >= 0)
    return mirrored_where(images, flip), tf.where(chosen[..., None], mirrored, boxes)


@INPUT_KINDS.register("boxes", InputKindSpec(options=BoxOptions, sources=("boxes",)))
def box_inputs(splits: BoxSplits, options: PipelineOptions, kind: BoxOptions) -> BoxPipeline:
    return BoxPipeline(splits, options, kind)
