"""Kind `synthetic`: batches drawn from a distribution rather than read from arrays (MINE's
correlated Gaussians, ch. 13).

A `SyntheticSource` names a stateless `draw(seed, n)` that returns one batch of n examples, as
the model takes them, from a (2,) int64 seed. Training batch t is drawn with the seed (2 * seed, t)
and evaluation batch b of the test split with (2 * seed + 1, b): two streams that never share a
draw, each a function of the step, so a resumed run sees the batches an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import tensorflow as tf

from adl_runner.data.inputs.base import INPUT_KINDS, check_split
from adl_runner.data.pipeline import PipelineOptions
from adl_runner.data.splits import NoOptions
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.specs import InputKindSpec


@dataclass(frozen=True)
class SyntheticSource:
    draw: Callable[[tf.Tensor, int], Any]
    """`draw(seed, n)`: n examples from a (2,) int64 stateless seed, in TensorFlow ops."""
    n_train: int
    """Examples per training epoch."""
    n_test: int
    """Examples of the test split."""
    input_shape: tuple[int, ...]
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    """Names of the classes, where examples have any (the runner reads them from every source)."""
    reference: dict[str, float] = field(default_factory=dict)
    """Exact values the distribution fixes, reported beside a model's estimates of them (the
    Gaussians' `mi_true`); evaluators read them through `DataView.reference()`."""

    def limited(self, train_limit: int | None, test_limit: int | None) -> SyntheticSource:
        """At most `train_limit` / `test_limit` examples per epoch and test split (None: as drawn)."""
        return replace(self, n_train=min(self.n_train, train_limit or self.n_train),
                       n_test=min(self.n_test, test_limit or self.n_test))


class SyntheticPipeline:
    """Batches of `source.draw`, a function of (seed, split, step)."""

    def __init__(self, source: SyntheticSource, options: PipelineOptions) -> None:
        if source.n_train < 1 or source.n_test < 1:
            raise ConfigError(f"synthetic inputs need >= 1 train and test examples, got {source.n_train} and {source.n_test}")
        self.source, self.batch_size, self.seed = source, options.batch_size, options.seed
        self.input_shape, self.num_classes = source.input_shape, source.num_classes
        self.n_train, self.n_test = source.n_train, source.n_test
        self.reference = dict(source.reference)

    def steps_per_epoch(self) -> int:
        return math.ceil(self.n_train / self.batch_size)

    def train(self, initial_epoch: int, epochs: int, steps_per_epoch: int | None = None) -> tf.data.Dataset:
        spe = steps_per_epoch or self.steps_per_epoch()
        return self._draws(0, initial_epoch * spe, epochs * spe)

    def evaluation(self, split: str) -> tf.data.Dataset:
        stream = 0 if check_split(split) == "train" else 1
        return self._draws(stream, 0, math.ceil((self.n_train if stream == 0 else self.n_test) / self.batch_size))

    def test(self) -> tf.data.Dataset:
        return self.evaluation("test")

    def _draws(self, stream: int, start: int, end: int) -> tf.data.Dataset:
        seed = tf.constant(2 * self.seed + stream, tf.int64)
        ds = tf.data.Dataset.range(start, end).map(lambda step: self.source.draw(tf.stack([seed, step]), self.batch_size))
        return ds.prefetch(tf.data.AUTOTUNE)


@INPUT_KINDS.register("synthetic", InputKindSpec(options=NoOptions, sources=("synthetic",)))
def synthetic_inputs(source: SyntheticSource, options: PipelineOptions, _: NoOptions) -> SyntheticPipeline:
    return SyntheticPipeline(source, options)
