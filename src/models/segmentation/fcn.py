"""FCN (Listings 12.3.1, 12.3.2): a ResNet v2 backbone, a features pyramid, and a PSPNet-like head
that upsamples every pyramid level to 1/4 of the input, concatenates them, and brings the result
back to full size with two stride-2 transposed convolutions before a per-pixel softmax.

Pyramid (`features_pyramid`): the backbone's BN-ReLU'd last stage (1/4 of the input, 256 channels),
AveragePooling2D(2) of it (1/8), then `layers - 1` Conv2D(512, 3x3, stride 2)-BN-ReLU layers (1/16,
1/32 with the book's layers=3: four levels). Head (`build_fcn`): each level but the first gets a
Conv2D(256, 3x3)-BN-ReLU and a bilinear UpSampling2D back to 1/4; then Concatenate, two
Conv2DTranspose(256, 3x3, stride 2)-BN-ReLU, Conv2DTranspose(n_classes, 1) and Softmax. Convolutions
are he_normal as in the book's repository; only the backbone's carry its L2 penalty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import keras
from keras import layers

from adl_runner.kernel.checks import require_rank, shape_text
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.resnet import resnet_backbone, resnet_depth
from adl_runner.models.segmentation.figures import write_predictions
from adl_runner.models.segmentation.model import SegmentationModel
from adl_runner.models.segmentation.predict import predict_masks

BACKBONE_STRIDE = 4
"""The backbone's last stage is 1/4 of the input (two stride-2 stages)."""


@dataclass
class FCNOptions:
    """FCN (ch. 12): the book's defaults are ResNet56v2 and a 4-level pyramid (--layers 3)."""

    layers: int = ranged(3, at_least=1)
    """The book's --layers: pyramid levels after the backbone's (AveragePooling2D, then layers - 1 stride-2 convs)."""
    backbone_n: int = ranged(6, at_least=1)
    """Blocks per ResNet v2 stage: depth 9n+2 (6: the book's ResNet56v2)."""


def conv_bn_relu(x: keras.KerasTensor, filters: int, strides: int, name: str, transpose: bool = False) -> keras.KerasTensor:
    """The book's `conv_layer` / `tconv_layer`: (transposed) Conv2D 3x3 he_normal, BN, ReLU."""
    conv = layers.Conv2DTranspose if transpose else layers.Conv2D
    x = conv(filters, 3, strides=strides, padding="same", kernel_initializer="he_normal", name=f"{'t' * transpose}conv_{name}")(x)
    return layers.Activation("relu", name=f"relu_{name}")(layers.BatchNormalization(name=f"bn_{name}")(x))


def features_pyramid(x: keras.KerasTensor, n_layers: int) -> list[keras.KerasTensor]:
    """Listing 12.3.1: the levels at 1/4, 1/8, 1/16, ... of the input (module docstring)."""
    x = layers.AveragePooling2D(pool_size=2, name="pool1")(x)
    levels = [x]
    for i in range(2, n_layers + 1):
        x = conv_bn_relu(x, 512, strides=2, name=f"layer{i}")
        levels.append(x)
    return levels


def check_input(input_shape: tuple[int, ...], n_layers: int) -> tuple[int, int, int]:
    """(H, W, C), or an IncompatibleError saying which sizes work: every level must upsample back to
    exactly 1/4 of the input, so H and W are multiples of 4 x 2^layers."""
    shape = require_rank("fcn", input_shape, 3, "image")
    multiple = BACKBONE_STRIDE * 2 ** n_layers
    if shape[0] % multiple or shape[1] % multiple:
        raise IncompatibleError(
            f"fcn with model.layers={n_layers} needs a height and width that are multiples of {multiple}, got "
            f"{shape_text(shape)}; e.g. 480x640 (the book), 240x320, 128x160: set dataset.options.image_size")
    return shape


def fcn_network(input_shape: tuple[int, ...], n_classes: int, n_layers: int = 3, backbone_n: int = 6) -> keras.Model:
    """Listing 12.3.2: image (H, W, C) -> per-pixel softmax (H, W, n_classes)."""
    inputs = keras.Input(shape=input_shape, name="image")
    backbone = resnet_backbone(tuple(input_shape), version=2, n=backbone_n)
    main = backbone(inputs)[-1]
    upsampled = [main]
    for i, level in enumerate(features_pyramid(main, n_layers), start=1):
        x = conv_bn_relu(level, 256, strides=1, name=f"fcn_{4 * 2 ** i}")
        upsampled.append(layers.UpSampling2D(size=2 ** i, interpolation="bilinear", name=f"fcn_{4 * 2 ** i}_up2d")(x))
    x = layers.Concatenate(name="pyramid")(upsampled)
    x = conv_bn_relu(x, 256, strides=2, name="up_x2", transpose=True)
    x = conv_bn_relu(x, 256, strides=2, name="up_x4", transpose=True)
    x = layers.Conv2DTranspose(n_classes, 1, padding="same", kernel_initializer="he_normal", name="pre_activation")(x)
    outputs = layers.Softmax(name="segmentation")(x)
    return keras.Model(inputs, outputs, name=f"ResNet{resnet_depth(2, backbone_n)}v2_{n_layers}layer_fcn")


def trained_options(model: keras.Model) -> dict[str, int]:
    """The FCNOptions a loaded FCN was built with, read from its network: `layers` (one upsampled
    pyramid level each) and `backbone_n` (from the backbone's depth, 9n + 2)."""
    network = getattr(model, "network", None)
    backbones = [layer.name for layer in getattr(network, "layers", ()) if re.fullmatch(r"resnet\d+_v2_backbone", layer.name)]
    if not isinstance(model, SegmentationModel) or len(backbones) != 1:
        raise IncompatibleError(f"the checkpoint holds a '{model.name}' model, not an fcn (a ResNet v2 backbone and pyramid)")
    levels = sum(layer.name.endswith("_up2d") for layer in network.layers)
    depth = int(re.findall(r"\d+", backbones[0])[0])
    return {"layers": levels, "backbone_n": (depth - 2) // 9}


def for_inference(model: keras.Model, opts: FCNOptions) -> None:
    """Every FCN option fixes the network: one given with a checkpoint must be the checkpoint's own,
    else it would be silently ignored."""
    for key, trained in trained_options(model).items():
        if getattr(opts, key) != trained:
            raise IncompatibleError(f"model.{key}={getattr(opts, key)} cannot change a trained fcn: the checkpoint's "
                                    f"model.{key} is {trained}; leave it out (or train a new run)")


@MODELS.register("fcn", FitSpec(options=FCNOptions, view="image", objective="self", input_kind="masks",
                                evaluators=("segmentation",), artifacts=write_predictions, predict=predict_masks,
                                for_inference=for_inference))
def build_fcn(opts: FCNOptions, ctx: BuildContext) -> SegmentationModel:
    """ResNet56v2 with a 4-level pyramid, 4 classes at 480x640 (the book)."""
    shape = check_input(ctx.input_shape, opts.layers)
    if ctx.num_classes < 2:
        raise IncompatibleError(f"fcn needs at least 2 classes (background and one more), got {ctx.num_classes}")
    network = fcn_network(shape, ctx.num_classes, opts.layers, opts.backbone_n)
    return SegmentationModel(network, class_names=ctx.class_names, name="fcn")
