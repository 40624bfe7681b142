"""The `gaussian` dataset: MINE's bivariate normal (Listing 13.8.1), drawn, never read from files.

x and y are standard normal with correlation `rho` (the book's `--cov_xy`; both variances are 1).
Each batch is `((x, y), (x_m, y_m))`, each (n, 1): n joint samples and n samples of the product of
the marginals. The book draws its marginal pairs as x of one joint draw and y of another, which is
two independent N(0, 1) columns; they are drawn as such here. The exact mutual information,
-0.5 ln(1 - rho^2) nats, goes with the data as its `reference` `mi_true`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from adl_runner.data.inputs.synthetic import SyntheticSource
from adl_runner.data.store import DataStore
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import DATASETS
from adl_runner.kernel.specs import DatasetSpec


@dataclass
class GaussianOptions:
    """Options of the gaussian dataset."""

    rho: float = 0.5
    """Correlation of x and y, in (-1, 1) (`dataset.rho`; the book's --cov_xy, default 0.5)."""
    n_train: int = 100_000
    """Examples of one pass over the training stream (what split=train measures); every training
    step draws trainer.batch_size fresh joint and marginal samples, whatever this is."""
    n_test: int = 1_000_000
    """Held-out joint (and as many marginal) samples: the book's 1,000,000 of the histogram estimate."""

    def __post_init__(self) -> None:
        if not -1.0 < self.rho < 1.0:
            raise ConfigError(f"dataset.rho must be in (-1, 1) (a correlation; +-1 has infinite mutual information), got {self.rho}")
        if self.n_train < 1 or self.n_test < 1:
            raise ConfigError(f"dataset.n_train and dataset.n_test must be at least 1, got {self.n_train} and {self.n_test}")


def gaussian_mutual_information(rho: float) -> float:
    """I(x; y) of a bivariate normal with correlation `rho`, in nats: -0.5 ln(1 - rho^2)."""
    return -0.5 * math.log1p(-rho * rho)


def correlated_pairs(rho: float) -> Callable[[tf.Tensor, int], Any]:
    """`draw(seed, n)` of the `synthetic` input kind: n joint and n marginal (x, y) pairs."""
    scale = math.sqrt(1.0 - rho * rho)

    def draw(seed: tf.Tensor, n: int) -> tuple[tuple[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
        joint_key, marginal_key = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        z = tf.random.stateless_normal((n, 2), joint_key)
        x, y = z[:, :1], rho * z[:, :1] + scale * z[:, 1:]
        m = tf.random.stateless_normal((n, 2), marginal_key)
        return (x, y), (m[:, :1], m[:, 1:])

    return draw


@DATASETS.register("gaussian", DatasetSpec(options=GaussianOptions, source="synthetic"))
def load_gaussian(store: DataStore, opts: GaussianOptions) -> SyntheticSource:
    """Joint and marginal samples of the correlated Gaussians, with their exact mutual information."""
    return SyntheticSource(correlated_pairs(opts.rho), n_train=opts.n_train, n_test=opts.n_test, input_shape=(1,),
                           reference={"mi_true": gaussian_mutual_information(opts.rho)})
