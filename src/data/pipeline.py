"""tf.data pipelines over in-memory uint8 arrays: views, scaling, labels, augmentation.

`ArrayPipeline` feeds one dataset (inputs, targets); `PairPipeline` feeds two-domain models
(CycleGAN) unpaired `(source_batch, target_batch)` tuples: see its docstring for the interface.

The arrays stay uint8 in one TensorFlow copy; each batch is gathered by index, scaled to [0,1] and
reshaped to the view the model wants, so memory holds the dataset once at one byte per value.
The training stream is a function of (seed, epoch): epoch e is always the same permutation, so a
run resumed at epoch k sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from adl_runner.data.paired import paired_from
from adl_runner.data.splits import ArraySplits, PairedSplits
from adl_runner.data.tensors import host_tensor
from adl_runner.kernel.errors import ConfigError, IncompatibleError

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


def as_written(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` traced as written, without AutoGraph's source conversion: the pipeline's batch functions
    branch on Python values only (the options), so converting them buys nothing and cost a job
    seconds of start-up (every `map` converted its function and all it calls, anew per dataset)."""
    return tf.autograph.experimental.do_not_convert(fn)


def epoch_batches(
    n: int, batch_size: int, seed: int, initial_epoch: int, epochs: int, steps_per_epoch: int | None = None
) -> tf.data.Dataset:
    """Batches of (pass, index) int vectors for epochs [initial_epoch, epochs) over `n` examples.

    Pass p is the permutation seeded by (seed, p), so the stream is a function of (seed, epoch) and
    a resumed run sees what an uninterrupted one would have. The pass number lets a pipeline seed
    per-example augmentation with (seed, pass, index): random, yet also exactly resumable.
    """

    def permutation(pass_index: tf.Tensor) -> tf.data.Dataset:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n), seed=tf.stack([tf.cast(seed, tf.int64), pass_index])
        )
        return tf.data.Dataset.from_tensor_slices((tf.fill([n], pass_index), order))

    if steps_per_epoch is None:
        # One pass per epoch, the last batch possibly short, as fit on arrays does.
        return tf.data.Dataset.range(initial_epoch, epochs).flat_map(
            as_written(lambda epoch: permutation(epoch).batch(batch_size))
        )
    # A fixed number of full batches per epoch from one endless stream of permutations.
    passes = math.ceil(epochs * steps_per_epoch * batch_size / n)
    return (
        tf.data.Dataset.range(passes)
        .flat_map(as_written(permutation))
        .batch(batch_size, drop_remainder=True)
        .skip(initial_epoch * steps_per_epoch)
        .take((epochs - initial_epoch) * steps_per_epoch)
    )


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
        self._train = (host_tensor(x_train), host_tensor(y_train.astype(np.int32)))
        self._test = (host_tensor(x_test), host_tensor(y_test.astype(np.int32)))
        self._mean = (
            tf.constant(x_train.astype(np.float32).mean(axis=0) / 255.0)
            if options.subtract_pixel_mean
            else None
        )
        self._augment = _augmenter(options.seed) if options.augment else None

    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.options.batch_size)

    @property
    def pixel_mean(self) -> np.ndarray | None:
        """The training images' per-pixel mean in [0, 1] that `subtract_pixel_mean` subtracts; None
        when it is off. Training saves it with the run, so that an export subtracts the same."""
        return None if self._mean is None else self._mean.numpy()

    def use_pixel_mean(self, mean: np.ndarray) -> None:
        """Subtract `mean` from now on: the mean training subtracted (saved with its run), which
        differs from this split's own when training saw fewer images (dataset.train_limit)."""
        if self._mean is None:
            raise ConfigError("a pixel mean is given to a pipeline that subtracts none (dataset.subtract_pixel_mean=false)")
        self._mean = tf.constant(mean, tf.float32)

    def images(self, split: str, n: int) -> np.ndarray:
        """The first `n` images of `split` as stored: uint8 (n, H, W, C)."""
        return (self._train if split == "train" else self._test)[0][:n].numpy()

    def train(self, initial_epoch: int, epochs: int, steps_per_epoch: int | None = None) -> tf.data.Dataset:
        """Batches for epochs [initial_epoch, epochs): pass `fit` steps_per_epoch=steps_per_epoch
        (or `self.steps_per_epoch()`), so that Keras keeps one iterator across epochs."""
        opts = self.options
        ds = epoch_batches(self.n_train, opts.batch_size, opts.seed, initial_epoch, epochs, steps_per_epoch).map(
            as_written(lambda _, idx: self._batch(self._train, idx, split=0)), num_parallel_calls=tf.data.AUTOTUNE
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    def test(self) -> tf.data.Dataset:
        return self.evaluation("test")

    def evaluation(self, split: str) -> tf.data.Dataset:
        """The `split` ("train" or "test") in order, without augmentation, for evaluation."""
        arrays, n = (self._train, self.n_train) if split == "train" else (self._test, self.n_test)
        split_id = 0 if split == "train" else 1
        ds = tf.data.Dataset.range(n).batch(self.options.batch_size)
        ds = ds.map(as_written(lambda idx: self._batch(arrays, idx, split=split_id, augment=False)),
                    num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    def labels(self, split: str) -> np.ndarray:
        """Integer labels of a split, in order (for plots coloured by class)."""
        return (self._train if split == "train" else self._test)[1].numpy()

    def inference_inputs(self, images: np.ndarray) -> tf.Tensor | tuple[tf.Tensor, ...]:
        """A model's inputs made from uint8 images (N, H, W, C) of the dataset's shape as its
        evaluation batches are (scaled, the training pixel mean subtracted, gray for a colorizer, in
        the model's view), without the training-time noise: a denoiser's inputs are taken as given."""
        x = self._scaled(tf.constant(images))
        if self.options.gray_input:
            x = luminance(x)
        return self._model_inputs(tf.reshape(x, (-1, *self.input_shape)))

    def _scaled(self, pixels: tf.Tensor) -> tf.Tensor:
        """uint8 pixels as the model's [0, 1] floats, less the training pixel mean when subtracted."""
        x = tf.cast(pixels, tf.float32) / 255.0
        return x - self._mean if self._mean is not None else x

    def _model_inputs(self, x_in: tf.Tensor) -> tf.Tensor | tuple[tf.Tensor, ...]:
        return x_in if self.options.inputs == 1 else tuple([x_in] * self.options.inputs)

    def _batch(self, arrays: tuple[tf.Tensor, tf.Tensor], idx: tf.Tensor, split: int, augment: bool = True):
        x = self._scaled(tf.gather(arrays[0], idx))
        y = tf.gather(arrays[1], idx)
        if augment and self._augment is not None:
            x = self._augment(x, training=True)
        x_in = self._corrupt(x, idx, split)
        x, x_in = tf.reshape(x, (-1, *self.target_shape)), tf.reshape(x_in, (-1, *self.input_shape))
        inputs = self._model_inputs(x_in)
        if self.options.targets == "images":
            return inputs, x
        if self.options.targets == "none":
            return inputs
        return inputs, tf.one_hot(y, self.num_classes) if self.options.onehot else y

    def _corrupt(self, x: tf.Tensor, idx: tf.Tensor, split: int) -> tf.Tensor:
        """The model's input made from the clean image: noisy, gray, or the image itself."""
        opts = self.options
        if opts.gray_input:
            x = luminance(x)
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


_LUMA = (0.299, 0.587, 0.114)


def luminance(x: tf.Tensor) -> tf.Tensor:
    """The luminance 0.299R + 0.587G + 0.114B of RGB images (N, H, W, 3), as (N, H, W, 1)."""
    return tf.reduce_sum(x * tf.constant(_LUMA), axis=-1, keepdims=True)


def _augmenter(seed: int) -> keras.Sequential:
    # ImageDataGenerator's default fill is 'nearest'; RandomTranslation's default is 'reflect'.
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 1),
        ],
        name="augment",
    )


