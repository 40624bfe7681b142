"""`model=encoder_decoder`: Pattanayak's Listing 6-4, the Carvana "U-Net-like" network without skip
connections, predicting one foreground logit per pixel.

    encoder: two 3x3 SAME Conv-ReLU per level, 64-128-256-512-1024 filters, 2x2 max pool between levels
    decoder: four 3x3 stride-2 SAME Conv2DTranspose-ReLU, 1024-512-256-128 filters
    head:    1x1 conv to one channel, no activation (logits)

Every kernel and bias starts from N(0, 0.02); 34,475,585 parameters at 3 input channels. The loss
is the sigmoid cross-entropy from logits, averaged over every pixel of the batch. Targets are the
`masks` input kind's: the foreground is every class but the background (class 0), so a two-class
mask (`drinks_foreground`) is used as it is and a multi-class one as object vs background.
`model.skip_connections=true` concatenates each decoder step with the encoder map of its size: a
U-Net (the shared builder of `models/unet.py`).

Masks from logits (`mask_ids`): `model.threshold_on=probabilities` (default) keeps pixels with
sigmoid(logit) > `model.threshold` (0.5, i.e. logit > 0); `logits` compares the logit itself with
the threshold, as the book's `logits > 0.5` does (a probability above 0.622).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
from keras import layers

from adl_runner.kernel.checks import check_choice, check_positive, require_rank
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.unet import ConvStyle, UNetLayout, check_size, initializers, unet_trunk

THRESHOLD_ON = ("probabilities", "logits")


@dataclass
class EncoderDecoderOptions:
    """Listing 6-4's network (the book's settings by default)."""

    filters: list[int] = field(default_factory=lambda: [64, 128, 256, 512, 1024])
    """Filters of each encoder level (a 2x2 max pool between levels): image sides must be multiples
    of 2^(levels - 1), 16 for five levels (the book: 128x128)."""
    decoder_filters: list[int] = field(default_factory=lambda: [1024, 512, 256, 128])
    """Filters of each stride-2 transposed conv, one per level after the first."""
    convs: int = 2
    """3x3 convs per encoder level."""
    init_std: float = 0.02
    """Kernels and biases start from N(0, init_std)."""
    skip_connections: bool = False
    """Concatenate each decoder step with the encoder map of its size (a U-Net); the book has none."""
    threshold_on: str = "probabilities"
    """probabilities: a pixel is foreground when sigmoid(logit) > threshold; logits: when the logit
    itself is (the book's `logits > 0.5`)."""
    threshold: float = 0.5


def _foreground(masks: Any) -> Any:
    """(B, H, W, 1) float 0/1 targets: every pixel not of class 0, from one-hot masks or class ids."""
    if len(masks.shape) == 4:
        return 1.0 - keras.ops.cast(masks[..., :1], "float32")
    return keras.ops.cast(masks > 0, "float32")[..., None]


@keras.saving.register_keras_serializable(package="adl_runner")
class EncoderDecoder(keras.Model):
    """The network and its mask rule; batches are the `masks` kind's `(images, masks)`."""

    def __init__(self, network: keras.Model, *, threshold_on: str = "probabilities", threshold: float = 0.5,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network = network
        self.set_threshold(threshold_on, threshold)
        self(keras.KerasTensor(network.inputs[0].shape, name="image"))

    def build(self, input_shape: Any = None) -> None:
        """Nothing to create: the weights live in the network."""

    @property
    def inputs(self) -> list[keras.KerasTensor]:
        return self.network.inputs

    def call(self, images: Any, training: bool = False) -> Any:
        return self.network(images, training=training)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """Sigmoid cross-entropy from the logits, the mean over every pixel of the batch."""
        return keras.ops.mean(keras.ops.binary_crossentropy(_foreground(y), y_pred, from_logits=True))

    def set_threshold(self, threshold_on: str, threshold: float) -> None:
        """The mask rule of `mask_ids` (not part of what the network learned)."""
        check_choice("encoder_decoder", "model.threshold_on", threshold_on, THRESHOLD_ON)
        self.threshold_on, self.threshold = threshold_on, float(threshold)

    def mask_ids(self, outputs: Any) -> Any:
        """(B, H, W) int32 class ids (1: foreground) of the network's (B, H, W, 1) logits."""
        scores = keras.ops.sigmoid(outputs) if self.threshold_on == "probabilities" else outputs
        return keras.ops.cast(scores[..., 0] > self.threshold, "int32")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "network": keras.saving.serialize_keras_object(self.network),
                "threshold_on": self.threshold_on, "threshold": self.threshold}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> EncoderDecoder:
        config = dict(config)
        network = keras.saving.deserialize_keras_object(config.pop("network"), custom_objects=custom_objects)
        return cls(network, **config)


def encoder_decoder_layout(opts: EncoderDecoderOptions) -> UNetLayout:
    style = ConvStyle(activation="relu", order="post", init_std=opts.init_std)
    return UNetLayout(tuple(opts.filters), tuple(opts.decoder_filters), 3, convs=opts.convs, down="pool",
                      encoder_style=style, decoder_style=style, skips=opts.skip_connections)


def check_options(opts: EncoderDecoderOptions) -> None:
    if len(opts.filters) < 2:
        raise ConfigError(f"encoder_decoder: model.filters needs at least 2 levels, got {opts.filters}")
    if len(opts.decoder_filters) != len(opts.filters) - 1:
        raise ConfigError(f"encoder_decoder: model.decoder_filters needs one entry per level after the first "
                          f"({len(opts.filters) - 1}), got {opts.decoder_filters}")
    for key in ("filters", "decoder_filters"):
        for value in getattr(opts, key):
            check_positive("encoder_decoder", f"model.{key}", value)
    check_positive("encoder_decoder", "model.convs", opts.convs)
    if opts.init_std <= 0:
        raise ConfigError(f"encoder_decoder: model.init_std must be > 0, got {opts.init_std}")
    check_choice("encoder_decoder", "model.threshold_on", opts.threshold_on, THRESHOLD_ON)


def for_inference(model: keras.Model, opts: EncoderDecoderOptions) -> None:
    """The command's mask rule (`model.threshold_on`, `model.threshold`) on a loaded checkpoint."""
    if not isinstance(model, EncoderDecoder):
        raise IncompatibleError(f"the checkpoint holds a '{model.name}' model, not an encoder_decoder")
    check_options(opts)
    model.set_threshold(opts.threshold_on, opts.threshold)


@MODELS.register("encoder_decoder", FitSpec(options=EncoderDecoderOptions, view="image", objective="self",
                                            input_kind="masks", for_inference=for_inference))
def build_encoder_decoder(opts: EncoderDecoderOptions, ctx: BuildContext) -> EncoderDecoder:
    """Listing 6-4 at 3 input channels: 18,843,200 encoder + 15,632,256 decoder + 129 head = 34,475,585."""
    check_options(opts)
    shape = require_rank("encoder_decoder", ctx.input_shape, 3, "image")
    layout = encoder_decoder_layout(opts)
    check_size("encoder_decoder", shape, layout)
    image = keras.Input(shape=shape, name="image")
    logits = layers.Conv2D(1, 1, **initializers(layout.decoder_style), name="logits")(unet_trunk(image, layout))
    return EncoderDecoder(keras.Model(image, logits, name="network"), threshold_on=opts.threshold_on,
                          threshold=opts.threshold, name="encoder_decoder")
