"""`model=encoder_decoder`: Pattanayak's Listing 6-4, the Carvana "U-Net-like" network without skip
connections, predicting one foreground logit per pixel.

    encoder: two 3x3 SAME Conv-ReLU per level, 64-128-256-512-1024 filters, 2x2 max pool between levels
    decoder: four 3x3 stride-2 SAME Conv2DTranspose-ReLU, 1024-512-256-128 filters
    head:    1x1 conv to one channel, no activation (logits)

Every kernel and bias starts from N(0, 0.02); 34,475,585 parameters at 3 input channels. The loss
is the sigmoid cross-entropy from logits, averaged over every pixel of the batch, against class 1 of
a two-class mask (`drinks_foreground`; `synthetic_shapes` with `dataset.options.foreground=true`).
`model.skip_connections=true` concatenates each decoder step with the encoder map of its size: a
U-Net (the shared builder of `models/unet.py`). The spec's other choices: `model.padding=valid`
(unpadded convs, the U-Net paper's; the loss and metrics compare the output with the centre of the
mask, and skips are centre-cropped) and `model.upsampling=transpose|nearest|bed_of_nails|max_unpool`
(Figs 6-10 to 6-13; the same parameter count each). The preset draws batches with replacement, as
the book's generator does (`dataset.sampling=replacement`). The network is a `SegmentationModel` (the FCN's),
so it reports the book's mIoU and pixel accuracy at every validation and the `segmentation`
evaluator's `dice` and `iou` of the foreground on the test split.

Masks from logits: `model.threshold_on=probabilities` (default) keeps pixels with sigmoid(logit) >
`model.threshold` (0.5: logit > 0); `logits` compares the logit itself with the threshold, as the
book's `logits > 0.5` does (a probability above 0.622). Both are one threshold on the logit
(`SegmentationModel.threshold`), which task=evaluate and task=predict may change on a checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import keras
from keras import layers

from adl_runner.kernel.checks import require_rank
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.segmentation.figures import write_predictions
from adl_runner.models.segmentation.model import SegmentationModel
from adl_runner.models.segmentation.predict import predict_masks
from adl_runner.models.unet import PADDINGS, UPSAMPLING, ConvStyle, UNetLayout, check_size, initializers, unet_trunk

THRESHOLD_ON = ("probabilities", "logits")


@dataclass
class EncoderDecoderOptions:
    """Listing 6-4's network (the book's settings by default)."""

    filters: list[int] = ranged(default_factory=lambda: [64, 128, 256, 512, 1024], at_least=1)
    """Filters of each encoder level (a 2x2 max pool between levels): image sides must be multiples
    of 2^(levels - 1), 16 for five levels (the book: 128x128)."""
    decoder_filters: list[int] = ranged(default_factory=lambda: [1024, 512, 256, 128], at_least=1)
    """Filters of each stride-2 transposed conv, one per level after the first."""
    convs: int = ranged(2, at_least=1)
    """3x3 convs per encoder level."""
    init_std: Optional[float] = ranged(0.02, above=0)
    """Kernels and biases start from N(0, init_std); null: He-normal kernels and zero biases (not the
    book's: with N(0, 0.02) through 15 ReLU layers the output starts as a near-constant of the biases)."""
    skip_connections: bool = False
    """Concatenate each decoder step with the encoder map of its size (a U-Net); the book has none."""
    threshold_on: str = ranged("probabilities", choices=THRESHOLD_ON)
    """probabilities: a pixel is foreground when sigmoid(logit) > threshold; logits: when the logit
    itself is (the book's `logits > 0.5`)."""
    threshold: float = 0.5
    padding: str = ranged("same", choices=PADDINGS)
    """same: the book's SAME convs, the output the input's size; valid: unpadded 3x3 convs (the U-Net
    paper's), the output the input's centre, compared with the centre of the mask (572 -> 448 for
    these five levels without decoder convs; the smallest side that works is 140, then every 16 more)."""
    upsampling: str = ranged("transpose", choices=UPSAMPLING)
    """How each decoder step doubles its map (Pattanayak Figs 6-10 to 6-13): transpose (the book's
    stride-2 3x3 transposed conv) | nearest (repeat each value over its 2x2 block, then a 3x3 conv)
    | bed_of_nails (each value in its block's top-left pixel, zeros elsewhere, then a 3x3 conv) |
    max_unpool (a 3x3 conv, then each value where the paired max pool found its maximum: needs
    model.padding=same and model.decoder_filters mirroring model.filters, e.g. [512, 256, 128, 64]).
    Every choice has the same parameters."""


def logit_threshold(threshold_on: str, threshold: float) -> float:
    """The logit above which a pixel is foreground: the threshold itself on logits, its logit
    (log(t / (1 - t))) on probabilities."""
    if threshold_on == "logits":
        return float(threshold)
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"encoder_decoder: model.threshold on probabilities must be in (0, 1), got {threshold}")
    return math.log(threshold / (1.0 - threshold))


