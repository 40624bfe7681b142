"""tf.data pipelines over in-memory uint8 arrays: views, scaling, labels, augmentation.

The arrays stay uint8 in one TensorFlow copy; each batch is gathered by index, scaled to [0,1] and
reshaped to the view the model wants, so memory holds the dataset once at one byte per value.
The training stream is a function of (seed, epoch): epoch e is always the same permutation, so a
run resumed at epoch k sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from runner.errors import ConfigError, IncompatibleError

VIEWS = ("flat", "image", "sequence")
TARGETS = ("labels", "images", "none")


@dataclass(frozen=True)
class PipelineOptions:
    view: str
    """flat (H*W*C,), image (H,W,C) or sequence (H, W*C): the shape the model takes."""
    inputs: int = 1
    """How many copies of the image the model takes (the Y-network takes two)."""
    onehot: bool = True
    """One-hot labels (categorical_crossentropy) or integer labels (sparse)."""
    targets: str = "labels"
    """What a batch pairs its inputs with: labels (classifiers), images (the input itself, for
    reconstruction) or none (models whose own train_step computes their losses)."""
    batch_size: int = 128
    augment: bool = False
    """Random horizontal flip and +-10% shifts, nearest fill (the book's ImageDataGenerator)."""
    subtract_pixel_mean: bool = False
    """Subtract the training set's per-pixel mean from every image."""
    noise_sigma: float | None = None
    """Inputs get N(noise_mean, noise_sigma) noise clipped to [0,1], targets stay clean (denoising)."""
    noise_mean: float = 0.5
    noise_seed: int = 1337
    """The noise of an example is a function of (seed, split, index): fixed across epochs and runs,
    as the book's once-drawn noise arrays were."""
    gray_input: bool = False
    """Inputs are the luminance 0.299R + 0.587G + 0.114B of the RGB targets (colorization)."""
    seed: int = 0


def view_shape(image_shape: tuple[int, int, int], view: str) -> tuple[int, ...]:
    """The per-example input shape of `view` for images of `image_shape` (H, W, C)."""
    h, w, c = image_shape
    shapes = {"flat": (h * w * c,), "image": (h, w, c), "sequence": (h, w * c)}
    if view not in shapes:
        raise ConfigError(f"unknown input view '{view}'; valid: {', '.join(VIEWS)}")
    return shapes[view]


class ArrayPipeline:
    """Builds the train and test `tf.data.Dataset`s of one split pair."""

    def __init__(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        y_test: np.ndarray,
        num_classes: int,
        options: PipelineOptions,
    ) -> None:
        self.options = options
        self.num_classes = num_classes
        self.image_shape = tuple(int(d) for d in x_train.shape[1:])
        if options.gray_input and self.image_shape[-1] != 3:
            raise IncompatibleError(f"gray-to-colour inputs need RGB images, these have {self.image_shape[-1]} channel(s)")
        if options.noise_sigma is not None and options.noise_sigma < 0:
            raise ConfigError(f"the noise sigma must be >= 0, got {options.noise_sigma}")
        h, w, c = self.image_shape
        self.target_shape = view_shape((h, w, c), options.view)
        self.input_shape = view_shape((h, w, 1 if options.gray_input else c), options.view)
        self.n_train = len(x_train)
        self.n_test = len(x_test)
        self._train = (tf.constant(x_train), tf.constant(y_train.astype(np.int32)))
        self._test = (tf.constant(x_test), tf.constant(y_test.astype(np.int32)))
        self._mean = (
            tf.constant(x_train.astype(np.float32).mean(axis=0) / 255.0)
            if options.subtract_pixel_mean
            else None
        )
        self._augment = _augmenter(options.seed) if options.augment else None

    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.options.batch_size)

    def train(self, initial_epoch: int, epochs: int, steps_per_epoch: int | None = None) -> tf.data.Dataset:
        """Batches for epochs [initial_epoch, epochs): pass `fit` steps_per_epoch=steps_per_epoch
        (or `self.steps_per_epoch()`), so that Keras keeps one iterator across epochs."""
        bs, n, seed = self.options.batch_size, self.n_train, self.options.seed

        def permutation(epoch: tf.Tensor) -> tf.data.Dataset:
            order = tf.random.experimental.stateless_shuffle(
                tf.range(n), seed=tf.stack([tf.cast(seed, tf.int64), epoch])
            )
            return tf.data.Dataset.from_tensor_slices(order)

        if steps_per_epoch is None:
            # One pass per epoch, the last batch possibly short, as fit on arrays does.
            indices = tf.data.Dataset.range(initial_epoch, epochs).flat_map(
                lambda epoch: permutation(epoch).batch(bs)
            )
        else:
            # A fixed number of full batches per epoch from one endless stream of permutations.
            passes = math.ceil(epochs * steps_per_epoch * bs / n)
            indices = (
                tf.data.Dataset.range(passes)
                .flat_map(permutation)
                .batch(bs, drop_remainder=True)
                .skip(initial_epoch * steps_per_epoch)
                .take((epochs - initial_epoch) * steps_per_epoch)
            )
        ds = indices.map(
            lambda idx: self._batch(self._train, idx, split=0), num_parallel_calls=tf.data.AUTOTUNE
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    def test(self) -> tf.data.Dataset:
        return self.evaluation("test")

    def evaluation(self, split: str) -> tf.data.Dataset:
        """The `split` ("train" or "test") in order, without augmentation, for evaluation."""
        arrays, n = (self._train, self.n_train) if split == "train" else (self._test, self.n_test)
        split_id = 0 if split == "train" else 1
        ds = tf.data.Dataset.range(n).batch(self.options.batch_size)
        ds = ds.map(lambda idx: self._batch(arrays, idx, split=split_id, augment=False), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    def labels(self, split: str) -> np.ndarray:
        """Integer labels of a split, in order (for plots coloured by class)."""
        return (self._train if split == "train" else self._test)[1].numpy()

    def _batch(self, arrays: tuple[tf.Tensor, tf.Tensor], idx: tf.Tensor, split: int, augment: bool = True):
        x = tf.cast(tf.gather(arrays[0], idx), tf.float32) / 255.0
        y = tf.gather(arrays[1], idx)
        if self._mean is not None:
            x = x - self._mean
        if augment and self._augment is not None:
            x = self._augment(x, training=True)
        x_in = self._corrupt(x, idx, split)
        x, x_in = tf.reshape(x, (-1, *self.target_shape)), tf.reshape(x_in, (-1, *self.input_shape))
        inputs = x_in if self.options.inputs == 1 else tuple([x_in] * self.options.inputs)
        if self.options.targets == "images":
            return inputs, x
        if self.options.targets == "none":
            return inputs
        return inputs, tf.one_hot(y, self.num_classes) if self.options.onehot else y

    def _corrupt(self, x: tf.Tensor, idx: tf.Tensor, split: int) -> tf.Tensor:
        """The model's input made from the clean image: noisy, gray, or the image itself."""
        opts = self.options
        if opts.gray_input:
            x = tf.reduce_sum(x * tf.constant([0.299, 0.587, 0.114]), axis=-1, keepdims=True)
        if opts.noise_sigma is not None:
            shape = tf.shape(x)[1:]
            noise = tf.map_fn(
                lambda i: tf.random.stateless_normal(
                    shape, seed=tf.stack([tf.constant(opts.noise_seed * 2 + split, tf.int64), i]),
                    mean=opts.noise_mean, stddev=opts.noise_sigma,
                ),
                tf.cast(idx, tf.int64),
                fn_output_signature=tf.float32,
            )
            x = tf.clip_by_value(x + noise, 0.0, 1.0)
        return x


def _augmenter(seed: int) -> keras.Sequential:
    # ImageDataGenerator's default fill is 'nearest'; RandomTranslation's default is 'reflect'.
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 1),
        ],
        name="augment",
    )
