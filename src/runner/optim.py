"""Optimizers by name, with typed options and the book's Keras-2 `decay` mapped explicitly.

Keras 3 silently ignores `decay=`; Keras 2 applied lr / (1 + decay * step), which is exactly
InverseTimeDecay(lr, decay_steps=1, decay_rate=decay), so that is what `decay > 0` builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras

from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import Registry
from adl_runner.kernel.specs import OptimizerSpec

OPTIMIZERS: Registry[Any, OptimizerSpec] = Registry("optimizer", (OptimizerSpec,))


@dataclass
class AdamOptions:
    learning_rate: float = ranged(1e-3, above=0)
    """Initial learning rate."""
    beta_1: float = ranged(0.9, at_least=0, below=1)
    """Decay of the first-moment estimate."""
    beta_2: float = ranged(0.999, at_least=0, below=1)
    """Decay of the second-moment estimate."""
    epsilon: float = ranged(1e-7, above=0)
    """Numerical stabiliser."""
    decay: float = ranged(0.0, at_least=0)
    """Keras-2 style time decay: lr / (1 + decay * step)."""


@dataclass
class SGDOptions:
    learning_rate: float = ranged(0.01, above=0)
    """Learning rate."""
    momentum: float = ranged(0.0, at_least=0, at_most=1)
    """Momentum (0: plain SGD, the book's default)."""
    nesterov: bool = False
    """Nesterov momentum."""
    decay: float = ranged(0.0, at_least=0)
    """Keras-2 style time decay: lr / (1 + decay * step)."""


@dataclass
class RMSpropOptions:
    learning_rate: float = ranged(1e-3, above=0)
    """Learning rate."""
    rho: float = ranged(0.9, at_least=0, below=1)
    """Decay of the squared-gradient average."""
    momentum: float = ranged(0.0, at_least=0, at_most=1)
    """Momentum."""
    epsilon: float = ranged(1e-7, above=0)
    """Numerical stabiliser."""
    decay: float = ranged(0.0, at_least=0)
    """Keras-2 style time decay: lr / (1 + decay * step)."""


def _learning_rate(opts: Any) -> Any:
    if opts.decay > 0:
        return keras.optimizers.schedules.InverseTimeDecay(opts.learning_rate, decay_steps=1, decay_rate=opts.decay)
    return opts.learning_rate


@OPTIMIZERS.register("adam", OptimizerSpec(options=AdamOptions))
def adam(opts: AdamOptions) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(_learning_rate(opts), beta_1=opts.beta_1, beta_2=opts.beta_2, epsilon=opts.epsilon)


@OPTIMIZERS.register("sgd", OptimizerSpec(options=SGDOptions))
def sgd(opts: SGDOptions) -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(_learning_rate(opts), momentum=opts.momentum, nesterov=opts.nesterov)


@OPTIMIZERS.register("rmsprop", OptimizerSpec(options=RMSpropOptions))
def rmsprop(opts: RMSpropOptions) -> keras.optimizers.Optimizer:
    return keras.optimizers.RMSprop(_learning_rate(opts), rho=opts.rho, momentum=opts.momentum, epsilon=opts.epsilon)
