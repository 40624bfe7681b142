"""WGAN (Listings 5.1.1-5.1.2): a linear critic trained n_critic times per generator step with the
Wasserstein loss and weight clipping; RMSprop 5e-5 for both networks.

As in the book's loop, each critic iteration is two updates, one on a real batch (target +1) and
one on a fake batch (target -1), then every critic weight, biases included, is clipped to
[-0.01, 0.01]; the clipping runs inside the compiled step, not through get/set_weights. With
BatchNorm in the critic (`discriminator_batch_norm`) the moving statistics are clipped too, as the
book's `get_weights()` loop did.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from adl_runner.kernel.custom_step import minimize
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.gan import losses
from adl_runner.models.gan.base import GAN
from adl_runner.models.gan.dcgan import unconditional_networks
from adl_runner.models.gan.hooks import GAN_HOOKS
from adl_runner.models.gan.options import WGANOptions, check_gan_options, gan_arguments


@keras.saving.register_keras_serializable(package="adl_runner")
class WGAN(GAN):
    tracked = ("d_loss", "d_real", "d_fake", "g_loss")
    source_threshold = 0.0
    """A critic score above 0 counts as 'real'. (The book's `acc` thresholds the linear critic at
    0.5 against targets +1 / -1, so its fake half never scores: a number without meaning.)"""

    def discriminator_losses(self, real_out: Any, fake_out: Any, real: dict, fake: dict) -> dict[str, Any]:
        parts = {"d_real": losses.wasserstein(1.0, real_out), "d_fake": losses.wasserstein(-1.0, fake_out)}
        # The book logs the average of the two halves: an estimate of -W/2.
        return {"d_loss": (parts["d_real"] + parts["d_fake"]) / 2.0, **parts}

    def update_discriminator(self, real_images: Any, real: dict, fake_images: Any, fake: dict) -> dict[str, Any]:
        variables = self.discriminator.trainable_variables
        parts, outputs = {}, {}
        for key, images, conditions, sign in (("d_real", real_images, real, 1.0), ("d_fake", fake_images, fake, -1.0)):
            with tf.GradientTape() as tape:
                outputs[key] = self.discriminate(images, conditions)
                parts[key] = losses.wasserstein(sign, outputs[key])
            minimize(self.d_optimizer, tape, parts[key], variables)
        return {"d_loss": (parts["d_real"] + parts["d_fake"]) / 2.0, **parts,
                **self.discriminator_accuracies(outputs["d_real"], outputs["d_fake"])}

    def generator_losses(self, fake_out: Any, fake: dict) -> dict[str, Any]:
        return {"g_loss": losses.wasserstein(1.0, fake_out)}


@MODELS.register("wgan", FitSpec(options=WGANOptions, view="image", objective="self",
                 batches_per_step=lambda opts: opts.n_critic, **GAN_HOOKS))
def build_wgan(opts: WGANOptions, ctx: BuildContext) -> WGAN:
    shape = check_gan_options("wgan", opts, ctx.input_shape)
    g, d = unconditional_networks(opts, shape, None)
    return WGAN(g, d, d_steps=opts.n_critic, clip_value=opts.clip_value, **gan_arguments(opts, ctx.seed), name="wgan")
