"""`model=unet`: a U-Net for multi-class masks (Ronneberger, Fischer and Brox 2015; Pattanayak §6
"U-Net"), trained with a pixel-wise categorical cross-entropy on the `masks` input kind. It is a
`SegmentationModel`, as the FCN is: the book's mIoU and pixel accuracy at every validation, the
`segmentation` evaluator on the test split, task=predict.

The paper's network with SAME padding (so no cropping: the output has the input's size):
per level two 3x3 Conv-BN-ReLU (64, 128, 256, 512, 1024 filters) and a 2x2 max pool between
levels; per decoder step a 2x2 stride-2 transposed Conv-BN-ReLU that halves the channels, the
concatenation with the encoder map of that size, and two 3x3 Conv-BN-ReLU; then a 1x1 conv to one
channel per class and a softmax. The paper predates batch normalisation: `model.norm=none` is its
network (and its He-normal initialisation is the default here). Built by the shared U-Net builder
(`models/unet.py`) that also builds CycleGAN's generator and Pattanayak's encoder-decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from adl_runner.kernel.checks import require_rank
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.segmentation.figures import write_predictions
from adl_runner.models.segmentation.model import SegmentationModel
from adl_runner.models.segmentation.predict import predict_masks
from adl_runner.models.unet import NORMS, ConvStyle, UNetLayout, check_size, unet_trunk


@dataclass
class UNetOptions:
    """The U-Net's shape; the defaults are the paper's (with batch normalisation, see `norm`)."""

    filters: list[int] = ranged(default_factory=lambda: [64, 128, 256, 512, 1024], at_least=1)
    """Filters of each encoder level; the decoder steps mirror them (512, 256, 128, 64). Image
    sides must be multiples of 2^(levels - 1): 16 for five levels."""
    convs: int = ranged(2, at_least=1)
    """3x3 convs per encoder level and after each decoder concatenation."""
    kernel_size: int = ranged(3, at_least=1)
    up_kernel_size: int = ranged(2, at_least=1)
    """Kernel of the stride-2 transposed convs (the paper's 2x2 up-convolution)."""
    norm: str = ranged("batch", choices=NORMS)
    """batch | none (the paper's) | instance: normalisation after each conv."""


def unet_layout(opts: UNetOptions) -> UNetLayout:
    style = ConvStyle(norm=opts.norm, activation="relu", order="post", kernel_initializer="he_normal")
    return UNetLayout(tuple(opts.filters), tuple(reversed(opts.filters[:-1])), opts.kernel_size, convs=opts.convs,
                      decoder_convs=opts.convs, up_kernel_size=opts.up_kernel_size, down="pool",
                      encoder_style=style, decoder_style=style)


def check_unet(opts: UNetOptions) -> None:
    if len(opts.filters) < 2:
        raise ConfigError(f"unet: model.filters needs at least 2 levels, got {opts.filters}")


@MODELS.register("unet", FitSpec(options=UNetOptions, view="image", objective="self", input_kind="masks",
                                 evaluators=("segmentation",), artifacts=write_predictions, predict=predict_masks))
def build_unet(opts: UNetOptions, ctx: BuildContext) -> SegmentationModel:
    """Five levels, batch norm, 3 channels in and 4 classes out: 31,059,332 parameters
    (31,045,636 trainable); `model.norm=none`: 31,031,940."""
    check_unet(opts)
    shape = require_rank("unet", ctx.input_shape, 3, "image")
    layout = unet_layout(opts)
    check_size("unet", shape, layout)
    image = keras.Input(shape=shape, name="image")
    scores = layers.Conv2D(ctx.num_classes, 1, kernel_initializer="he_normal", name="scores")(unet_trunk(image, layout))
    network = keras.Model(image, layers.Softmax(name="segmentation")(scores), name="unet_network")
    return SegmentationModel(network, class_names=ctx.class_names, name="unet")
