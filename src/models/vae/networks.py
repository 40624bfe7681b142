"""Encoder and decoder: one builder each; the variants (MLP, CNN, conditional) differ only in
their trunk."""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
from keras import layers

from adl_runner.kernel.checks import require_rank, shape_text
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.models.vae.model import VAE, Sampling
from adl_runner.models.vae.options import LatentOptions, VAECNNOptions, VAEMLPOptions

Trunk = Callable[[keras.KerasTensor], keras.KerasTensor]


def build_encoder(input_shape: tuple[int, ...], trunk: Trunk, latent_dim: int, num_labels: int = 0) -> keras.Model:
    """x(, labels) -> trunk -> z_mean, z_log_var = Dense(latent_dim) each -> z by sampling.

    With labels (the CVAE, Listing 8.2.1) the one-hot label goes through a linear Dense to one
    image plane, which is concatenated with the image as an extra channel (flat inputs: as extra
    features) before the trunk.
    """
    inputs = keras.Input(shape=input_shape, name="encoder_input")
    model_inputs, x = [inputs], inputs
    if num_labels:
        labels = keras.Input(shape=(num_labels,), name="class_labels")
        plane = (*input_shape[:-1], 1) if len(input_shape) == 3 else input_shape
        y = layers.Reshape(plane)(layers.Dense(math.prod(plane))(labels))
        x = layers.concatenate([x, y])
        model_inputs.append(labels)
    x = trunk(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling(name="z")([z_mean, z_log_var])
    return keras.Model(model_inputs if num_labels else inputs, [z_mean, z_log_var, z], name="encoder")


def build_decoder(latent_dim: int, trunk: Trunk, num_labels: int = 0) -> keras.Model:
    """z(, labels) -> trunk -> x_hat in [0, 1] (the trunk ends in a sigmoid layer).

    With labels (the CVAE) the one-hot label is concatenated with z before the trunk.
    """
    latent = keras.Input(shape=(latent_dim,), name="z_sampling")
    if not num_labels:
        return keras.Model(latent, trunk(latent), name="decoder")
    labels = keras.Input(shape=(num_labels,), name="class_labels")
    return keras.Model([latent, labels], trunk(layers.concatenate([latent, labels])), name="decoder")


def mlp_trunks(opts: VAEMLPOptions, dim: int) -> tuple[Trunk, Trunk]:
    """Listing 8.1.1: encoder Dense(512, relu); decoder Dense(512, relu) -> Dense(784, sigmoid)."""

    def encode(x: keras.KerasTensor) -> keras.KerasTensor:
        return layers.Dense(opts.intermediate_dim, activation="relu")(x)

    def decode(z: keras.KerasTensor) -> keras.KerasTensor:
        x = layers.Dense(opts.intermediate_dim, activation="relu")(z)
        return layers.Dense(dim, activation="sigmoid", name="decoder_output")(x)

    return encode, decode


def cnn_trunks(opts: VAECNNOptions, shape: tuple[int, int, int]) -> tuple[Trunk, Trunk]:
    """File 8.1.2: Conv2D(32, 64; k3, s2, relu, same) -> Flatten -> Dense(16, relu);
    decoder Dense(7*7*64, relu) -> Reshape -> Conv2DTranspose(64, 32; k3, s2, relu, same) ->
    Conv2DTranspose(channels, k3, sigmoid, same)."""
    h, w, channels = shape
    scale = 2**opts.conv_layers
    top = opts.filters * scale

    def encode(x: keras.KerasTensor) -> keras.KerasTensor:
        filters = opts.filters
        for _ in range(opts.conv_layers):
            filters *= 2
            x = layers.Conv2D(filters, opts.kernel_size, strides=2, padding="same", activation="relu")(x)
        x = layers.Flatten()(x)
        return layers.Dense(opts.dense_units, activation="relu")(x)

    def decode(z: keras.KerasTensor) -> keras.KerasTensor:
        x = layers.Dense((h // scale) * (w // scale) * top, activation="relu")(z)
        x = layers.Reshape((h // scale, w // scale, top))(x)
        filters = top
        for _ in range(opts.conv_layers):
            x = layers.Conv2DTranspose(filters, opts.kernel_size, strides=2, padding="same", activation="relu")(x)
            filters //= 2
        return layers.Conv2DTranspose(
            channels, opts.kernel_size, padding="same", activation="sigmoid", name="decoder_output"
        )(x)

    return encode, decode


def assemble(name: str, opts: LatentOptions, shape: tuple[int, ...], trunks: tuple[Trunk, Trunk],
              num_labels: int) -> VAE:
    encode, decode = trunks
    encoder = build_encoder(shape, encode, opts.latent_dim, num_labels)
    decoder = build_decoder(opts.latent_dim, decode, num_labels)
    return VAE(encoder, decoder, beta=opts.beta, reconstruction=opts.reconstruction,
               conditional=num_labels > 0, name=name)


def cnn_shape(model: str, opts: VAECNNOptions, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    shape = require_rank(model, input_shape, 3, "image")
    scale = 2**opts.conv_layers
    if shape[0] % scale or shape[1] % scale:
        raise IncompatibleError(
            f"{model}: input {shape_text(shape)} must have a height and width divisible by {scale} "
            f"(2**conv_layers), so that the decoder gives back the input size"
        )
    return shape  # type: ignore[return-value]
