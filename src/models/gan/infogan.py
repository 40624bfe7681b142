"""InfoGAN (Listings 6.1.1-6.1.4): ACGAN's conditioning plus two continuous codes c1, c2 ~ N(0, 0.5)
that the discriminator's Q heads must recover (Eqs. 6.1.1-6.1.2).

G([z, labels, code1, code2]) and D -> [source, label, code1, code2] are `lib/gan.py`'s. D and G both
minimise BCE + CCE + 0.5 mi_loss(c1) + 0.5 mi_loss(c2), the book's compiled loss weights
[1, 1, 0.5, 0.5]. Real images get their true labels (semi-supervised) and random codes unrelated to
the image, as the book's loop does (the base's `real_conditions`). The noise is 62-dim, as the
official script runs (the listing's signature says 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import keras

from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.gan import losses
from adl_runner.models.gan.base import GAN
from adl_runner.models.gan.hooks import CODE_SWEEP_EXAMPLE, GAN_HOOKS, CodeSample
from adl_runner.models.gan.networks import discriminator, generator, latent_input
from adl_runner.models.gan.options import BookGANOptions, check_gan_options, gan_arguments

CODES = ("code1", "code2")


@dataclass
class InfoGANOptions(BookGANOptions):
    """InfoGAN (Listing 6.1.1): the ACGAN networks with two continuous codes."""

    latent_dim: int = ranged(62, at_least=1)
    """Size of the noise z ~ U(-1, 1): 62 as the official script runs (and the InfoGAN paper)."""
    label_weight: float = ranged(1.0, at_least=0)
    """Weight of the discrete code's (label's) cross-entropy: lambda = 1 for discrete codes."""
    code_weight: float = ranged(0.5, at_least=0)
    """Weight of each continuous code's mi_loss: the book's lambda = 0.5 (InfoGAN: < 1)."""


@dataclass
class InfoGANSample(CodeSample):
    """task=sample of InfoGAN: the digit, and each continuous code fixed or swept (the book's test script)."""

    sweeps: ClassVar[dict[str, str]] = {name: CODE_SWEEP_EXAMPLE for name in CODES}
    code1: Optional[str] = None
    """The first continuous code: a number for every image, or lo:hi to sweep it across the grid (-2:2)."""
    code2: Optional[str] = None
    """The second continuous code, like code1."""


@keras.saving.register_keras_serializable(package="adl_runner")
class InfoGAN(GAN):
    tracked = ("d_loss", "d_label_acc", "d_mi_loss", "g_loss", "g_label_acc", "g_mi_loss")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, label_weight: float = 1.0,
                 code_weight: float = 0.5, **kwargs: Any) -> None:
        self.label_weight = float(label_weight)
        self.code_weight = float(code_weight)
        super().__init__(generator, discriminator, **kwargs)

    def auxiliary_losses(self, outputs: Any, conditions: dict) -> tuple[Any, Any]:
        """The label cross-entropy and the codes' summed mi_loss of one half-batch."""
        _, label, *codes = outputs
        mi = sum(losses.mutual_information(conditions[name], q) for name, q in zip(CODES, codes))
        return losses.categorical(conditions["labels"], label), mi

    def discriminator_losses(self, real_out: Any, fake_out: Any, real: dict, fake: dict) -> dict[str, Any]:
        # The book's D sees [real; fake] as one batch, so every term is the mean of the two halves.
        (real_label, real_mi), (fake_label, fake_mi) = self.auxiliary_losses(real_out, real), self.auxiliary_losses(fake_out, fake)
        label_loss, mi = (real_label + fake_label) / 2.0, (real_mi + fake_mi) / 2.0
        return {
            "d_loss": losses.real_fake_bce(real_out[0], fake_out[0]) + self.label_weight * label_loss + self.code_weight * mi,
            "d_label_acc": losses.label_accuracy(real["labels"], real_out[1]),  # on real digits
            "d_mi_loss": mi,
        }

    def generator_losses(self, fake_out: Any, fake: dict) -> dict[str, Any]:
        label_loss, mi = self.auxiliary_losses(fake_out, fake)
        return {
            "g_loss": losses.bce(1.0, fake_out[0]) + self.label_weight * label_loss + self.code_weight * mi,
            "g_label_acc": losses.label_accuracy(fake["labels"], fake_out[1]),
            "g_mi_loss": mi,
        }

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "label_weight": self.label_weight, "code_weight": self.code_weight}


@MODELS.register("infogan", FitSpec(options=InfoGANOptions, view="image", objective="self_conditional",
                                    sample_options=InfoGANSample, **GAN_HOOKS))
def build_infogan(opts: InfoGANOptions, ctx: BuildContext) -> InfoGAN:
    """G 1,138,433 + D 1,606,541 params on MNIST (62-dim noise)."""
    shape = check_gan_options("infogan", opts, ctx.input_shape)
    g = generator([latent_input("z", opts.latent_dim), latent_input("labels", ctx.num_classes),
                   *(latent_input(name, 1) for name in CODES)], shape)
    d = discriminator(keras.Input(shape=shape, name="image"), num_labels=ctx.num_classes, num_codes=len(CODES),
                      batch_norm=opts.discriminator_batch_norm)
    return InfoGAN(g, d, label_weight=opts.label_weight, code_weight=opts.code_weight,
                   **gan_arguments(opts, ctx.seed), name="infogan")
