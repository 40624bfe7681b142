"""Pattanayak's MLP GAN (Pro Deep Learning with TensorFlow, Listing 6-5): G 100-150-300-784 (tanh),
D 784-300-150-1 with dropout, both truncated-normal(0.1) initialised, MNIST scaled to [-1, 1],
two Adam(1e-4) optimizers, batch 256, 60,000 steps, a 6 x 6 grid of 36 samples.

The losses are computed on D's logits (the listing took logs of sigmoid outputs, which is
numerically unsafe); `g_loss: non_saturating` (the listing) minimises -log D(G(z)),
`saturating` the original minimax log(1 - D(G(z))).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras

from adl_runner.kernel.checks import require_rank
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.gan import losses
from adl_runner.models.gan.base import GAN
from adl_runner.models.gan.hooks import GAN_HOOKS
from adl_runner.models.gan.networks import mlp_discriminator, mlp_generator

G_LOSSES = ("non_saturating", "saturating")


@dataclass
class MLPGANOptions:
    """Listing 6-5's hyperparameters."""

    latent_dim: int = ranged(100, at_least=1)
    """Size of the noise z ~ U(-1, 1)."""
    hidden: list[int] = ranged(default_factory=lambda: [150, 300], at_least=1, nonempty=True)
    """G's hidden widths (D uses them reversed: 300, 150)."""
    dropout: float = ranged(0.3, at_least=0, below=1)
    """D's dropout rate (the listing's keep probability 0.7)."""
    init_stddev: float = ranged(0.1, above=0)
    """Truncated-normal initialiser stddev of every weight."""
    g_loss: str = ranged("non_saturating", choices=G_LOSSES)
    """non_saturating (-log D(G(z)), the listing) or saturating (log(1 - D(G(z))))."""
    d_steps: int = ranged(1, at_least=1)
    """k: discriminator updates per generator update (the listing: 1)."""


@keras.saving.register_keras_serializable(package="adl_runner")
class MLPGAN(GAN):
    source_threshold = 0.0  # D outputs logits
    def __init__(self, *args: Any, saturating: bool = False, **kwargs: Any) -> None:
        self.saturating = bool(saturating)
        super().__init__(*args, **kwargs)

    def discriminator_losses(self, real_out: Any, fake_out: Any, real: dict, fake: dict) -> dict[str, Any]:
        return {"d_loss": losses.real_fake_bce(real_out, fake_out, from_logits=True)}

    def generator_losses(self, fake_out: Any, fake: dict) -> dict[str, Any]:
        if self.saturating:  # minimise log(1 - D(G(z))) = -BCE(0, D(G(z)))
            return {"g_loss": -losses.bce_logits(0.0, fake_out)}
        return {"g_loss": losses.bce_logits(1.0, fake_out)}

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "saturating": self.saturating}


@MODELS.register("gan_mlp", FitSpec(options=MLPGANOptions, view="flat", objective="self",
                 batches_per_step=lambda opts: opts.d_steps, **GAN_HOOKS))
def build_gan_mlp(opts: MLPGANOptions, ctx: BuildContext) -> MLPGAN:
    """G 296,434 + D 280,801 params on MNIST."""
    (dim,) = require_rank("gan_mlp", ctx.input_shape, 1, "flat")
    g = mlp_generator(opts.latent_dim, opts.hidden, dim, opts.init_stddev)
    d = mlp_discriminator(dim, list(reversed(opts.hidden)), opts.dropout, opts.init_stddev)
    return MLPGAN(g, d, d_steps=opts.d_steps, signed_images=True, g_lr_scale=1.0, grid_size=36,
                  saturating=opts.g_loss == "saturating", seed=ctx.seed, name="gan_mlp")
