"""The input-kind registry: how a dataset's examples become a model's (inputs, targets) in tf.data.

A kind is registered with `@INPUT_KINDS.register(name, InputKindSpec(options=<dataclass>, sources=(...)))`
on a builder `build(source, options: PipelineOptions, kind_options) -> InputPipeline`: `source` is what
the dataset loader returned (`ArraySplits`, `PairedSplits`, `BoxSplits`, ...; `sources` names which,
as `DatasetSpec.source` does for a loader), `options` the settings every kind shares (batch size,
seed, ...), `kind_options` an instance of the registered dataclass. `make_inputs` looks a kind up by
name, so a misspelt kind or kind option is one error line. A family names its kind in
`FitSpec.input_kind`, and the runner's fit task builds its pipeline here (`runner/tasks/fit.py`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Protocol

import tensorflow as tf

from adl_runner.data.pipeline import PipelineOptions, array_only_options, epoch_batches
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.ranges import check_ranges
from adl_runner.kernel.registry import Registry, did_you_mean
from adl_runner.kernel.specs import InputKindSpec

SPLITS = ("train", "test")
AUGMENT_OPTION = "flip"
SAMPLING_OPTION = "sampling"
RUNNER_SET_OPTIONS = {AUGMENT_OPTION: "dataset.augment", SAMPLING_OPTION: "dataset.sampling"}
"""Kind options the runner sets from its own dataset keys (the others come from `dataset.options`)."""
SAMPLING = ("epochs", "replacement")
"""How training batches draw examples: epochs, each pass a seeded permutation (every example once per
pass); replacement, each batch drawn uniformly with replacement (Pattanayak Listing 6-4's generator)."""


class InputPipeline(Protocol):
    """What every kind builds: the interface the training loops and evaluators read."""

    input_shape: tuple[int, ...]
    num_classes: int
    n_train: int
    n_test: int

    def steps_per_epoch(self) -> int: ...

    def train(self, initial_epoch: int, epochs: int, steps_per_epoch: int | None = None) -> tf.data.Dataset:
        """Batches of epochs [initial_epoch, epochs), a function of (seed, epoch): resumable."""
        ...

    def evaluation(self, split: str) -> tf.data.Dataset:
        """The whole `split` in order, without augmentation."""
        ...

    def test(self) -> tf.data.Dataset: ...


INPUT_KINDS: Registry[Callable[..., InputPipeline], InputKindSpec] = Registry("input kind", (InputKindSpec,))


def make_inputs(kind: str, source: Any, options: PipelineOptions, settings: Mapping[str, Any] | None = None) -> InputPipeline:
    """The pipeline of input kind `kind` over `source`, with the kind's own `settings` (a mapping of
    its options dataclass's fields)."""
    entry = INPUT_KINDS.get(kind)
    return entry.build(source, options, kind_options(kind, entry.spec.options, settings or {}))


def kind_options(kind: str, options_type: type, settings: Mapping[str, Any]) -> Any:
    """`options_type(**settings)`, or a ConfigError naming an unknown setting and the valid ones, or
    a value outside its declared range (`ranged`)."""
    valid = [f.name for f in fields(options_type)]
    for key in settings:
        if key not in valid:
            listed = ", ".join(valid) or "(none)"
            raise ConfigError(f"input kind '{kind}' has no option '{key}'{did_you_mean(key, valid)}; valid: {listed}")
    options = options_type(**settings)
    check_ranges(options, kind)
    return options


def require_plain_images(kind: str, options: PipelineOptions) -> None:
    """An IncompatibleError naming the options a kind that takes whole images in [0, 1] cannot honour."""
    bad = array_only_options(options) + (["gray_input"] if options.gray_input else [])
    if bad:
        raise IncompatibleError(f"input kind '{kind}' does not support {', '.join(bad)}")


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"unknown split '{split}'; valid: {', '.join(SPLITS)}")
    return split


