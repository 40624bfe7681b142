"""ACGAN (Listings 5.3.1-5.3.4): a CGAN generator and a D that sees only the image and also
classifies it (Eqs. 5.3.1-5.3.2: source BCE + label cross-entropy, equal weights)."""

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
class ACGAN(GAN):
    tracked = ("d_loss", "d_label_loss", "d_label_acc", "d_fake_label_acc", "g_loss", "g_label_loss", "g_label_acc")

    def discriminator_losses(self, real_out: Any, fake_out: Any, real: dict, fake: dict) -> dict[str, Any]:
        (real_source, real_label), (fake_source, fake_label) = real_out[:2], fake_out[:2]
        label_loss = (losses.categorical(real["labels"], real_label) + losses.categorical(fake["labels"], fake_label)) / 2.0
        return {
            "d_loss": losses.real_fake_bce(real_source, fake_source) + label_loss,
            "d_label_loss": label_loss,
            "d_label_acc": losses.label_accuracy(real["labels"], real_label),  # on real digits
            "d_fake_label_acc": losses.label_accuracy(fake["labels"], fake_label),
        }

    def generator_losses(self, fake_out: Any, fake: dict) -> dict[str, Any]:
        source, label = fake_out[:2]
        label_loss = losses.categorical(fake["labels"], label)
        return {"g_loss": losses.bce(1.0, source) + label_loss, "g_label_loss": label_loss,
                "g_label_acc": losses.label_accuracy(fake["labels"], label)}


@MODELS.register("acgan", FitSpec(options=BookGANOptions, view="image", objective="self_conditional", **GAN_HOOKS))
def build_acgan(opts: BookGANOptions, ctx: BuildContext) -> ACGAN:
    """G 1,364,225 + D 1,606,283 params on MNIST."""
    shape = check_gan_options("acgan", opts, ctx.input_shape)
    g = generator([latent_input("z", opts.latent_dim), latent_input("labels", ctx.num_classes)], shape)
    d = discriminator(keras.Input(shape=shape, name="image"), num_labels=ctx.num_classes,
                      batch_norm=opts.discriminator_batch_norm)
    return ACGAN(g, d, **gan_arguments(opts, ctx.seed), name="acgan")
