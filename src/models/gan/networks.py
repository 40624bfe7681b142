"""The book's generator and discriminator stacks (`lib/gan.py`, Listings 4.2.1-4.2.2 and 6.1.1-6.1.2),
built once here and shared by every chapter 4-6 GAN, plus Pattanayak's MLP pair (Listing 6-5).

`generator(...)` and `discriminator(...)` take named conditioning inputs instead of the book's
optional `labels=`/`codes=` tensors; the layer stacks are the book's exactly:

    G: [z, labels, codes...] -> Dense(r*r*128) -> Reshape(r, r, 128)
       -> 4 x (BatchNorm -> ReLU -> Conv2DTranspose(f, 5, strides 2, 2, 1, 1)) for f in 128, 64, 32, C
       -> sigmoid                                     (r = image size // 4: 7 for MNIST)
    D: x [+ Dense(H*W)(labels) reshaped as a 2nd channel (CGAN)]
       -> 4 x (LeakyReLU(0.2) -> Conv2D(f, 5, strides 2, 2, 2, 1)) for f in 32, 64, 128, 256 -> Flatten
       -> Dense(1) -> activation  [+ Dense(128) -> label softmax (+ code1, code2 sigmoid)]  [or z0 tanh]

Parameter counts on MNIST: G 1,301,505 (1,364,225 with a 10-dim label), D 1,080,577,
CGAN D 1,090,001, ACGAN D 1,606,283 (asserted in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

GENERATOR_FILTERS = (128, 64, 32)
"""Conv2DTranspose filters before the output layer (whose filters are the image channels)."""
DISCRIMINATOR_FILTERS = (32, 64, 128, 256)
KERNEL = 5


def latent_input(name: str, dim: int) -> keras.KerasTensor:
    return keras.Input(shape=(dim,), name=name)


def generator(
    inputs: Sequence[keras.KerasTensor],
    image_shape: tuple[int, int, int],
    activation: str = "sigmoid",
    name: str = "generator",
) -> keras.Model:
    """The book's `gan.generator`: the inputs (noise first, then labels and codes) are concatenated."""
    height, width, channels = image_shape
    if height % 4 or width % 4:
        raise ValueError(f"the generator upsamples by 4; image size {height}x{width} is not a multiple of 4")
    x = layers.Concatenate(name="generator_input")(list(inputs)) if len(inputs) > 1 else inputs[0]
    x = layers.Dense(height // 4 * width // 4 * GENERATOR_FILTERS[0])(x)
    x = layers.Reshape((height // 4, width // 4, GENERATOR_FILTERS[0]))(x)
    for filters in (*GENERATOR_FILTERS, channels):
        # The book strides while the filters exceed the second-to-last layer's (128 and 64): 7->14->28.
        strides = 2 if filters > GENERATOR_FILTERS[-1] else 1
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, KERNEL, strides=strides, padding="same")(x)
    x = layers.Activation(activation, name="image")(x)
    return keras.Model(list(inputs), x, name=name)


def discriminator(
    image: keras.KerasTensor,
    *,
    activation: str | None = "sigmoid",
    label_input: keras.KerasTensor | None = None,
    num_labels: int = 0,
    num_codes: int = 0,
    code_head: str = "info",
    batch_norm: bool = False,
    name: str = "discriminator",
) -> keras.Model:
    """The book's `gan.discriminator` and its CGAN form.

    label_input: CGAN: the one-hot label enters as a second image channel (Dense(H*W) -> Reshape).
    num_labels: ACGAN/InfoGAN: an auxiliary classifier head `label` on Dense(128).
    num_codes: with `code_head="info"` (InfoGAN) that many Dense(1)-sigmoid code heads on the same
        Dense(128); with `code_head="z"` (StackedGAN dis0) one Dense(num_codes)-tanh head `z0`.
    batch_norm: the book's Figure 5.1.5 experiment: BatchNormalization before each LeakyReLU after
        the first (the raw image is not normalised).
    """
    height, width, _ = image.shape[1:]
    x = image
    inputs = [image]
    if label_input is not None:
        y = layers.Dense(height * width)(label_input)
        y = layers.Reshape((height, width, 1))(y)
        x = layers.Concatenate()([x, y])
        inputs.append(label_input)
    for i, filters in enumerate(DISCRIMINATOR_FILTERS):
        strides = 1 if i == len(DISCRIMINATOR_FILTERS) - 1 else 2
        if batch_norm and i > 0:
            x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        x = layers.Conv2D(filters, KERNEL, strides=strides, padding="same")(x)
    flat = layers.Flatten()(x)
    source = layers.Dense(1)(flat)
    if activation:
        source = layers.Activation(activation)(source)
    outputs = [layers.Identity(name="source")(source)]
    if num_labels:
        shared = layers.Dense(DISCRIMINATOR_FILTERS[-2])(flat)
        outputs.append(layers.Dense(num_labels, activation="softmax", name="label")(shared))
        if code_head == "info":
            outputs += [layers.Dense(1, activation="sigmoid", name=f"code{i + 1}")(shared) for i in range(num_codes)]
    if num_codes and code_head == "z":
        outputs.append(layers.Dense(num_codes, activation="tanh", name="z0")(flat))
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=name)


def mlp_generator(latent_dim: int, hidden: Sequence[int], output_dim: int, init_stddev: float) -> keras.Model:
    """Pattanayak's G (Listing 6-5): z -> Dense(h) ReLU ... -> Dense(784) tanh."""
    init = keras.initializers.TruncatedNormal(stddev=init_stddev)
    z = latent_input("z", latent_dim)
    x = z
    for units in hidden:
        x = layers.Dense(units, activation="relu", kernel_initializer=init)(x)
    x = layers.Dense(output_dim, activation="tanh", kernel_initializer=init, name="image")(x)
    return keras.Model(z, x, name="generator")


def mlp_discriminator(input_dim: int, hidden: Sequence[int], dropout: float, init_stddev: float) -> keras.Model:
    """Pattanayak's D: x -> Dense(h) ReLU -> Dropout ... -> Dense(1) logits (the loss applies the sigmoid)."""
    init = keras.initializers.TruncatedNormal(stddev=init_stddev)
    image = keras.Input(shape=(input_dim,), name="image")
    x = image
    for units in hidden:
        x = layers.Dense(units, activation="relu", kernel_initializer=init)(x)
        x = layers.Dropout(dropout)(x)
    logits = layers.Dense(1, kernel_initializer=init, name="source")(x)
    return keras.Model(image, logits, name="discriminator")
