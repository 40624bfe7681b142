"""`trainer.strategy` and `trainer.precision`: the one scope a fit-loop training job runs in.

Every model and optimizer of the job is built, compiled, loaded (resume, NaN roll-back) and
trained inside `training_scope`, so under `mirrored` each is created as a mirrored variable and
no optimizer is built outside the strategy (what keras #23085 trips on with Keras 3.15.1). The
custom steps make their updates right for either setting through `kernel.custom_step.minimize`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import keras
import tensorflow as tf

from adl_runner.kernel.errors import ConfigError
from adl_runner.runner.schema import TrainerConfig

log = logging.getLogger("runner")


def replica_devices() -> list[str]:
    """What `mirrored` replicates over: this host's GPUs, else its (logical) CPUs."""
    return [device.name for device in tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")]


def strategy_for(trainer: TrainerConfig) -> tf.distribute.Strategy:
    """The job's strategy: TensorFlow's default one (one device) for `none`, and for `mirrored` on
    a single device too, with one warning line; else a MirroredStrategy over `replica_devices`."""
    if trainer.strategy == "none":
        return tf.distribute.get_strategy()
    devices = replica_devices()
    if len(devices) == 1:
        log.warning("trainer.strategy=mirrored: one device (%s), nothing to mirror over; training on it as with "
                    "trainer.strategy=none", devices[0])
        return tf.distribute.get_strategy()
    if trainer.batch_size % len(devices):
        raise ConfigError(f"trainer.batch_size={trainer.batch_size} is the global batch of trainer.strategy=mirrored "
                          f"and must divide among its {len(devices)} replicas; use a multiple of {len(devices)}")
    # tf.distribute logs every all-reduce it sets up at INFO; the runner's log keeps its own lines.
    tf.get_logger().setLevel(logging.WARNING)
    log.info("trainer.strategy=mirrored over %d devices (%s), %d examples each per step", len(devices),
             ", ".join(devices), trainer.batch_size // len(devices))
    # CPU replicas reduce on the first device: TensorFlow's default for them, collective all-reduce,
    # fails ("Shape mismatch in the collective instance") when a second strategy in the same
    # process (the next job of a sweep, a resumed run in a test) reuses its instance keys.
    cross_device = tf.distribute.ReductionToOneDevice() if "CPU" in devices[0] else None
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=cross_device)


def training_scope(trainer: TrainerConfig) -> contextlib.AbstractContextManager[None]:
    """The strategy's scope with Keras' dtype policy set to `trainer.precision` (float32 again on
    leaving). Call it after `clear_session`, which resets the policy; a strategy the host cannot
    run is refused here, before the scope is entered."""
    return _scoped(strategy_for(trainer), trainer.precision)


@contextlib.contextmanager
def _scoped(strategy: tf.distribute.Strategy, precision: str) -> Iterator[None]:
    keras.config.set_dtype_policy(precision)
    try:
        with strategy.scope():
            yield
    finally:
        keras.config.set_dtype_policy("float32")


def float32_outputs(model: keras.Model) -> None:
    """Under a mixed policy, compute the layers that make the outputs of `model` and of every
    network inside it in float32: softmaxes, logits and the losses on them stay float32 (Keras'
    mixed-precision guide). A float32 policy leaves the model as it is; a checkpoint keeps each
    layer's policy."""
    if keras.config.dtype_policy().name == "float32":
        return
    for network in _networks(model):
        for output in getattr(network, "outputs", None) or []:
            layer = output._keras_history.operation
            if not isinstance(layer, (keras.Model, keras.layers.InputLayer)):
                layer.dtype_policy = "float32"


def _networks(model: keras.Model) -> Iterator[Any]:
    """`model` and every model nested in it (a GAN's generator and discriminator, their parts)."""
    yield model
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _networks(layer)
