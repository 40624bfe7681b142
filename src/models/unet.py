"""The one U-Net builder: CycleGAN's generator (ch. 7), the segmentation U-Net (Ronneberger et al.,
Pattanayak §6 "U-Net") and Pattanayak's Listing 6-4 encoder-decoder are all built here.

A U-Net is an encoder of levels, each at half the size of the one before, and a decoder of
stride-2 transposed convs back to the input's size; with skip connections each decoder step is
concatenated with the encoder map of its size. The networks differ only in what `UNetLayout`
says: filters, convs per level, how a level halves the image (a stride-2 first conv or a 2x2 max
pool), and how each conv is wrapped (`ConvStyle`: normalisation, activation, their order,
initialisation). The caller adds its own head on the returned full-size map.

    level 0:  convs x unit(encoder[0])                                    -> skip 0
    level i:  halve (pool | first conv strides 2), convs x unit(encoder[i]) -> skip i
    step j:   transposed unit(decoder[j], stride 2) [-> concat skip L-2-j] -> decoder_convs x unit(decoder[j])

Layers are created in this order and left unnamed, so CycleGAN's generators keep the layer names
and the weight order of their checkpoints (a test pins both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
from keras import layers

from adl_runner.kernel.checks import shape_text
from adl_runner.kernel.errors import IncompatibleError

NORMS = ("none", "batch", "instance")
ACTIVATIONS = ("relu", "leaky_relu", "none")
ORDERS = ("post", "pre")
DOWNSAMPLING = ("pool", "stride")


@dataclass(frozen=True)
class ConvStyle:
    """How one conv is wrapped."""

    norm: str = "none"
    """none | batch | instance (GroupNormalization with one group per channel, TFA's defaults)."""
    activation: str = "relu"
    """relu | leaky_relu (slope 0.2) | none."""
    order: str = "post"
    """post: conv -> norm -> activation; pre: norm -> activation -> conv (the book's ch. 7 layers)."""
    kernel_initializer: str = "glorot_uniform"
    """A Keras initializer name, for kernels (biases start at zero)."""
    init_std: float | None = None
    """N(0, init_std) for kernels and biases instead (Listing 6-4's 0.02); None: `kernel_initializer`."""


@dataclass(frozen=True)
class UNetLayout:
    """A U-Net's shape; `decoder` has one step per level after the first."""

    encoder: tuple[int, ...]
    """Filters of each level: level 0 at the input's size, each later one at half the previous."""
    decoder: tuple[int, ...]
    """Filters of each transposed-conv step, from the deepest level up."""
    kernel_size: int = 3
    convs: int = 1
    """Convs per encoder level."""
    decoder_convs: int = 0
    """Convs after each decoder step (and its concatenation)."""
    up_kernel_size: int | None = None
    """Kernel of the transposed convs (None: kernel_size)."""
    down: str = "stride"
    """stride: a level's first conv strides 2; pool: a 2x2 max pool before the level."""
    encoder_style: ConvStyle = ConvStyle()
    decoder_style: ConvStyle = ConvStyle()
    skips: bool = True
    """Concatenate each decoder step with the encoder map of its size (False: a plain encoder-decoder)."""

    def __post_init__(self) -> None:
        if len(self.decoder) != len(self.encoder) - 1:
            raise ValueError(f"a U-Net needs one decoder step per level after the first: {len(self.encoder)} levels, "
                             f"{len(self.decoder)} steps")
        for style in (self.encoder_style, self.decoder_style):
            for value, valid in ((style.norm, NORMS), (style.activation, ACTIVATIONS), (style.order, ORDERS)):
                if value not in valid:
                    raise ValueError(f"unknown conv style {value!r}; valid: {', '.join(valid)}")
        if self.down not in DOWNSAMPLING:
            raise ValueError(f"unknown downsampling {self.down!r}; valid: {', '.join(DOWNSAMPLING)}")

    @property
    def factor(self) -> int:
        """How many times the encoder halves the input: image sides must be multiples of it."""
        return 2 ** (len(self.encoder) - 1)


def check_size(model: str, input_shape: tuple[int, ...], layout: UNetLayout) -> None:
    """IncompatibleError unless the image sides divide by `layout.factor` (the decoder could not
    meet the encoder's maps otherwise), naming the nearest size that works."""
    factor = layout.factor
    if input_shape[0] % factor or input_shape[1] % factor:
        near = "x".join(str(max(factor, round(side / factor) * factor)) for side in input_shape[:2])
        raise IncompatibleError(f"{model} halves images {len(layout.encoder) - 1} times, so their sides must be "
                                f"multiples of {factor}; got {shape_text(input_shape[:2])} (e.g. {near})")


def _normalization(norm: str) -> layers.Layer:
    return layers.GroupNormalization(groups=-1) if norm == "instance" else layers.BatchNormalization()


def _activation(activation: str) -> layers.Layer:
    return layers.LeakyReLU(negative_slope=0.2) if activation == "leaky_relu" else layers.Activation(activation)


def initializers(style: ConvStyle) -> dict[str, Any]:
    if style.init_std is None:
        return {"kernel_initializer": style.kernel_initializer}
    normal = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": style.init_std}}
    return {"kernel_initializer": normal, "bias_initializer": normal}  # a config: a fresh seed per layer


def conv_unit(x: keras.KerasTensor, filters: int, kernel_size: int, style: ConvStyle, strides: int = 1,
              transpose: bool = False) -> keras.KerasTensor:
    """One SAME-padded Conv2D (or Conv2DTranspose) with its normalisation and activation in `style`'s order."""
    conv = (layers.Conv2DTranspose if transpose else layers.Conv2D)(filters, kernel_size, strides=strides,
                                                                   padding="same", **initializers(style))
    wrappers = []
    if style.norm != "none":
        wrappers.append(_normalization(style.norm))
    if style.activation != "none":
        wrappers.append(_activation(style.activation))
    for layer in ([*wrappers, conv] if style.order == "pre" else [conv, *wrappers]):
        x = layer(x)
    return x


def unet_trunk(x: keras.KerasTensor, layout: UNetLayout) -> keras.KerasTensor:
    """The encoder and decoder of `layout` on `x`: the full-size map a head goes on."""
    skips = []
    for level, filters in enumerate(layout.encoder):
        strides = 1
        if level and layout.down == "pool":
            x = layers.MaxPooling2D(2)(x)
        elif level:
            strides = 2
        for i in range(layout.convs):
            x = conv_unit(x, filters, layout.kernel_size, layout.encoder_style, strides=strides if i == 0 else 1)
        skips.append(x)
    up_kernel = layout.up_kernel_size or layout.kernel_size
    for filters, skip in zip(layout.decoder, reversed(skips[:-1])):
        x = conv_unit(x, filters, up_kernel, layout.decoder_style, strides=2, transpose=True)
        if layout.skips:
            x = layers.Concatenate()([x, skip])
        for _ in range(layout.decoder_convs):
            x = conv_unit(x, filters, layout.kernel_size, layout.decoder_style)
    return x