def encoder_decoder_layout(opts: EncoderDecoderOptions) -> UNetLayout:
    style = ConvStyle(activation="relu", order="post", kernel_initializer="he_normal", init_std=opts.init_std)
    return UNetLayout(tuple(opts.filters), tuple(opts.decoder_filters), 3, convs=opts.convs, down="pool",
                      encoder_style=style, decoder_style=style, skips=opts.skip_connections, padding=opts.padding,
                      up=opts.upsampling)


def check_options(opts: EncoderDecoderOptions) -> None:
    if len(opts.filters) < 2:
        raise ConfigError(f"encoder_decoder: model.filters needs at least 2 levels, got {opts.filters}")
    if len(opts.decoder_filters) != len(opts.filters) - 1:
        raise ConfigError(f"encoder_decoder: model.decoder_filters needs one entry per level after the first "
                          f"({len(opts.filters) - 1}), got {opts.decoder_filters}")
    if opts.upsampling == "max_unpool":
        mirrored = list(reversed(opts.filters[:-1]))
        if opts.padding != "same" or list(opts.decoder_filters) != mirrored:
            raise ConfigError(f"encoder_decoder: model.upsampling=max_unpool puts each step's maps where the paired pool "
                              f"found its maxima, so it needs model.padding=same and model.decoder_filters={mirrored} "
                              f"(the encoder's levels), got padding={opts.padding}, decoder_filters={list(opts.decoder_filters)}")
    logit_threshold(opts.threshold_on, opts.threshold)


def for_inference(model: keras.Model, opts: EncoderDecoderOptions) -> None:
    """The command's mask rule (`model.threshold_on`, `model.threshold`) on a loaded checkpoint."""
    if not isinstance(model, SegmentationModel) or model.network.outputs[0].shape[-1] != 1:
        raise IncompatibleError(f"the checkpoint holds a '{model.name}' model, not an encoder_decoder (one logit per pixel)")
    check_options(opts)
    model.threshold = logit_threshold(opts.threshold_on, opts.threshold)


@MODELS.register("encoder_decoder", FitSpec(options=EncoderDecoderOptions, view="image", objective="self",
                                            input_kind="masks", evaluators=("segmentation",), artifacts=write_predictions,
                                            predict=predict_masks, for_inference=for_inference,
                                            inference_options=("threshold", "threshold_on")))
def build_encoder_decoder(opts: EncoderDecoderOptions, ctx: BuildContext) -> SegmentationModel:
    """Listing 6-4 at 3 input channels: 18,843,200 encoder + 15,632,256 decoder + 129 head = 34,475,585."""
    check_options(opts)
    shape = require_rank("encoder_decoder", ctx.input_shape, 3, "image")
    layout = encoder_decoder_layout(opts)
    check_size("encoder_decoder", shape, layout)
    if ctx.num_classes != 2:
        raise IncompatibleError(f"encoder_decoder predicts one foreground logit per pixel: it needs two-class masks "
                                f"(background and foreground, e.g. drinks_foreground), got {ctx.num_classes} classes")
    image = keras.Input(shape=shape, name="image")
    logits = layers.Conv2D(1, 1, **initializers(layout.decoder_style), name="logits")(unet_trunk(image, layout))
    network = keras.Model(image, logits, name="encoder_decoder_network")
    return SegmentationModel(network, loss="binary_crossentropy_logits", threshold=logit_threshold(opts.threshold_on, opts.threshold),
                             class_names=ctx.class_names, name="encoder_decoder")
