"""Chapter 1-2 MNIST classifiers: MLP (Listing 1.3.2), CNN (1.4.1 / 2.1.1), RNN (1.5.1), Y-Network (2.1.2).

Each builder returns an uncompiled functional `keras.Model` ending in a softmax over `num_classes`.
Bad options are `ConfigError`s and impossible inputs `IncompatibleError`s, through the kernel's
shared argument checks (`kernel.checks`).
"""

from dataclasses import dataclass

import keras
from keras import layers

from adl_runner.kernel.checks import require_rank, shape_text
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec

# ---------------------------------------------------------------------------------------------------
# Shared layers (also used by models.resnet and models.densenet)
# ---------------------------------------------------------------------------------------------------


def l2_or_none(value: float, model: str) -> keras.regularizers.Regularizer | None:
    """A kernel L2 regularizer for `value > 0`; no regularizer at all for 0 (not an L2(0) no-op)."""
    if value < 0:
        raise ConfigError(f"{model}: l2 must be >= 0, got {value}")
    return keras.regularizers.L2(value) if value > 0 else None


def softmax_output(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    """Chapter-1 head: `Dense(num_classes)` then a separate softmax Activation, as in the listings."""
    x = layers.Dense(num_classes)(x)
    return layers.Activation("softmax")(x)


# ---------------------------------------------------------------------------------------------------
# MLP: Listing 1.3.2 / Table 1.3.3
# ---------------------------------------------------------------------------------------------------

MLP_ACTIVATIONS = ("relu", "none")


@dataclass
class MLPOptions:
    """Multilayer perceptron of Listing 1.3.2 / Table 1.3.3."""

    hidden_units: list[int] = ranged(default_factory=lambda: [256, 256], at_least=1, at_most=1_000_000, nonempty=True)
    """Units of each hidden Dense layer, in order (Table 1.3.3's 'Layers' column, e.g. [256,512,256])."""
    activation: str = ranged("relu", choices=MLP_ACTIVATIONS)
    """Hidden activation: 'relu', or 'none' for a linear network (Table 1.3.3's 'ReLU None' row)."""
    dropout: float = ranged(0.45, at_least=0, below=1)
    """Dropout rate after each hidden layer's activation; 0 leaves the Dropout layers out."""
    l2: float = ranged(0.0, at_least=0)
    """Kernel L2 factor on every hidden Dense layer (Table 1.3.3 uses 0.001 and 0.01); 0 = none."""


@MODELS.register("mlp", FitSpec(options=MLPOptions, view="flat"))
def build_mlp(opts: MLPOptions, ctx: BuildContext) -> keras.Model:
    """Per hidden layer Dense -> Activation -> Dropout, then Dense(ctx.num_classes) -> softmax.
    The options' ranges are declared on MLPOptions (kernel.ranges) and checked before the build."""
    shape = require_rank("mlp", ctx.input_shape, 1, "flat")
    regularizer = l2_or_none(opts.l2, "mlp")

    inputs = keras.Input(shape=shape)
    x = inputs
    for units in opts.hidden_units:
        x = layers.Dense(units, kernel_regularizer=regularizer)(x)
        if opts.activation != "none":
            x = layers.Activation(opts.activation)(x)
        if opts.dropout > 0:
            x = layers.Dropout(opts.dropout)(x)
    return keras.Model(inputs, softmax_output(x, ctx.num_classes), name="mlp")


# ---------------------------------------------------------------------------------------------------
# CNN: Listing 1.4.1 (and its functional rewrite 2.1.1, which only changes dropout to 0.3)
# ---------------------------------------------------------------------------------------------------


@dataclass
class CNNOptions:
    """Conv-MaxPool stack of Listing 1.4.1 (Listing 2.1.1 is the same network with dropout 0.3)."""

    filters: list[int] = ranged(default_factory=lambda: [64, 64, 64], at_least=1, nonempty=True)
    """Filters of each 'valid' Conv2D; every conv but the last is followed by MaxPooling2D."""
    kernel_size: int = ranged(3, at_least=1)
    """Square kernel size of every Conv2D."""
    pool_size: int = ranged(2, at_least=1)
    """Square MaxPooling2D window (and stride)."""
    dropout: float = ranged(0.2, at_least=0, below=1)
    """Dropout rate after Flatten (Table 1.4.1 also tries 0.4; Listing 2.1.1 uses 0.3); 0 = none."""


def _cnn_final_size(size: int, opts: CNNOptions) -> int:
    """Spatial size after the conv/pool stack: 'valid' conv shrinks by k-1, pooling floors by p."""
    for i in range(len(opts.filters)):
        size -= opts.kernel_size - 1
        if i < len(opts.filters) - 1 and size > 0:
            size //= opts.pool_size
    return size


@MODELS.register("cnn", FitSpec(options=CNNOptions, view="image"))
def build_cnn(opts: CNNOptions, ctx: BuildContext) -> keras.Model:
    """Conv-MaxPool-...-Conv (no pool after the last conv) -> Flatten -> Dropout -> Dense -> softmax."""
    shape = require_rank("cnn", ctx.input_shape, 3, "image")
    # 'valid' convs and pools shrink the map; fail with a message rather than a Keras shape error.
    if min(_cnn_final_size(shape[0], opts), _cnn_final_size(shape[1], opts)) < 1:
        raise IncompatibleError(
            f"cnn: input {shape_text(shape)} is too small for {len(opts.filters)} 'valid' "
            f"{opts.kernel_size}x{opts.kernel_size} convs with {opts.pool_size}x{opts.pool_size} pooling"
        )

    inputs = keras.Input(shape=shape)
    x = inputs
    for i, filters in enumerate(opts.filters):
        x = layers.Conv2D(filters, opts.kernel_size, activation="relu")(x)
        if i < len(opts.filters) - 1:
            x = layers.MaxPooling2D(opts.pool_size)(x)
    x = layers.Flatten()(x)
    if opts.dropout > 0:
        x = layers.Dropout(opts.dropout)(x)
    return keras.Model(inputs, softmax_output(x, ctx.num_classes), name="cnn")


# ---------------------------------------------------------------------------------------------------
# RNN: Listing 1.5.1 (LSTM/GRU are the drop-in replacements the book mentions)
# ---------------------------------------------------------------------------------------------------

RNN_CELLS = {"simple": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}


@dataclass
class RNNOptions:
    """Recurrent classifier of Listing 1.5.1: one recurrent layer reading image rows as timesteps."""

    cell: str = ranged("simple", choices=tuple(RNN_CELLS))
    """Recurrent layer: 'simple' (SimpleRNN, the book's), 'lstm' or 'gru' (the book's drop-in mentions)."""
    units: int = ranged(256, at_least=1)
    """Units of the recurrent layer (Table 1.5.1 also tries 512)."""
    dropout: float = ranged(0.2, at_least=0, below=1)
    """The recurrent layer's input `dropout=` rate (not recurrent_dropout)."""


@MODELS.register("rnn", FitSpec(options=RNNOptions, view="sequence"))
def build_rnn(opts: RNNOptions, ctx: BuildContext) -> keras.Model:
    """Recurrent layer (last state only) -> Dense(ctx.num_classes) -> softmax."""
    shape = require_rank("rnn", ctx.input_shape, 2, "sequence")

    inputs = keras.Input(shape=shape)
    x = RNN_CELLS[opts.cell](opts.units, dropout=opts.dropout)(inputs)
    return keras.Model(inputs, softmax_output(x, ctx.num_classes), name=f"rnn_{opts.cell}")


# ---------------------------------------------------------------------------------------------------
# Y-Network: Listing 2.1.2 (the same image fed to two branches)
# ---------------------------------------------------------------------------------------------------


@dataclass
class YNetOptions:
    """Two-branch Y-Network of Listing 2.1.2; the model takes the same image twice."""

    filters: int = ranged(32, at_least=1)
    """Filters of the first Conv2D of each branch; doubled at every following layer (32, 64, 128)."""
    n_layers: int = ranged(3, at_least=1)
    """Conv2D-Dropout-MaxPooling2D layers per branch."""
    kernel_size: int = ranged(3, at_least=1)
    """Square kernel size of every Conv2D."""
    dropout: float = ranged(0.4, at_least=0, below=1)
    """Dropout rate after every conv and after Flatten; 0 = none."""
    dilation_rate: int = ranged(2, at_least=1)
    """Dilation of the right branch's convs (the left branch is undilated)."""


def _ynet_branch(x: keras.KerasTensor, opts: YNetOptions, dilation_rate: int) -> keras.KerasTensor:
    filters = opts.filters
    for _ in range(opts.n_layers):
        x = layers.Conv2D(
            filters, opts.kernel_size, padding="same", activation="relu", dilation_rate=dilation_rate
        )(x)
        if opts.dropout > 0:
            x = layers.Dropout(opts.dropout)(x)
        x = layers.MaxPooling2D()(x)
        filters *= 2
    return x


@MODELS.register("ynet", FitSpec(options=YNetOptions, view="image", inputs=2))
def build_ynet(opts: YNetOptions, ctx: BuildContext) -> keras.Model:
    """Left and right conv branches -> concatenate -> Flatten -> Dropout -> Dense softmax."""
    shape = require_rank("ynet", ctx.input_shape, 3, "image")
    # 'same' convs keep the size; each 2x2 pool halves it (floored), so it must stay >= 1.
    if min(shape[:2]) < 2**opts.n_layers:
        raise IncompatibleError(
            f"ynet: input {shape_text(shape)} is too small for {opts.n_layers} 2x2 poolings "
            f"(needs at least {2**opts.n_layers}x{2**opts.n_layers})"
        )

    left_inputs = keras.Input(shape=shape, name="left_input")
    right_inputs = keras.Input(shape=shape, name="right_input")
    x = _ynet_branch(left_inputs, opts, dilation_rate=1)
    y = _ynet_branch(right_inputs, opts, dilation_rate=opts.dilation_rate)
    z = layers.Flatten()(layers.concatenate([x, y]))
    if opts.dropout > 0:
        z = layers.Dropout(opts.dropout)(z)
    outputs = layers.Dense(ctx.num_classes, activation="softmax")(z)
    return keras.Model([left_inputs, right_inputs], outputs, name="ynet")
