"""The VAE model: the book's loss terms, the sampling layer and `VAE`, which computes
reconstruction + beta x KL in its own train_step / test_step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf
from keras import layers, ops

from adl_runner.kernel.custom_step import CustomStepModel, minimize

RECONSTRUCTIONS = ("mse", "bce")
MUTED_KL = 0.05
"""A latent dimension whose mean KL on the test set is below this many nats carries (almost) no
information about the input: the traversal figures call it muted (the book's z[0] at beta=10)."""


def reconstruction_loss(x: Any, x_hat: Any, kind: str) -> Any:
    """Per-example reconstruction loss: Keras MSE or BCE (a mean over the D values of an image)
    times D, i.e. a per-image sum, as the book's `mse(inputs, outputs) * original_dim`."""
    dim = math.prod(int(d) for d in x.shape[1:])
    x = ops.reshape(x, (-1, dim))
    x_hat = ops.reshape(x_hat, (-1, dim))
    per_pixel = keras.losses.binary_crossentropy if kind == "bce" else keras.losses.mean_squared_error
    return per_pixel(x, x_hat) * dim


def kl_divergence(z_mean: Any, z_log_var: Any) -> Any:
    """Per-example KL(N(z_mean, exp(z_log_var)) || N(0, I)), Eq. 8.1.11."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


@keras.saving.register_keras_serializable(package="adl_runner")
class Sampling(layers.Layer):
    """The reparameterization trick (Eq. 8.1.13): z = z_mean + exp(0.5 * z_log_var) * eps, eps ~ N(0, I).

    Replaces the book's `Lambda(sampling)`, so checkpoints load in Keras safe mode.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Sequence[Any]) -> Any:
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), dtype=self.compute_dtype, seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape: Sequence[Any]) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="adl_runner")
class VAE(CustomStepModel):
    """Encoder [x(, labels)] -> [z_mean, z_log_var, z]; decoder [z(, labels)] -> x_hat; the book's loss.

    `encoder` and `decoder` stay attributes after `keras.saving.load_model`; `conditional` models
    (CVAE) take `(x, one-hot labels)` batches and feed the labels to both networks.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        beta: float = 1.0,
        reconstruction: str = "mse",
        conditional: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.reconstruction = reconstruction
        self.conditional = bool(conditional)
        self.total_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        # Encoder and decoder are built functional models and the VAE adds no weights; one symbolic
        # call records the input shapes (kept in the .keras file), which `export` needs.
        self(self._symbolic_inputs())

    def build(self, input_shape: Any = None) -> None:
        """Nothing to create: the weights live in the encoder and decoder."""

    def _symbolic_inputs(self) -> Any:
        x = keras.KerasTensor(self.encoder.inputs[0].shape, name="x")
        return (x, keras.KerasTensor(self.decoder.inputs[1].shape, name="labels")) if self.conditional else x

    @property
    def inputs(self) -> list[keras.KerasTensor]:
        """The data input, as functional models have it (what `task=evaluate` reads the view from).
        The labels of a conditional VAE come as the batch's second element, like a classifier's."""
        return self.encoder.inputs[:1]

    # -- shapes ------------------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return int(self.decoder.inputs[0].shape[-1])

    @property
    def num_labels(self) -> int:
        """Size of the one-hot label input (0 for an unconditional VAE)."""
        return int(self.decoder.inputs[1].shape[-1]) if self.conditional else 0

    # -- forward -----------------------------------------------------------------------------------
    def encode(self, x: Any, labels: Any = None, training: bool = False) -> tuple[Any, Any, Any]:
        """[z_mean, z_log_var, z] of a batch (labels: one-hot, conditional models only)."""
        return self.encoder([x, labels] if self.conditional else x, training=training)

    def decode(self, z: Any, labels: Any = None, training: bool = False) -> Any:
        return self.decoder([z, labels] if self.conditional else z, training=training)

    def call(self, inputs: Any, training: bool = False) -> Any:
        x, labels = self._unpack(inputs)
        _, _, z = self.encode(x, labels, training=training)
        return self.decode(z, labels, training=training)

    # -- training ----------------------------------------------------------------------------------
    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.total_tracker, self.reconstruction_tracker, self.kl_tracker]

    def _unpack(self, data: Any) -> tuple[Any, Any]:
        """(x, one-hot labels or None) from a batch: x, or (x, labels) for conditional models."""
        if isinstance(data, (tuple, list)):
            x, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            x, labels = data, None
        if not self.conditional:
            return x, None
        if labels is None:
            raise ValueError("a conditional VAE needs (x, labels) batches")
        if len(labels.shape) == 1:  # dataset.labels=sparse: integer labels
            labels = ops.one_hot(ops.cast(labels, "int32"), self.num_labels)
        return x, ops.cast(labels, x.dtype)

    def _loss_terms(self, data: Any, training: bool) -> tuple[Any, Any, Any]:
        x, labels = self._unpack(data)
        z_mean, z_log_var, z = self.encode(x, labels, training=training)
        x_hat = self.decode(z, labels, training=training)
        reconstruction = reconstruction_loss(x, x_hat, self.reconstruction)
        kl = kl_divergence(z_mean, z_log_var)
        return ops.mean(reconstruction + self.beta * kl), ops.mean(reconstruction), ops.mean(kl)

    def _record(self, total: Any, reconstruction: Any, kl: Any) -> dict[str, Any]:
        self.total_tracker.update_state(total)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data: Any) -> dict[str, Any]:
        with tf.GradientTape() as tape:
            total, reconstruction, kl = self._loss_terms(data, training=True)
        minimize(self.optimizer, tape, total, self.trainable_weights)
        return self._record(total, reconstruction, kl)

    def test_step(self, data: Any) -> dict[str, Any]:
        return self._record(*self._loss_terms(data, training=False))

    # -- saving ------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "reconstruction": self.reconstruction,
            "conditional": self.conditional,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> VAE:
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"), custom_objects=custom_objects)
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"), custom_objects=custom_objects)
        return cls(encoder, decoder, **config)
