"""CycleGAN's networks (Listings 7.1.1-7.1.3, `cyclegan-7.1.1.py`): the U-Net generator and the
plain or 2x2 PatchGAN discriminator, built from the book's `encoder_layer` and `decoder_layer`. The
generator is the shared U-Net builder's (`models/unet.py`) with this layout; the discriminator is
its encoder units without normalisation.

The book's layer order is norm -> activation -> conv (its docstring says otherwise; the code wins):

    encoder_layer: [IN] -> ReLU | LeakyReLU(0.2) -> Conv2D(f, k, strides, 'same')
    decoder_layer: [IN] -> ReLU | LeakyReLU(0.2) -> Conv2DTranspose(f, k, strides, 'same') -> concat(skip)

    G (32x32): e1 enc(32, s1) on the raw image (IN included) -> e2 enc(64) -> e3 enc(128) -> e4 enc(256),
               all LeakyReLU; d1 dec(128, skip e3) -> d2 dec(64, skip e2) -> d3 dec(32, skip e1), ReLU;
               Conv2DTranspose(C_out, k, s1, sigmoid)
    D:         enc(32) -> enc(64) -> enc(128) -> enc(256, s1), LeakyReLU, no IN;
               PatchGAN: LeakyReLU -> Conv2D(1, k, s2) (2x2x1 linear) | plain: Flatten -> Dense(1) linear

Instance normalization is `GroupNormalization(groups=-1)`: one group per channel, statistics per
example, with TFA's defaults (epsilon 1e-3, centre and scale); tensorflow-addons does not run on
Keras 3.
"""

from __future__ import annotations

import keras
from keras import layers

from adl_runner.models.unet import ConvStyle, UNetLayout, conv_unit, unet_trunk

ENCODER_FILTERS = (32, 64, 128, 256)
"""e1..e4 of G and the four trunk layers of D."""
DECODER_FILTERS = (128, 64, 32)
"""d1..d3 of G."""
DISCRIMINATORS = ("patchgan", "plain")
DOWNSAMPLING = 16
"""D halves the image four times (three trunk layers and the PatchGAN head): sides must divide by 16."""


def book_style(activation: str, norm: bool = True) -> ConvStyle:
    """The book's layer order, norm -> activation -> conv, with instance normalisation."""
    return ConvStyle(norm="instance" if norm else "none", activation=activation, order="pre")


def generator_layout(kernel_size: int) -> UNetLayout:
    """G's U-Net: e1 (stride 1, IN on the raw image) to e4 LeakyReLU, d1-d3 ReLU, skips from e3, e2, e1."""
    return UNetLayout(ENCODER_FILTERS, DECODER_FILTERS, kernel_size, down="stride",
                      encoder_style=book_style("leaky_relu"), decoder_style=book_style("relu"))


def unet_generator(in_shape: tuple[int, int, int], out_channels: int, kernel_size: int, name: str) -> keras.Model:
    """The book's `build_generator`: a 4-level U-Net from `in_shape` images to `out_channels` in [0, 1]."""
    image = keras.Input(shape=in_shape, name="image")
    x = unet_trunk(image, generator_layout(kernel_size))
    out = layers.Conv2DTranspose(out_channels, kernel_size, strides=1, padding="same", activation="sigmoid",
                                 name="translated")(x)
    return keras.Model(image, out, name=name)


def cycle_discriminator(shape: tuple[int, int, int], kernel_size: int, patchgan: bool, name: str) -> keras.Model:
    """The book's `build_discriminator`: a linear real/fake score, 2x2x1 patches or one scalar."""
    image = keras.Input(shape=shape, name="image")
    x = image
    style = book_style("leaky_relu", norm=False)
    for i, filters in enumerate(ENCODER_FILTERS):
        last = i == len(ENCODER_FILTERS) - 1
        x = conv_unit(x, filters, kernel_size, style, strides=1 if last else 2)
    if patchgan:
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        score = layers.Conv2D(1, kernel_size, strides=2, padding="same", name="patches")(x)
    else:
        score = layers.Dense(1, name="score")(layers.Flatten()(x))
    return keras.Model(image, score, name=name)
