"""DCGAN (Listings 4.2.1-4.2.4): the book's G and D with binary cross-entropy, RMSprop 2e-4 / 1e-4."""

from __future__ import annotations

from typing import Any

import keras

from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.gan import losses
from adl_runner.models.gan.base import GAN
from adl_runner.models.gan.hooks import GAN_HOOKS
from adl_runner.models.gan.networks import discriminator, generator, latent_input
from adl_runner.models.gan.options import BookGANOptions, check_gan_options, gan_arguments


@keras.saving.register_keras_serializable(package="adl_runner")
class DCGAN(GAN):
    def discriminator_losses(self, real_out: Any, fake_out: Any, real: dict, fake: dict) -> dict[str, Any]:
        return {"d_loss": losses.real_fake_bce(real_out, fake_out)}

    def generator_losses(self, fake_out: Any, fake: dict) -> dict[str, Any]:
        return {"g_loss": losses.bce(1.0, fake_out)}


def unconditional_networks(opts: BookGANOptions, shape: tuple[int, int, int], activation: str | None) -> tuple[keras.Model, keras.Model]:
    """G(z) and D(x) of `lib/gan.py` with D's output `activation` (sigmoid, or linear for WGAN/LSGAN)."""
    g = generator([latent_input("z", opts.latent_dim)], shape)
    d = discriminator(keras.Input(shape=shape, name="image"), activation=activation,
                      batch_norm=opts.discriminator_batch_norm)
    return g, d


@MODELS.register("dcgan", FitSpec(options=BookGANOptions, view="image", objective="self", **GAN_HOOKS))
def build_dcgan(opts: BookGANOptions, ctx: BuildContext) -> DCGAN:
    """G 1,301,505 + D 1,080,577 params on MNIST."""
    g, d = unconditional_networks(opts, check_gan_options("dcgan", opts, ctx.input_shape), "sigmoid")
    return DCGAN(g, d, **gan_arguments(opts, ctx.seed), name="dcgan")