class IndexedPipeline(ABC):
    """The epoch stream and evaluation order shared by kinds whose examples are rows of arrays.

    A subclass says how a batch of row indices becomes a batch (`batch`). `keys` are per-example
    stateless seeds, a function of (seed, pass, index) (with `sampling="replacement"`: of (seed,
    step, position in the batch)), for random transforms that a resumed run repeats exactly;
    evaluation passes None: no random transform.
    """

    def __init__(self, n_train: int, n_test: int, options: PipelineOptions, sampling: str = "epochs") -> None:
        if n_train < 1 or n_test < 1:
            raise IncompatibleError(f"inputs need a non-empty train and test split, got {n_train} and {n_test} examples")
        if sampling not in SAMPLING:
            raise ConfigError(f"unknown dataset.sampling '{sampling}'; valid: {', '.join(SAMPLING)}")
        self.n_train, self.n_test = n_train, n_test
        self.batch_size, self.seed, self.sampling = options.batch_size, options.seed, sampling

    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)

    def train(self, initial_epoch: int, epochs: int, steps_per_epoch: int | None = None) -> tf.data.Dataset:
        if self.sampling == "replacement":
            steps = steps_per_epoch or self.steps_per_epoch()
            stream = replacement_batches(self.n_train, self.batch_size, self.seed, initial_epoch * steps, epochs * steps)
        else:  # a key per example of every pass: [seed, pass * n + index]
            stream = epoch_batches(self.n_train, self.batch_size, self.seed, initial_epoch, epochs, steps_per_epoch).map(
                lambda passes, idx: (tf.cast(passes, tf.int64) * self.n_train + tf.cast(idx, tf.int64), idx))
        ds = stream.map(lambda unique, idx: self.batch("train", idx, self._keys(unique)), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    def evaluation(self, split: str) -> tf.data.Dataset:
        n = self.n_train if check_split(split) == "train" else self.n_test
        ds = tf.data.Dataset.range(n).batch(self.batch_size)
        ds = ds.map(lambda idx: self.batch(split, tf.cast(idx, tf.int32), None), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    def test(self) -> tf.data.Dataset:
        return self.evaluation("test")

    @abstractmethod
    def batch(self, split: str, idx: tf.Tensor, keys: tf.Tensor | None) -> Any:
        """The batch of rows `idx` of `split`, randomly transformed by per-example `keys` unless None."""

    def _keys(self, unique: tf.Tensor) -> tf.Tensor:
        # (B, 2) int64: [seed, a number distinct for every example drawn in the stream].
        return tf.stack([tf.fill(tf.shape(unique), tf.cast(self.seed, tf.int64)), unique], axis=1)


def replacement_batches(n: int, batch_size: int, seed: int, first_step: int, end_step: int) -> tf.data.Dataset:
    """Batches of steps [first_step, end_step), each `batch_size` indices drawn uniformly with
    replacement from `n` (the book's `np.random.choice(n, batch_size)` generator) by a stateless
    draw seeded by (seed, step): a resumed run draws what an uninterrupted one would. Each element is
    (a per-example number, step * batch_size + position, for augmentation keys; the indices)."""

    def draw(step: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        idx = tf.random.stateless_uniform([batch_size], seed=tf.stack([tf.cast(seed, tf.int64), step]), maxval=n,
                                          dtype=tf.int32)
        return step * batch_size + tf.range(batch_size, dtype=tf.int64), idx

    return tf.data.Dataset.range(first_step, end_step).map(draw)


def coin(keys: tf.Tensor, probability: float) -> tf.Tensor:
    """(B,) bools, True with `probability`, one per example key."""
    draws = tf.map_fn(lambda k: tf.random.stateless_uniform([], seed=k), keys, fn_output_signature=tf.float32)
    return draws < probability


def mirrored_where(x: tf.Tensor, flip: tf.Tensor) -> tf.Tensor:
    """`x` (B, H, W[, C]) with the examples where `flip` (B,) is True mirrored left-right."""
    mask = tf.reshape(flip, tf.concat([tf.shape(flip), tf.ones([tf.rank(x) - 1], tf.int32)], 0))
    return tf.where(mask, tf.reverse(x, axis=[2]), x)


def scaled(images: tf.Tensor) -> tf.Tensor:
    """uint8 images as float32 in [0, 1]."""
    return tf.cast(images, tf.float32) / 255.0
