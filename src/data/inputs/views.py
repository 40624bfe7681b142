"""Kind `views`: two views of one image, for invariant-information clustering (IIC, Listing 13.5.2).

The first view is the centre crop X (28x28 MNIST minus `crop` pixels: 24x24). The second, G(X), is
either a rotation by an angle in [-rotation, rotation) degrees or a random crop of `crop_sizes`
pixels less (centred with probability `centred`, else at a random offset), resized to X's size;
each with probability 1/2, as the book's generator draws them. Every random choice is a function
of (seed, pass, index): a resumed run sees the same second views.

Training batches are `((x, g_x), labels)`; evaluation batches `(x, labels)`: the labels are there
for matched accuracy only, the IIC loss never reads them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from adl_runner.data.inputs.base import INPUT_KINDS, IndexedPipeline, check_split, require_plain_images, scaled
from adl_runner.data.pipeline import PipelineOptions
from adl_runner.data.splits import ArraySplits
from adl_runner.data.tensors import host_tensor
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.specs import InputKindSpec


@dataclass
class ViewOptions:
    crop: int = 4
    """Pixels removed from each side length for the centre view X (the book's --crop 4: 28 -> 24)."""
    rotation: float = 20.0
    """G's rotations are uniform in [-rotation, rotation) degrees; 0: G always crops."""
    crop_sizes: tuple[int, ...] = (8, 10, 12)
    """Pixels G's random crops remove from each side length (the book's 20x20, 18x18, 16x16 patches)."""
    centred: float = 0.5
    """Probability that G's crop is centred rather than at a random offset."""
    flip: bool = False
    """G also mirrors its view left-right half of the time (not in the book's MNIST IIC)."""


class ViewPipeline(IndexedPipeline):
    """`((x, g_x), labels)` training batches and `(x, labels)` evaluation batches of an `ArraySplits`."""

    def __init__(self, splits: ArraySplits, options: PipelineOptions, views: ViewOptions) -> None:
        require_plain_images("views", options)
        h, w, c = splits.input_shape
        smallest = min(views.crop, *views.crop_sizes)
        if smallest < 0 or max(views.crop, *views.crop_sizes) >= min(h, w):
            raise ConfigError(f"views: crop and crop_sizes must be in 0..{min(h, w) - 1} pixels for {h}x{w} images, "
                              f"got {views.crop} and {list(views.crop_sizes)}")
        if views.rotation < 0 or not 0.0 <= views.centred <= 1.0:
            raise ConfigError(f"views: rotation must be >= 0 and centred in [0, 1], got {views.rotation} and {views.centred}")
        super().__init__(len(splits.x_train), len(splits.x_test), options)
        self.views = views
        self.image_shape = (h, w, c)
        self.input_shape = (h - views.crop, w - views.crop, c)
        self.num_classes = splits.num_classes
        self._arrays = {"train": (host_tensor(splits.x_train), host_tensor(splits.y_train.astype("int32"))),
                        "test": (host_tensor(splits.x_test), host_tensor(splits.y_test.astype("int32")))}

    def labels(self, split: str = "test") -> np.ndarray:
        """Integer labels of a split, in order (for matched accuracy)."""
        return self._arrays[check_split(split)][1].numpy()

    def batch(self, split: str, idx: tf.Tensor, keys: tf.Tensor | None):
        images, labels = (tf.gather(a, idx) for a in self._arrays[split])
        x = scaled(images)
        centre = tf.image.crop_to_bounding_box(x, self.views.crop // 2, self.views.crop // 2, *self.input_shape[:2])
        if keys is None:
            return centre, labels
        spec = tf.TensorSpec(self.input_shape, tf.float32)
        second = tf.map_fn(lambda args: self._transformed(*args), (x, keys), fn_output_signature=spec)
        return (centre, second), labels

    def _transformed(self, image: tf.Tensor, key: tf.Tensor) -> tf.Tensor:
        """G(image) for one (H, W, C) image, its random choices drawn from `key`."""
        v, size = self.views, self.input_shape[:2]
        k_rotate, k_angle, k_crop, k_flip = tf.unstack(tf.random.experimental.stateless_split(key, 4))
        angle = tf.random.stateless_uniform([], k_angle, -v.rotation, v.rotation) * (math.pi / 180.0)
        rotated = tf.image.resize(rotate(image, angle), size)
        cropped = tf.image.resize(random_crop(image, k_crop, v.crop_sizes, v.centred), size)
        use_rotation = (v.rotation > 0) & (tf.random.stateless_uniform([], k_rotate) < 0.5)
        view = tf.where(use_rotation, rotated, cropped)
        if v.flip:
            view = tf.where(tf.random.stateless_uniform([], k_flip) < 0.5, tf.image.flip_left_right(view), view)
        return view


def rotate(image: tf.Tensor, radians: tf.Tensor) -> tf.Tensor:
    """`image` (H, W, C) rotated about its centre, bilinear, zero fill outside."""
    h, w = tf.cast(tf.shape(image)[0], tf.float32), tf.cast(tf.shape(image)[1], tf.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    cos, sin = tf.cos(radians), tf.sin(radians)
    # The projective transform maps each output pixel to the input pixel it reads.
    transform = tf.stack([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform[None], output_shape=tf.shape(image)[:2], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT",
    )[0]


def random_crop(image: tf.Tensor, key: tf.Tensor, crop_sizes: tuple[int, ...], centred: float) -> tf.Tensor:
    """A square-cut crop of `image` that removes one of `crop_sizes` pixels from each side length,
    centred with probability `centred`, else at a random offset in [0, removed] per axis."""
    k_size, k_centre, k_offset = tf.unstack(tf.random.experimental.stateless_split(key, 3))
    sizes = tf.constant(crop_sizes, tf.int32)
    removed = sizes[tf.random.stateless_uniform([], k_size, 0, len(crop_sizes), dtype=tf.int32)]
    random_offset = tf.random.stateless_uniform([2], k_offset, 0, removed + 1, dtype=tf.int32)
    offset = tf.where(tf.random.stateless_uniform([], k_centre) < centred, tf.fill([2], removed // 2), random_offset)
    shape = tf.shape(image)
    return tf.image.crop_to_bounding_box(image, offset[0], offset[1], shape[0] - removed, shape[1] - removed)


@INPUT_KINDS.register("views", InputKindSpec(options=ViewOptions))
def view_inputs(splits: ArraySplits, options: PipelineOptions, views: ViewOptions) -> ViewPipeline:
    return ViewPipeline(splits, options, views)
