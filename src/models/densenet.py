"""DenseNet-BC for CIFAR-10: Listing 2.4.1 (`densenet-cifar10-2.4.1.py`), book and companion repo.

Stem BN-ReLU-Conv(2k, 3x3) concatenated with the input image; dense blocks of bottlenecks
BN-ReLU-Conv(4k, 1x1)-BN-ReLU-Conv(k, 3x3) each concatenated to its input; BN-Conv(1x1)-AvgPool
transitions (no ReLU, as in the book) between blocks; the CIFAR head shared with ResNet.
"""

from dataclasses import dataclass

import keras
from keras import layers

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.resnet import HEAD_POOL, cifar_head, require_input_size


@dataclass
class DenseNetOptions:
    """DenseNet-BC of Listing 2.4.1 (CIFAR-10, 32x32 inputs); defaults give DenseNet-BC-100 with k=12."""

    depth: int = 100
    """Network depth; each dense block gets (depth - 4) / (2 * num_dense_blocks) bottleneck layers (16)."""
    growth_rate: int = ranged(12, at_least=1)
    """k: channels each bottleneck adds; its 1x1 conv has 4k filters and the stem conv 2k."""
    num_dense_blocks: int = ranged(3, at_least=1)
    """Dense blocks, bridged by num_dense_blocks - 1 transitions that each halve the map (3 needs 32x32)."""
    compression: float = ranged(0.5, above=0, at_most=1)
    """Theta: a transition keeps int((filters + bottlenecks * k) * compression) channels."""
    dropout: float = ranged(0.0, at_least=0, below=1)
    """Dropout after every bottleneck and transition conv. The book uses Dropout(0.2) only when training
    without data augmentation and none with it (its reported 93.74% run); 0 = no Dropout layers."""


def _bottleneck_layers(opts: DenseNetOptions) -> int:
    """Bottlenecks per block; the depth must split evenly (the book silently floors)."""
    span = 2 * opts.num_dense_blocks  # two convs per bottleneck, per block
    if opts.depth <= 4 or (opts.depth - 4) % span != 0:
        raise ConfigError(
            f"densenet_bc: depth - 4 must be a positive multiple of 2 * num_dense_blocks = {span}, "
            f"got depth {opts.depth} (e.g. {4 + 16 * span})"
        )
    return (opts.depth - 4) // span


def _conv(filters: int, kernel_size: int) -> layers.Conv2D:
    return layers.Conv2D(filters, kernel_size, padding="same", kernel_initializer="he_normal")


def _bn_relu_conv(x: keras.KerasTensor, filters: int, kernel_size: int, dropout: float) -> keras.KerasTensor:
    """The DenseNet composite function BN-ReLU-Conv [-Dropout]."""
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    x = _conv(filters, kernel_size)(x)
    return layers.Dropout(dropout)(x) if dropout > 0 else x


def _dense_block(x: keras.KerasTensor, bottlenecks: int, k: int, dropout: float) -> keras.KerasTensor:
    for _ in range(bottlenecks):
        y = _bn_relu_conv(x, 4 * k, 1, dropout)
        y = _bn_relu_conv(y, k, 3, dropout)
        x = layers.concatenate([x, y])
    return x


def _transition(x: keras.KerasTensor, filters: int, dropout: float) -> keras.KerasTensor:
    """BN-Conv(1x1)-AvgPool(2): the book has no ReLU here (the paper does)."""
    y = _conv(filters, 1)(layers.BatchNormalization()(x))
    if dropout > 0:
        y = layers.Dropout(dropout)(y)
    return layers.AveragePooling2D(pool_size=2)(y)  # Keras 3 has no default pool_size here


@MODELS.register("densenet_bc", FitSpec(options=DenseNetOptions, view="image"))
def build_densenet_bc(opts: DenseNetOptions, ctx: BuildContext) -> keras.Model:
    """DenseNet-BC-{depth} with growth rate k, e.g. 'densenet_bc100_k12' for the defaults."""
    bottlenecks = _bottleneck_layers(opts)
    k = opts.growth_rate
    name = f"densenet_bc{opts.depth}_k{k}"
    transitions = opts.num_dense_blocks - 1
    shape = require_input_size(
        name, ctx.input_shape, HEAD_POOL * 2**transitions,
        f"{transitions} stride-2 transitions then an 8x8 average pool",
    )

    inputs = keras.Input(shape=shape)
    x = _bn_relu_conv(inputs, 2 * k, 3, dropout=0.0)  # the book's stem has no dropout
    x = layers.concatenate([inputs, x])
    # The book tracks the channel count from 2k, not 2k + C: the input channels concatenated by the
    # stem are left out of the first transition's width (108, not 109, for CIFAR).
    filters = 2 * k
    for block in range(opts.num_dense_blocks):
        x = _dense_block(x, bottlenecks, k, opts.dropout)
        if block < transitions:
            filters = int((filters + bottlenecks * k) * opts.compression)
            x = _transition(x, filters, opts.dropout)
    return keras.Model(inputs, cifar_head(x, ctx.num_classes), name=name)
