"""Models that write their own `train_step`, and the optimizers it applies.

A plain Keras model trains with its one `model.optimizer` at the configured learning rate. A model
with its own step may apply several (a GAN's D and G, CycleGAN's three) at rates relative to the
configured one (the book runs G at half D's rate). The runner's learning-rate control (step
schedule, plateau reduction, NaN roll-back) sets every optimizer that `scaled_optimizers` lists,
at its scale x the scheduled rate, so that those ratios hold all through training.
`scaled_optimizer` builds one optimizer from another at such a scale (GANs, the policy-gradient
value network).

A step applies each optimizer with `minimize`, which makes the same step right under
`trainer.strategy=mirrored` (one replica's loss is a share of the global batch's) and
`trainer.precision=mixed_float16` (the loss is scaled); an optimizer a model creates itself,
besides the compiled `optimizer`, goes through `loss_scaled` (Keras wraps only that one).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from adl_runner.kernel.errors import ConfigError

ScaledOptimizers = dict[str, tuple[keras.optimizers.Optimizer, float]]
"""Optimizers by name, each with its learning rate relative to the configured one."""


class CustomStepModel(keras.Model):
    """Base of every model with its own `train_step` (GANs, VAEs; SSD, IIC and MINE to come)."""

    def scaled_optimizers(self) -> ScaledOptimizers:
        """Every optimizer the step applies, by name, with its learning rate relative to the
        configured one (`optimizer.learning_rate`). A model with several overrides this; the
        default is the model's one `optimizer` at the configured rate."""
        return {"optimizer": (self.optimizer, 1.0)}


class NetworkStepModel(CustomStepModel):
    """A custom-step model around one functional `network` (images -> outputs) that holds all its
    weights (SSD, the segmentation models, the localiser): nothing to build, its inputs and call are
    the network's, and its metrics are the `trackers` its step updates."""

    network: keras.Model
    trackers: dict[str, keras.metrics.Metric]

    def build(self, input_shape: Any = None) -> None:
        """Nothing to create: the weights live in the network."""

    @property
    def inputs(self) -> list[keras.KerasTensor]:
        return self.network.inputs

    def call(self, images: Any, training: bool = False) -> Any:
        return self.network(images, training=training)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def step_config(self) -> dict[str, Any]:
        """The keyword arguments of the subclass's `__init__` besides the network (what a checkpoint keeps)."""
        return {}

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "network": keras.saving.serialize_keras_object(self.network), **self.step_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        config = dict(config)
        network = keras.saving.deserialize_keras_object(config.pop("network"), custom_objects=custom_objects)
        return cls(network, **config)


def scaled_optimizers(model: keras.Model) -> ScaledOptimizers:
    """The optimizers of `model` with their scales: a plain Keras model's one `optimizer` at 1.

    Raises `ConfigError` when the model holds an optimizer the list leaves out: the runner could
    not set its rate, and that optimizer would silently keep the rate it was compiled with.
    """
    listed = model.scaled_optimizers() if isinstance(model, CustomStepModel) else {"optimizer": (model.optimizer, 1.0)}
    known = {id(optimizer) for optimizer, _ in listed.values()}
    unlisted = sorted(key for key, value in vars(model).items()
                      if isinstance(value, keras.optimizers.Optimizer) and id(value) not in known)
    if unlisted:
        raise ConfigError(
            f"trainer.lr_schedule, trainer.plateau and trainer.nan_policy=recover cannot set the learning rate of "
            f"{model.name}'s {', '.join(unlisted)}, which its scaled_optimizers() does not list; "
            f"train {model.name} without them"
        )
    # A loss-scaling wrapper (mixed_float16) delegates its rate to the optimizer inside, whose
    # rate variable or schedule is what the runner reads and sets.
    return {key: (unscaled(optimizer), scale) for key, (optimizer, scale) in listed.items()}


def unscaled(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The optimizer inside a `LossScaleOptimizer`, or `optimizer` itself."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def loss_scaled(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """`optimizer` in a `LossScaleOptimizer` under the mixed_float16 dtype policy (float16 gradients
    underflow without it), as Keras' `compile` wraps a model's own `optimizer`; else as it is."""
    if keras.config.dtype_policy().name == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def minimize(optimizer: keras.optimizers.Optimizer, tape: tf.GradientTape, loss: Any, variables: list[Any]) -> None:
    """Apply `optimizer` to `variables` with the gradients of `loss`, recorded by `tape`: the one
    update of every custom step.

    Under a distribution strategy each replica computes `loss` on its share of the global batch
    and the replicas' gradients are summed, so the backward pass is seeded with 1 / replicas (what
    Keras' own `train_step` does): the update is the global batch's mean gradient, as on one
    device. A `LossScaleOptimizer` multiplies that seed by its loss scale and divides the
    gradients back in `apply_gradients` (which skips a step with non-finite gradients)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    seed = optimizer.scale_loss(keras.ops.cast(1.0 / replicas, loss.dtype))
    gradients = tape.gradient(loss, variables, output_gradients=seed)
    optimizer.apply_gradients(zip(gradients, variables))


def scaled_optimizer(optimizer: keras.optimizers.Optimizer, factor: float) -> keras.optimizers.Optimizer:
    """A fresh optimizer like `optimizer` with its learning rate (and Keras-2 decay) times `factor`:
    the book's adversarial model uses half the discriminator's lr and decay. The copy of a
    loss-scaled optimizer is loss-scaled as the dtype policy says (`loss_scaled`)."""
    optimizer = unscaled(optimizer)
    config = optimizer.get_config()
    rate = config["learning_rate"]
    if isinstance(rate, dict):  # a serialized schedule: InverseTimeDecay is how the runner builds `decay`
        inner = rate["config"]
        if "decay_rate" not in inner:
            raise ValueError(f"cannot scale a {rate.get('class_name')} learning-rate schedule")
        inner["initial_learning_rate"] *= factor
        inner["decay_rate"] *= factor
    else:
        config["learning_rate"] = rate * factor
    config.pop("name", None)
    return loss_scaled(type(optimizer).from_config(config))