# -- two image domains (CycleGAN) -------------------------------------------------------------------


class PairPipeline:
    """Unpaired (source, target) batches from the two domains of a `PairedSplits`.

    The interface a two-domain model relies on (`keras.Model` with its own `train_step`):

    - `train(initial_epoch, epochs, steps_per_epoch)` / `train_steps(start_step, steps)` yield
      `(source_batch, target_batch)`: float32 in [0, 1], shapes (B, *source_shape) and
      (B, *target_shape), always full batches. Keras `fit` hands the tuple to `train_step(data)`
      as is: `source, target = data`.
    - `evaluation(split)` / `test()`: the same tuples over a split in order (the shorter domain sets
      the length), for evaluation; `images(domain, split, n)`: the first n images of one domain as
      a numpy array (the fixed test images of the book's 10x10 translation grids).

    Each domain is an endless stream of permutations drawn independently of the other: batch t of
    domain d is a function of (seed, d, t) only, so batches pair unrelated images (the book samples
    the two index sets independently) and a run resumed at step t sees what an uninterrupted run
    would have seen. Nothing is augmented; gray domains become luminance per batch, in float.
    """

    def __init__(self, paired: PairedSplits, batch_size: int, seed: int = 0) -> None:
        if batch_size < 1:
            raise ConfigError(f"the batch size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.seed = seed
        self.domains = (paired.source, paired.target)
        self.source_shape, self.target_shape = (d.image_shape for d in self.domains)
        self.input_shape = self.source_shape
        self.num_classes = 0  # two image domains: no labels reach the model
        """What a one-input consumer of this pipeline takes: the source images."""
        for d in self.domains:
            if d.gray and d.splits.input_shape[-1] != 3:
                raise IncompatibleError(f"domain '{d.name}' is gray from RGB but has {d.splits.input_shape[-1]} channel(s)")
            if len(d.splits.x_train) == 0 or len(d.splits.x_test) == 0:
                raise IncompatibleError(f"domain '{d.name}' has an empty train or test split")
        self._sizes = {
            "train": tuple(len(d.splits.x_train) for d in self.domains),
            "test": tuple(len(d.splits.x_test) for d in self.domains),
        }
        self.n_train = max(self._sizes["train"])
        """Images in the larger training domain: one epoch (`steps_per_epoch`) passes over it once."""
        self.n_test = min(self._sizes["test"])
        """Pairs in `test()`: the smaller test domain."""
        # One TensorFlow copy per distinct array: CIFAR gray -> colour shares its images.
        cache: dict[int, tf.Tensor] = {}
        self._arrays = {
            split: tuple(
                cache.setdefault(id(a), host_tensor(a))
                for a in (getattr(d.splits, f"x_{split}") for d in self.domains)
            )
            for split in ("train", "test")
        }

    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)

    def train(self, initial_epoch: int, epochs: int, steps_per_epoch: int | None = None) -> tf.data.Dataset:
        """Batches of epochs [initial_epoch, epochs) of `steps_per_epoch` steps each (default
        `self.steps_per_epoch()`); pass `fit` the same steps_per_epoch."""
        spe = steps_per_epoch or self.steps_per_epoch()
        return self.train_steps(initial_epoch * spe, (epochs - initial_epoch) * spe)

    def train_steps(self, start_step: int, steps: int) -> tf.data.Dataset:
        """The training batches of steps [start_step, start_step + steps) of the endless stream."""
        if start_step < 0 or steps < 0:
            raise ConfigError(f"training steps must be >= 0, got start {start_step} and count {steps}")
        streams = tuple(self._indices(d, start_step, steps) for d in range(2))
        ds = tf.data.Dataset.zip(streams).map(
            lambda i, j: (self._gather("train", 0, i), self._gather("train", 1, j)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    def test(self) -> tf.data.Dataset:
        return self.evaluation("test")

    def evaluation(self, split: str) -> tf.data.Dataset:
        """(source, target) batches of `split` ("train" or "test") in order, as long as the shorter."""
        n = min(self._sizes[self._split(split)])
        ds = tf.data.Dataset.range(n).batch(self.batch_size)
        ds = ds.map(lambda i: (self._gather(split, 0, i), self._gather(split, 1, i)), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    def images(self, domain: str, split: str = "test", n: int = 100) -> np.ndarray:
        """The first `n` images of `domain` ("source" or "target") in `split`, float32 in [0, 1]."""
        if domain not in ("source", "target"):
            raise ConfigError(f"unknown domain '{domain}'; valid: source, target")
        d = 0 if domain == "source" else 1
        count = min(n, self._sizes[self._split(split)][d])
        return self._gather(split, d, tf.range(count, dtype=tf.int64)).numpy()

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _split(split: str) -> str:
        if split not in ("train", "test"):
            raise ConfigError(f"unknown split '{split}'; valid: train, test")
        return split

    def _indices(self, domain: int, start_step: int, steps: int) -> tf.data.Dataset:
        """Index batches [start_step, start_step + steps) of `domain`'s endless permutation stream."""
        n, bs = self._sizes["train"][domain], self.batch_size
        start, end = start_step * bs, (start_step + steps) * bs
        # seed*2 + domain: one stream per (seed, domain), never shared between the two domains.
        stream_seed = tf.constant(self.seed * 2 + domain, tf.int64)

        def permutation(pass_index: tf.Tensor) -> tf.data.Dataset:
            order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=tf.stack([stream_seed, pass_index]))
            return tf.data.Dataset.from_tensor_slices(order)

        # Start at the pass holding example `start` instead of skipping whole passes: resuming at
        # step 90,000 costs one partial permutation, not 90,000 batches of index work.
        first_pass, offset = divmod(start, n)
        last_pass = max(first_pass + 1, math.ceil(end / n))
        return (
            tf.data.Dataset.range(first_pass, last_pass)
            .flat_map(permutation)
            .skip(offset)
            .batch(bs, drop_remainder=True)
            .take(steps)
        )

    def _gather(self, split: str, domain: int, idx: tf.Tensor) -> tf.Tensor:
        x = tf.cast(tf.gather(self._arrays[split][domain], idx), tf.float32) / 255.0
        return luminance(x) if self.domains[domain].gray else x


def array_only_options(options: PipelineOptions) -> list[str]:
    """The options set in `options` that only `ArrayPipeline` implements: a view other than image, several
    inputs, its augmentation, pixel-mean subtraction, input noise. Other kinds refuse them by name."""
    unsupported = {
        f"view={options.view}": options.view != "image",
        f"inputs={options.inputs}": options.inputs != 1,
        "augment": options.augment,
        "subtract_pixel_mean": options.subtract_pixel_mean,
        f"sigma={options.noise_sigma}": options.noise_sigma is not None,
    }
    return [name for name, on in unsupported.items() if on]


def pair_pipeline(
    splits: ArraySplits | PairedSplits,
    options: PipelineOptions,
    dataset_name: str,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> PairPipeline:
    """The `PairPipeline` of a two-domain model, from a loader's output and the usual options.

    `options.gray_input` turns one RGB dataset into gray -> colour domains (dataset=cifar10_gray2rgb);
    options that have no meaning for unpaired translation (a view other than image, two inputs,
    augmentation, pixel-mean subtraction, input noise) are refused rather than silently ignored.
    """
    bad = array_only_options(options)
    if bad:
        raise IncompatibleError(f"dataset '{dataset_name}': two-domain batches do not support {', '.join(bad)}")
    paired = paired_from(splits, options.gray_input, dataset_name).limited(train_limit, test_limit)
    return PairPipeline(paired, options.batch_size, options.seed)
