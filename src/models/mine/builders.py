"""The two registered MINE families: `mine` (SimpleMINE on the Gaussians, Listing 13.8.2) and
`mine_encoder` (the VGG encoder, T with 1,024 hidden units and the linear probe, Listings 13.9.1-13.9.3)."""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from adl_runner.kernel.checks import require_rank
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.mine.figures import write_mi_curve
from adl_runner.models.mine.model import MINE, encoded_mine, simple_mine
from adl_runner.models.mine.probe import LinearProbe
from adl_runner.models.vgg import vgg_backbone


@dataclass
class MINEOptions:
    """SimpleMINE (Listing 13.8.2) and how its bound is trained."""

    hidden_units: int = ranged(16, at_least=1)
    """Units of T's Dense layer on x and on y (the book: 16 on the Gaussians, 1,024 on MNIST)."""
    bias_correction: bool = False
    """The MINE paper's moving-average correction of the gradient of log E[e^T] (off in the book)."""
    ma_rate: float = ranged(0.01, above=0, at_most=1)
    """Rate of that moving average (the paper's 0.01)."""
    trace_steps: int = ranged(10_000, at_least=1)
    """Steps of the per-step MI kept for mi_per_step.png (the last ones of a longer run)."""


@dataclass
class MINEEncoderOptions(MINEOptions):
    """MINE on MNIST: x = X, y = G(X) through one VGG 'F' encoder, then the linear probe."""

    hidden_units: int = ranged(1024, at_least=1)
    latent_dim: int = ranged(10, at_least=1)
    """Size of the encoder's linear embedding (the book's --latent-dim: 10; it also tries 16, 32, 64)."""
    book_compat: bool = False
    """True: the probe trains and is scored on the test embeddings (the book's protocol); False:
    trained on the training split's, scored on the test split's. A checkpoint takes either."""
    probe_epochs: int = ranged(10, at_least=1)
    probe_batch_size: int = ranged(128, at_least=1)


@MODELS.register("mine", FitSpec(options=MINEOptions, view="flat", objective="self", input_kind="synthetic",
                                 evaluators=("mine_heldout",), artifacts=write_mi_curve))
def build_mine(opts: MINEOptions, ctx: BuildContext) -> MINE:
    """SimpleMINE on (x, y) pairs of scalars: 81 params at 16 hidden units."""
    (dim,) = require_rank("mine", ctx.input_shape, 1, "flat")
    return MINE(simple_mine(dim, opts.hidden_units, name="simple_mine"), bias_correction=opts.bias_correction,
                ma_rate=opts.ma_rate, trace_steps=opts.trace_steps, name="mine")


def probe_of(opts: MINEEncoderOptions, seed: int) -> LinearProbe:
    return LinearProbe(book_compat=opts.book_compat, epochs=opts.probe_epochs, batch_size=opts.probe_batch_size, seed=seed)


def for_inference(model: keras.Model, opts: MINEEncoderOptions) -> None:
    """The command's probe settings on a loaded encoder (`book_compat` scores either protocol);
    the network's sizes must be the checkpoint's."""
    if not isinstance(model, MINE) or model.probe is None:
        raise IncompatibleError(f"the checkpoint holds a '{model.name}' model, not a MINE encoder")
    trained = {"latent_dim": int(model.encoder.outputs[0].shape[-1]),
               "hidden_units": int(model.statistic.get_layer("dense_x").units)}
    for key, value in trained.items():
        if getattr(opts, key) != value:
            raise IncompatibleError(f"model.{key}={getattr(opts, key)} cannot change a trained MINE encoder (its model.{key} "
                                    f"is {value}); book_compat, probe_epochs and probe_batch_size apply to a checkpoint")
    model.probe = probe_of(opts, model.probe.seed)


@MODELS.register("mine_encoder", FitSpec(options=MINEEncoderOptions, view="image", objective="self", input_kind="views",
                                         evaluators=("mine_probe",), artifacts=write_mi_curve,
                                         for_inference=for_inference,
                                         inference_options=("book_compat", "probe_epochs", "probe_batch_size")))
def build_mine_encoder(opts: MINEEncoderOptions, ctx: BuildContext) -> MINE:
    """VGG 'F' -> Flatten -> Dense(latent_dim) shared by X and G(X), T on the two embeddings."""
    shape = require_rank("mine_encoder", ctx.input_shape, 3, "image")
    image = keras.Input(shape)
    embedding = layers.Dense(opts.latent_dim, name="encoded_x")(layers.Flatten()(vgg_backbone(shape)(image)))
    encoder = keras.Model(image, embedding, name="encoder")
    network = encoded_mine(encoder, simple_mine(opts.latent_dim, opts.hidden_units))
    return MINE(network, bias_correction=opts.bias_correction, ma_rate=opts.ma_rate, trace_steps=opts.trace_steps,
                probe=probe_of(opts, ctx.seed).config(), name="mine_encoder")
