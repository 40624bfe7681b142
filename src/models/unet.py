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
from keras import layers, ops

from adl_runner.kernel.checks import shape_text
from adl_runner.kernel.errors import IncompatibleError

NORMS = ("none", "batch", "instance")
ACTIVATIONS = ("relu", "leaky_relu", "none")
ORDERS = ("post", "pre")
DOWNSAMPLING = ("pool", "stride")
PADDINGS = ("same", "valid")
UPSAMPLING = ("transpose", "nearest", "bed_of_nails", "max_unpool")


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
    padding: str = "same"
    """same: every map keeps its size; valid: the 3x3 convs are unpadded (the U-Net paper's), each
    losing kernel_size - 1 pixels a side pair, so the output is a centre crop of the input (572 -> 388
    for the paper's U-Net) and each skip is centre-cropped to the decoder's map before concatenation.
    The upsampling steps double their map exactly either way."""
    up: str = "transpose"
    """How a decoder step doubles its map (Pattanayak Figs 6-10 to 6-13): transpose, a stride-2
    transposed conv; nearest, each value repeated over its 2x2 block, then a conv; bed_of_nails, each
    value in its block's top-left pixel and zeros elsewhere, then a conv; max_unpool, a conv, then each
    value put where the paired max pool found its block's maximum (needs down="pool" and each step's
    filters equal to the encoder level it returns to). All four have the same weights: one
    kernel x kernel conv per step."""

    def __post_init__(self) -> None:
        if len(self.decoder) != len(self.encoder) - 1:
            raise ValueError(f"a U-Net needs one decoder step per level after the first: {len(self.encoder)} levels, "
                             f"{len(self.decoder)} steps")
        for style in (self.encoder_style, self.decoder_style):
            for value, valid in ((style.norm, NORMS), (style.activation, ACTIVATIONS), (style.order, ORDERS)):
                if value not in valid:
                    raise ValueError(f"unknown conv style {value!r}; valid: {', '.join(valid)}")
        for value, valid in ((self.down, DOWNSAMPLING), (self.padding, PADDINGS), (self.up, UPSAMPLING)):
            if value not in valid:
                raise ValueError(f"unknown U-Net option {value!r}; valid: {', '.join(valid)}")
        if self.down != "pool" and (self.padding == "valid" or self.up == "max_unpool"):
            raise ValueError("valid padding and max-unpooling need down='pool'")

    @property
    def factor(self) -> int:
        """How many times the encoder halves the input: image sides must be multiples of it."""
        return 2 ** (len(self.encoder) - 1)


def output_side(layout: UNetLayout, side: int) -> int | None:
    """The side of the trunk's output for an input side, or None where the layout cannot take it: a
    pool of an odd side would drop a row the decoder cannot give back, an unpadded conv may leave nothing."""
    shrink = layout.kernel_size - 1 if layout.padding == "valid" else 0
    for level in range(len(layout.encoder)):
        if level:
            if side % 2:
                return None
            side //= 2
        side -= shrink * layout.convs
        if side < 1:
            return None
    for _ in layout.decoder:
        side = 2 * side - shrink * layout.decoder_convs
        if side < 1:
            return None
    return side


def check_size(model: str, input_shape: tuple[int, ...], layout: UNetLayout) -> None:
    """IncompatibleError unless both image sides fit the layout (`output_side`): multiples of
    `layout.factor` with SAME padding, naming the nearest size that works."""
    sides = [int(side) for side in input_shape[:2]]
    if all(output_side(layout, side) for side in sides):
        return
    near = "x".join(str(_nearest_side(layout, side)) for side in sides)
    pools = len(layout.encoder) - 1
    if layout.padding == "valid":
        raise IncompatibleError(f"{model} with model.padding=valid needs image sides that are even before each of its "
                                f"{pools} pools and still positive after every unpadded conv; got "
                                f"{shape_text(input_shape[:2])} (e.g. {near})")
    raise IncompatibleError(f"{model} halves images {pools} times, so their sides must be "
                            f"multiples of {layout.factor}; got {shape_text(input_shape[:2])} (e.g. {near})")


