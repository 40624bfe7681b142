"""ResNet v1 and v2 for CIFAR-10: Listing 2.2.1 (`resnet-cifar10-2.2.1.py`), book and companion repo.

v1 (He et al. 2015): 3 stacks of n basic blocks {3x3 conv-BN-ReLU, 3x3 conv-BN} + shortcut, ReLU after the
add; depth 6n+2. v2 (He et al. 2016): 3 stages of n pre-activation bottlenecks {1x1, 3x3, 1x1 BN-ReLU-conv}
+ shortcut, no ReLU after the add; depth 9n+2. Both end in the CIFAR head shared with DenseNet.
Without the head, `resnet_backbone` gives the three stages' feature maps (SSD and FCN, ch. 11-12).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import keras
from keras import layers

from adl_runner.kernel.checks import require_rank, shape_text
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.classifiers import l2_or_none

# The CIFAR models downsample by 2 per stage and then average-pool an 8x8 map down to 1x1.
HEAD_POOL = 8


def require_input_size(model: str, input_shape: Sequence[int], size: int, why: str) -> tuple[int, ...]:
    """The (H, W, C) shape; IncompatibleError unless H == W == size (the fixed 8x8 head pool needs it)."""
    shape = require_rank(model, input_shape, 3, "image")
    if shape[:2] != (size, size):
        raise IncompatibleError(f"{model} needs {size}x{size} inputs ({why}), got {shape_text(shape)}")
    return shape


def cifar_head(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    """AveragePooling2D(8) -> Flatten -> Dense softmax (he_normal), shared by ResNet and DenseNet."""
    x = layers.AveragePooling2D(pool_size=HEAD_POOL)(x)
    x = layers.Flatten()(x)
    return layers.Dense(num_classes, activation="softmax", kernel_initializer="he_normal")(x)


def resnet_layer(
    x: keras.KerasTensor,
    filters: int = 16,
    kernel_size: int = 3,
    strides: int = 1,
    activation: str | None = "relu",
    batch_normalization: bool = True,
    conv_first: bool = True,
    l2: float = 1e-4,
) -> keras.KerasTensor:
    """Conv-BN-activation (conv_first, v1) or BN-activation-conv (pre-activation, v2)."""
    conv = layers.Conv2D(
        filters,
        kernel_size=kernel_size,
        strides=strides,
        padding="same",
        kernel_initializer="he_normal",
        kernel_regularizer=l2_or_none(l2, "resnet"),
    )
    if conv_first:
        x = conv(x)
    if batch_normalization:
        x = layers.BatchNormalization()(x)
    if activation is not None:
        x = layers.Activation(activation)(x)
    if not conv_first:
        x = conv(x)
    return x


def _resnet_v1_stages(x: keras.KerasTensor, n: int, l2: float) -> list[keras.KerasTensor]:
    x = resnet_layer(x, l2=l2)
    filters = 16
    stages = []
    for stack in range(3):
        for block in range(n):
            # The first block of stacks 1 and 2 halves the map and doubles the filters.
            strides = 2 if stack > 0 and block == 0 else 1
            y = resnet_layer(x, filters, strides=strides, l2=l2)
            y = resnet_layer(y, filters, activation=None, l2=l2)
            if strides == 2:
                # Linear 1x1 projection so the shortcut matches the new shape.
                x = resnet_layer(
                    x, filters, kernel_size=1, strides=2, activation=None, batch_normalization=False, l2=l2
                )
            x = layers.Activation("relu")(layers.add([x, y]))
        stages.append(x)
        filters *= 2
    # v1 has no BN after the last add.
    return stages


def _resnet_v2_stages(x: keras.KerasTensor, n: int, l2: float) -> list[keras.KerasTensor]:
    filters_in = 16
    stages = []
    # The stem is conv-BN-ReLU, so the first unit of stage 0 below skips its own BN-ReLU.
    x = resnet_layer(x, filters_in, conv_first=True, l2=l2)
    for stage in range(3):
        filters_out = filters_in * (4 if stage == 0 else 2)
        for block in range(n):
            first = block == 0
            stem_follower = stage == 0 and first
            strides = 2 if stage > 0 and first else 1
            y = resnet_layer(
                x,
                filters_in,
                kernel_size=1,
                strides=strides,
                activation=None if stem_follower else "relu",
                batch_normalization=not stem_follower,
                conv_first=False,
                l2=l2,
            )
            y = resnet_layer(y, filters_in, conv_first=False, l2=l2)
            y = resnet_layer(y, filters_out, kernel_size=1, conv_first=False, l2=l2)
            if first:
                # Projection shortcut: the channel count (and, after stage 0, the size) changes.
                x = resnet_layer(
                    x, filters_out, kernel_size=1, strides=strides, activation=None,
                    batch_normalization=False, l2=l2,
                )
            x = layers.add([x, y])  # pre-activation: no ReLU after the add
        stages.append(x)
        filters_in = filters_out
    # The last add is not normalized yet: BN-ReLU before the head (the earlier stages' adds are
    # normalized by the next unit's own BN-ReLU, inside the body or in a detector's head).
    stages[-1] = layers.Activation("relu")(layers.BatchNormalization()(x))
    return stages


@dataclass
class ResNetOptions:
    """ResNet v1/v2 of Listing 2.2.1 (CIFAR-10, 32x32 inputs)."""

    version: int = ranged(1, choices=(1, 2))
    """1: ResNet v1 (basic blocks, depth 6n+2); 2: ResNet v2 (pre-activation bottlenecks, depth 9n+2)."""
    n: int = ranged(3, at_least=1)
    """Residual blocks per stage: v1 n=3/5/7/9/18 give ResNet20/32/44/56/110; v2 n=6/12 give ResNet56/110."""
    l2: float = ranged(1e-4, at_least=0)
    """Kernel L2 factor on every Conv2D (the repo's value; not on the Dense head); 0 = none."""


def resnet_depth(version: int, n: int) -> int:
    """Number of weighted layers: 6n+2 for v1, 9n+2 for v2."""
    return (6 if version == 1 else 9) * n + 2


def check_resnet(version: int, n: int) -> None:
    if version not in (1, 2):
        raise ConfigError(f"resnet: version must be 1 or 2, got {version}")
    if n < 1:
        raise ConfigError(f"resnet: n must be >= 1, got {n}")


def resnet_stages(inputs: keras.KerasTensor, version: int, n: int, l2: float = 1e-4) -> list[keras.KerasTensor]:
    """The feature maps of the three stages of ResNet v`version` on `inputs` (H, W, C): at 1, 1/2 and
    1/4 of the input size, with 16/32/64 (v1) or 64/128/256 (v2) channels. The last one is what the
    classifier head pools; v2's is BN-ReLU'd, its earlier ones are raw pre-activation sums."""
    check_resnet(version, n)
    return (_resnet_v1_stages if version == 1 else _resnet_v2_stages)(inputs, n, l2)


def resnet_backbone(input_shape: Sequence[int], version: int = 2, n: int = 6, l2: float = 1e-4) -> keras.Model:
    """ResNet v1/v2 without its classifier head: a model whose outputs are the three stages' feature
    maps (`resnet_stages`), for detectors and segmenters that read several scales. Any H and W
    divisible by 4 work; the defaults are the book's ResNet56v2 backbone of chapters 11 and 12."""
    shape = require_rank("resnet backbone", input_shape, 3, "image")
    if shape[0] % 4 or shape[1] % 4:
        raise IncompatibleError(f"a resnet backbone needs a height and width divisible by 4 (two stride-2 stages), got {shape_text(shape)}")
    inputs = keras.Input(shape=shape)
    return keras.Model(inputs, resnet_stages(inputs, version, n, l2), name=f"resnet{resnet_depth(version, n)}_v{version}_backbone")


@MODELS.register("resnet", FitSpec(options=ResNetOptions, view="image"))
def build_resnet(opts: ResNetOptions, ctx: BuildContext) -> keras.Model:
    """ResNet{depth} v{version}, e.g. 'resnet20_v1' for the defaults."""
    depth = resnet_depth(opts.version, opts.n)
    name = f"resnet{depth}_v{opts.version}"
    shape = require_input_size(
        name, ctx.input_shape, 4 * HEAD_POOL, "two stride-2 stages then an 8x8 average pool"
    )

    inputs = keras.Input(shape=shape)
    features = resnet_stages(inputs, opts.version, opts.n, opts.l2)[-1]
    return keras.Model(inputs, cifar_head(features, ctx.num_classes), name=name)
