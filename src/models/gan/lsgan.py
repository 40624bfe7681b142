"""LSGAN (Listing 5.2.1): DCGAN's networks with a linear D and least-squares losses (Eqs. 5.2.1-5.2.2)."""

from __future__ import annotations

from typing import Any

import keras

from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.gan import losses
from adl_runner.models.gan.base import GAN
from adl_runner.models.gan.dcgan import unconditional_networks
from adl_runner.models.gan.hooks import GAN_HOOKS
from adl_runner.models.gan.options import BookGANOptions, check_gan_options, gan_arguments


@keras.saving.register_keras_serializable(package="adl_runner")
class LSGAN(GAN):
    def discriminator_losses(self, real_out: Any, fake_out: Any, real: dict, fake: dict) -> dict[str, Any]:
        return {"d_loss": (losses.least_squares(1.0, real_out) + losses.least_squares(0.0, fake_out)) / 2.0}

    def generator_losses(self, fake_out: Any, fake: dict) -> dict[str, Any]:
        return {"g_loss": losses.least_squares(1.0, fake_out)}


@MODELS.register("lsgan", FitSpec(options=BookGANOptions, view="image", objective="self", **GAN_HOOKS))
def build_lsgan(opts: BookGANOptions, ctx: BuildContext) -> LSGAN:
    g, d = unconditional_networks(opts, check_gan_options("lsgan", opts, ctx.input_shape), None)
    return LSGAN(g, d, **gan_arguments(opts, ctx.seed), name="lsgan")