def _nearest_side(layout: UNetLayout, side: int) -> int:
    """The working input side nearest `side` (the larger on a tie)."""
    for distance in range(side + 64 * layout.factor):
        for candidate in (side + distance, side - distance):
            if candidate > 0 and output_side(layout, candidate):
                return candidate
    raise IncompatibleError(f"no image side near {side} fits this U-Net layout")


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
              transpose: bool = False, padding: str = "same") -> keras.KerasTensor:
    """One Conv2D (or Conv2DTranspose) with its normalisation and activation in `style`'s order."""
    conv = (layers.Conv2DTranspose if transpose else layers.Conv2D)(filters, kernel_size, strides=strides,
                                                                   padding=padding, **initializers(style))
    wrappers = []
    if style.norm != "none":
        wrappers.append(_normalization(style.norm))
    if style.activation != "none":
        wrappers.append(_activation(style.activation))
    for layer in ([*wrappers, conv] if style.order == "pre" else [conv, *wrappers]):
        x = layer(x)
    return x


def centre_cropped(x: keras.KerasTensor, height: int, width: int) -> keras.KerasTensor:
    """`x` cropped to its central `height` x `width` (unchanged when it already has that size)."""
    dh, dw = int(x.shape[1]) - height, int(x.shape[2]) - width
    if not dh and not dw:
        return x
    return layers.Cropping2D(((dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2)))(x)


def up_step(x: keras.KerasTensor, filters: int, layout: UNetLayout, pooled_from: keras.KerasTensor) -> keras.KerasTensor:
    """One decoder step doubling `x` as `layout.up` says; `pooled_from` is the encoder map the paired
    max pool reduced (max_unpool's positions)."""
    kernel, style = layout.up_kernel_size or layout.kernel_size, layout.decoder_style
    if layout.up == "transpose":
        return conv_unit(x, filters, kernel, style, strides=2, transpose=True)
    if layout.up == "max_unpool":
        return Unpooling2D("max")([conv_unit(x, filters, kernel, style), pooled_from])
    doubled = layers.UpSampling2D(2, interpolation="nearest")(x) if layout.up == "nearest" else Unpooling2D("nails")(x)
    return conv_unit(doubled, filters, kernel, style)


def unet_trunk(x: keras.KerasTensor, layout: UNetLayout) -> keras.KerasTensor:
    """The encoder and decoder of `layout` on `x`: the map a head goes on (the input's size with SAME
    padding, its centre with valid)."""
    skips = []
    for level, filters in enumerate(layout.encoder):
        strides = 1
        if level and layout.down == "pool":
            x = layers.MaxPooling2D(2)(x)
        elif level:
            strides = 2
        for i in range(layout.convs):
            x = conv_unit(x, filters, layout.kernel_size, layout.encoder_style, strides=strides if i == 0 else 1,
                          padding=layout.padding)
        skips.append(x)
    for filters, skip in zip(layout.decoder, reversed(skips[:-1])):
        x = up_step(x, filters, layout, skip)
        if layout.skips:
            x = layers.Concatenate()([x, centre_cropped(skip, int(x.shape[1]), int(x.shape[2]))])
        for _ in range(layout.decoder_convs):
            x = conv_unit(x, filters, layout.kernel_size, layout.decoder_style, padding=layout.padding)
    return x


@keras.saving.register_keras_serializable(package="adl_runner")
class Unpooling2D(layers.Layer):
    """Doubles a map by putting each value in one pixel of its 2x2 block, zeros in the other three
    (Pattanayak Figs 6-10 B and 6-11): `mode="nails"` the top-left pixel ("bed of nails");
    `mode="max"` the pixel where the block's maximum is in the map a 2x2 max pool reduced, given as a
    second input of the same channels (max-unpooling; the first maximum on a tie, as an argmax)."""

    def __init__(self, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in ("nails", "max"):
            raise ValueError(f"unknown unpooling {mode!r}; valid: nails, max")
        self.mode = mode

    def call(self, inputs: Any) -> Any:
        x = inputs[0] if self.mode == "max" else inputs
        h, w, c = (int(d) for d in x.shape[1:])
        if self.mode == "max":
            blocks = ops.reshape(inputs[1][:, :2 * h, :2 * w], (-1, h, 2, w, 2, c))
            blocks = ops.reshape(ops.transpose(blocks, (0, 1, 3, 5, 2, 4)), (-1, h, w, c, 4))
            where = ops.one_hot(ops.argmax(blocks, axis=-1), 4, dtype=x.dtype)
        else:
            where = ops.convert_to_tensor([1.0, 0.0, 0.0, 0.0], dtype=x.dtype)
        placed = ops.reshape(x[..., None] * where, (-1, h, w, c, 2, 2))
        return ops.reshape(ops.transpose(placed, (0, 1, 4, 2, 5, 3)), (-1, 2 * h, 2 * w, c))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        shape = input_shape[0] if self.mode == "max" else input_shape
        return (shape[0], 2 * shape[1], 2 * shape[2], shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}
