"""Conditional GAN (Listings 4.3.1-4.3.3): the one-hot label enters G with the noise and D as a
second image channel; losses as DCGAN's (Eqs. 4.3.1-4.3.2)."""

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
class CGAN(GAN):
    def discriminate(self, images: Any, conditions: dict[str, Any], training: bool = True) -> Any:
        return self.discriminator([images, conditions["labels"]], training=training)

    def discriminator_losses(self, real_out: Any, fake_out: Any, real: dict, fake: dict) -> dict[str, Any]:
        return {"d_loss": losses.real_fake_bce(real_out, fake_out)}

    def generator_losses(self, fake_out: Any, fake: dict) -> dict[str, Any]:
        return {"g_loss": losses.bce(1.0, fake_out)}


@MODELS.register("cgan", FitSpec(options=BookGANOptions, view="image", objective="self_conditional", **GAN_HOOKS))
def build_cgan(opts: BookGANOptions, ctx: BuildContext) -> CGAN:
    """G 1,364,225 + D 1,090,001 params on MNIST."""
    shape = check_gan_options("cgan", opts, ctx.input_shape)
    g = generator([latent_input("z", opts.latent_dim), latent_input("labels", ctx.num_classes)], shape)
    d = discriminator(keras.Input(shape=shape, name="image"), label_input=latent_input("labels", ctx.num_classes),
                      batch_norm=opts.discriminator_batch_norm)
    return CGAN(g, d, **gan_arguments(opts, ctx.seed), name="cgan")
