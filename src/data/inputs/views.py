"""Kind `views`: two views of one image, for invariant-information clustering (IIC, Listing 13.5.2).

The first view is the centre crop X (28x28 MNIST minus `crop` pixels: 24x24). The second, G(X), is
a rotation of the whole image by a whole number of degrees in [-rotation, rotation) (with probability
`rotation_share`), else a random crop of one of `crop_sizes` pixels less (centred with probability
`centred`, else at a random offset), resized to X's size, as the book's `DataGenerator` draws them.
Every random choice is a function of (seed, pass, index): a resumed run sees the same second views.
The runner sets these options from `dataset.options.<name>` (`flip` from `dataset.augment`).

Training batches are `((x, g_x), labels)`, full ones only (the book's generator has floor(n / batch)
per epoch: a short last batch would estimate the joint matrix from fewer pairs); evaluation batches
`(x, labels)`: the labels are there for matched accuracy only, the IIC loss never reads them.
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
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.specs import InputKindSpec


@dataclass
class ViewOptions:
    """The book's pair generator (data_generator.py): X a 24x24 centre crop; G(X) a +-20 degree
    rotation or a 20/18/16-pixel crop, 50/50, the crop centred half of the time."""

    crop: int = ranged(4, at_least=0)
    """Pixels removed from each side length for the centre view X (the book's --crop 4: 28 -> 24);
    fewer than the image's side."""
    rotation: float = ranged(20.0, at_least=0, at_most=180)
    """G's rotations are whole degrees in [-rotation, rotation) (the book's randint(-20, 20));
    0: the whole image unrotated, resized."""
    crop_sizes: list[int] = ranged(default_factory=lambda: [8, 10, 12], at_least=0, nonempty=True)
    """Pixels G's random crops remove from each side length, one drawn per view (the book's
    [8, 10, 12], 2 * crop + 0/2/4: 20x20, 18x18 and 16x16 patches of a 28x28 digit)."""
    centred: float = ranged(0.5, at_least=0, at_most=1)
    """Probability that G's crop is centred rather than at a random offset."""
    rotation_share: float = ranged(0.5, at_least=0, at_most=1)
    """Probability that G rotates rather than crops (the book's 50/50); 0: always crops."""
    flip: bool = False
    """G also mirrors its view left-right half of the time (not in the book's MNIST IIC); the
    runner sets it from `dataset.augment`."""


class ViewPipeline(IndexedPipeline):
    """`((x, g_x), labels)` training batches and `(x, labels)` evaluation batches of an `ArraySplits`."""

    def __init__(self, splits: ArraySplits, options: PipelineOptions, views: ViewOptions) -> None:
        require_plain_images("views", options)
        h, w, c = splits.input_shape
        if max(views.crop, *views.crop_sizes) >= min(h, w):
            raise ConfigError(f"views: crop and crop_sizes must be in 0..{min(h, w) - 1} pixels for {h}x{w} images, "
                              f"got {views.crop} and {list(views.crop_sizes)} (dataset.options.crop, crop_sizes)")
        super().__init__(len(splits.x_train), len(splits.x_test), options)
        self.views = views
        self.image_shape = (h, w, c)
        self.input_shape = (h - views.crop, w - views.crop, c)
        self.num_classes = splits.num_classes
        self._arrays = {"train": (host_tensor(splits.x_train), host_tensor(splits.y_train.astype("int32"))),
                        "test": (host_tensor(splits.x_test), host_tensor(splits.y_test.astype("int32")))}

    def steps_per_epoch(self) -> int:
        """Full batches per pass (at least one)."""
        return max(1, self.n_train // self.batch_size)

    def train(self, initial_epoch: int, epochs: int, steps_per_epoch: int | None = None) -> tf.data.Dataset:
        """Full batches only: `steps_per_epoch` of them (default: the full batches of one pass)."""
        return super().train(initial_epoch, epochs, steps_per_epoch or self.steps_per_epoch())

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
        rotated = tf.image.resize(rotate(image, rotation_degrees(k_angle, v.rotation) * (math.pi / 180.0)), size)
        cropped = tf.image.resize(random_crop(image, k_crop, v.crop_sizes, v.centred), size)
        use_rotation = tf.random.stateless_uniform([], k_rotate) < v.rotation_share
        view = tf.where(use_rotation, rotated, cropped)
        if v.flip:
            view = tf.where(tf.random.stateless_uniform([], k_flip) < 0.5, tf.image.flip_left_right(view), view)
        return view


def rotation_degrees(key: tf.Tensor, rotation: float) -> tf.Tensor:
    """A whole number of degrees, uniform in [-rotation, rotation) (for an integer `rotation`)."""
    return tf.floor(tf.random.stateless_uniform([], key, -rotation, rotation))


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


def random_crop(image: tf.Tensor, key: tf.Tensor, crop_sizes: list[int], centred: float) -> tf.Tensor:
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
