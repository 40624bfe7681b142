"""CycleGAN (book ch. 7, Listings 7.1.4-7.1.7, Algorithm 7.1.1): two generators, G: source -> target
(the book's `g_target`) and F: target -> source (`g_source`), and two LSGAN discriminators, D_y
(`d_target`) and D_x (`d_source`), trained in one fused, compiled step.

A batch is `(source_batch, target_batch)`, float32 in [0, 1], of static batch size B (the
pipeline drops short batches). Each step, as the book's `train_cyclegan`:

    1. D_y on real y -> 1 and G(x) -> 0            (MSE; G in inference mode, as predict() was)
    2. D_x on real x -> 1 and F(y) -> 0
    3. G and F jointly, with D_x and D_y fixed:
         1.0 x [MSE(D_x(F(y)), 1) + MSE(D_y(G(x)), 1)]        lambda1 L_GAN   (Eqs. 7.1.6-7.1.11)
       + 10  x [L1(F(G(x)), x) + L1(G(F(y)), y)]                lambda2 L_cyc   (Eq. 7.1.12)
       [+ 0.5 x [L1(F(x), x) + L1(G(y), y)]]                    lambda3 L_id    (Eq. 7.1.14, off by default)

Optimizers, as the book's: each D has its own RMSprop(2e-4, decay 6e-8) (the book shares one
instance between the two Ds, which Keras 3 cannot do), and one adversarial RMSprop(1e-4, decay 3e-8)
moves both generators, as the book's single adversarial model did. That optimizer is the model's
`optimizer`: its step counter is the training step.

The two domains arrive unaligned, as the book samples them: the `pairs` input kind's
`PairPipeline` (`data/pipeline.py`) draws each domain's batch t from its own seeded permutation, so
x_i and y_i of a batch are unrelated images. That holds for `dataset=cifar10_gray2rgb` too, whose
gray and colour images are the same array (`data/paired.py` makes the two domains of it); only the
colorization autoencoder trains on the aligned (gray, colour) pairs of one image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

from adl_runner.kernel.checks import require_rank
from adl_runner.kernel.custom_step import ScaledOptimizers, loss_scaled, minimize, scaled_optimizer
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.gan import losses
from adl_runner.models.gan.base import AdversarialModel
from adl_runner.models.gan.cycle_networks import DISCRIMINATORS, DOWNSAMPLING, cycle_discriminator, unet_generator

if TYPE_CHECKING:
    from adl_runner.kernel.hooks import ArtifactSink, DataView, SampleConfig
    from adl_runner.kernel.phases import PhaseRunner

log = logging.getLogger("runner")


@dataclass
class CycleGANOptions:
    """CycleGAN (Listings 7.1.4-7.1.7): the book's defaults are gray -> colour CIFAR-10 (E7.2)."""

    discriminator: str = ranged("patchgan", choices=DISCRIMINATORS)
    """patchgan: D scores 2x2 patches (the listings, E7.2/E7.3); plain: one scalar per image (E7.1/E7.4)."""
    kernel_size: int = ranged(3, at_least=1)
    """Kernel of every conv: 3 for CIFAR (E7.1/E7.2), 5 for MNIST <-> SVHN (E7.3/E7.4)."""
    target_channels: int = ranged(3, at_least=1)
    """Channels of the target domain (3: colour CIFAR, SVHN); the source's are the dataset inputs'."""
    adversarial_weight: float = ranged(1.0, at_least=0)
    """lambda1 of Eq. 7.1.13: weight of the two LSGAN generator losses."""
    cycle_weight: float = ranged(10.0, at_least=0)
    """lambda2 of Eq. 7.1.13: weight of the forward and backward L1 cycle losses."""
    identity: bool = False
    """Add the identity loss of Eq. 7.1.14 (needs equal source and target channels; the book's runs
    do not use it)."""
    identity_weight: float = ranged(0.5, at_least=0)
    """lambda3 of Eq. 7.1.15."""
    g_lr_scale: float = ranged(0.5, above=0)
    """The adversarial (generators') lr and decay relative to each D's (optimizer.*): the book halves both."""
    grid_size: int = ranged(100, at_least=1)
    """Test images in the translation grids: the book's first 100, as 10 x 10 grids."""


@keras.saving.register_keras_serializable(package="adl_runner")
class CycleGAN(AdversarialModel):
    """G = `g_target` (source -> target), F = `g_source`, D_y = `d_target`, D_x = `d_source`."""

    networks = ("g_target", "g_source", "d_target", "d_source")

    def __init__(
        self,
        g_target: keras.Model,
        g_source: keras.Model,
        d_target: keras.Model,
        d_source: keras.Model,
        *,
        adversarial_weight: float = 1.0,
        cycle_weight: float = 10.0,
        identity_weight: float = 0.0,
        g_lr_scale: float = 0.5,
        grid_size: int = 100,
        **kwargs: Any,
    ) -> None:
        tracked = ("d_target_loss", "d_source_loss", "adv_loss", "gan_loss", "cycle_loss")
        super().__init__(tracked + (("identity_loss",) if identity_weight > 0 else ()), **kwargs)
        self.g_target, self.g_source = g_target, g_source
        self.d_target, self.d_source = d_target, d_source
        self.adversarial_weight = float(adversarial_weight)
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.g_lr_scale = float(g_lr_scale)
        self.grid_size = int(grid_size)
        # The fixed test images of the translation grids (zeros until `keep_test_images`).
        self.grid_source = self.fixed_input("source", np.zeros((self.grid_size, *self.source_shape), np.float32))
        self.grid_target = self.fixed_input("target", np.zeros((self.grid_size, *self.target_shape), np.float32))
        self.built = True

    @property
    def source_shape(self) -> tuple[int, ...]:
        return tuple(self.g_target.inputs[0].shape[1:])

    @property
    def target_shape(self) -> tuple[int, ...]:
        return tuple(self.g_source.inputs[0].shape[1:])

    def keep_test_images(self, source: np.ndarray, target: np.ndarray) -> None:
        """Store the grids' fixed test images (the first `grid_size` of each domain)."""
        for name, images, variable in (("source", source, self.grid_source), ("target", target, self.grid_target)):
            if tuple(images.shape[1:]) != tuple(variable.shape[1:]):
                raise IncompatibleError(f"cyclegan was built for {name} images of shape {tuple(variable.shape[1:])}, "
                                        f"the dataset gives {tuple(images.shape[1:])}"
                                        + (" (set model.target_channels)" if name == "target" else ""))
            if len(images) < self.grid_size:
                raise IncompatibleError(f"model.grid_size={self.grid_size} needs that many test images, the dataset "
                                        f"has {len(images)}; lower model.grid_size")
            variable.assign(np.asarray(images[: self.grid_size], np.float32))

    # -- the step --------------------------------------------------------------------------------
    def _update_discriminator(self, discriminator: keras.Model, optimizer: keras.optimizers.Optimizer,
                              real: Any, fake: Any) -> Any:
        """One D update on real -> 1 and fake -> 0 (the book's concatenated batch, MSE)."""
        variables = discriminator.trainable_variables
        with tf.GradientTape() as tape:
            loss = (losses.least_squares(1.0, discriminator(real, training=True))
                    + losses.least_squares(0.0, discriminator(fake, training=True))) / 2.0
        minimize(optimizer, tape, loss, variables)
        return loss

    def generator_losses(self, source: Any, target: Any, training: bool) -> dict[str, Any]:
        """The adversarial model's weighted losses (Eq. 7.1.13 or 7.1.15) and their parts."""
        fake_target = self.g_target(source, training=training)
        fake_source = self.g_source(target, training=training)
        gan = (losses.least_squares(1.0, self.d_source(fake_source, training=False))
               + losses.least_squares(1.0, self.d_target(fake_target, training=False)))
        cycle = (losses.absolute_error(self.g_source(fake_target, training=training), source)
                 + losses.absolute_error(self.g_target(fake_source, training=training), target))
        logs = {"gan_loss": gan, "cycle_loss": cycle}
        total = self.adversarial_weight * gan + self.cycle_weight * cycle
        if self.identity_weight > 0:
            logs["identity_loss"] = (losses.absolute_error(self.g_source(source, training=training), source)
                                     + losses.absolute_error(self.g_target(target, training=training), target))
            total += self.identity_weight * logs["identity_loss"]
        return {"adv_loss": total, **logs}

    def train_step(self, data: Any) -> dict[str, Any]:
        source, target = data
        d_target_loss = self._update_discriminator(self.d_target, self.d_target_optimizer, target,
                                                   self.g_target(source, training=False))
        d_source_loss = self._update_discriminator(self.d_source, self.d_source_optimizer, source,
                                                   self.g_source(target, training=False))
        variables = self.g_target.trainable_variables + self.g_source.trainable_variables
        with tf.GradientTape() as tape:
            g_logs = self.generator_losses(source, target, training=True)
        minimize(self.optimizer, tape, g_logs["adv_loss"], variables)
        return self._record({"d_target_loss": d_target_loss, "d_source_loss": d_source_loss, **g_logs})

    def test_step(self, data: Any) -> dict[str, Any]:
        """Every loss on held-out pairs, without updates."""
        source, target = data
        fake_target, fake_source = self.g_target(source), self.g_source(target)
        d_target_loss = (losses.least_squares(1.0, self.d_target(target)) + losses.least_squares(0.0, self.d_target(fake_target))) / 2.0
        d_source_loss = (losses.least_squares(1.0, self.d_source(source)) + losses.least_squares(0.0, self.d_source(fake_source))) / 2.0
        return self._record({"d_target_loss": d_target_loss, "d_source_loss": d_source_loss,
                             **self.generator_losses(source, target, training=False)})

    def call(self, inputs: Any, training: bool = False) -> Any:
        """The forward translation G(x)."""
        return self.g_target(inputs, training=training)

    def count_params(self) -> int:
        """The four networks' parameters; the fixed test images are weights, not parameters."""
        return sum(net.count_params() for net in (self.g_target, self.g_source, self.d_target, self.d_source))

    def translations(self, n: int | None = None) -> dict[str, np.ndarray]:
        """The first `n` fixed test images, their translations and reconstructions, in [0, 1]."""
        source, target = self.grid_source[:n], self.grid_target[:n]
        fake_target, fake_source = self.g_target(source), self.g_source(target)
        images = {"source": source, "target": target, "translated_target": fake_target,
                  "translated_source": fake_source, "reconstructed_source": self.g_source(fake_target),
                  "reconstructed_target": self.g_target(fake_source)}
        return {name: np.asarray(keras.ops.convert_to_numpy(value), np.float32) for name, value in images.items()}

    # -- compile and save ------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", g_optimizer: Any = None, d_source_optimizer: Any = None,
                jit_compile: Any = "auto", **kwargs: Any) -> None:
        """`optimizer` trains D_y; D_x gets `d_source_optimizer` or a fresh copy of it; both
        generators get `g_optimizer`, or a copy with lr (and decay) x `g_lr_scale` (a given one, as a
        checkpoint's, is taken to run at that scale)."""
        d_target_optimizer = keras.optimizers.get(optimizer)
        d_source_optimizer = (keras.optimizers.get(d_source_optimizer) if d_source_optimizer is not None
                              else scaled_optimizer(d_target_optimizer, 1.0))
        g_optimizer = (keras.optimizers.get(g_optimizer) if g_optimizer is not None
                       else scaled_optimizer(d_target_optimizer, self.g_lr_scale))
        super().compile(optimizer=g_optimizer, jit_compile=jit_compile)
        self.d_target_optimizer, self.d_source_optimizer = loss_scaled(d_target_optimizer), loss_scaled(d_source_optimizer)
        # Built now, so that every checkpoint holds their full state (and loading finds the slots).
        self.d_target_optimizer.build(self.d_target.trainable_variables)
        self.d_source_optimizer.build(self.d_source.trainable_variables)
        self.optimizer.build(self.g_target.trainable_variables + self.g_source.trainable_variables)

    def scaled_optimizers(self) -> ScaledOptimizers:
        """Each D's at the configured learning rate, the generators' at `g_lr_scale` x it."""
        return {"d_target": (self.d_target_optimizer, 1.0), "d_source": (self.d_source_optimizer, 1.0),
                "generators": (self.optimizer, self.g_lr_scale)}

    def get_compile_config(self) -> dict[str, Any]:
        return {
            "optimizer": keras.saving.serialize_keras_object(self.d_target_optimizer),
            "d_source_optimizer": keras.saving.serialize_keras_object(self.d_source_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "jit_compile": self.jit_compile,
        }

    def settings(self) -> dict[str, Any]:
        return {
            "adversarial_weight": self.adversarial_weight,
            "cycle_weight": self.cycle_weight,
            "identity_weight": self.identity_weight,
            "g_lr_scale": self.g_lr_scale,
            "grid_size": self.grid_size,
        }


# -- runner hooks ----------------------------------------------------------------------------------
def keep_test_images(model: CycleGAN, data: DataView, phases: PhaseRunner) -> None:
    """Before training: the first test images of both domains become the grids' fixed inputs."""
    source, target = data.examples(model.grid_size, "test")
    if target is None:
        raise IncompatibleError("cyclegan needs (source, target) batches; this dataset gives images alone")
    model.keep_test_images(source, target)


def _cols(n: int) -> int:
    return max(1, int(np.sqrt(n)))


TRANSLATION_GRIDS = ("translated_source", "reconstructed_source", "reconstructed_target")
"""The per-interval grids besides the forward translation, each a progress series of its own."""
STEP_DIGITS = 6
"""The book's CycleGAN numbers its progress files with 6 digits (its runs reach 100,000 steps)."""


def write_translations(model: CycleGAN, out: ArtifactSink, step: int) -> None:
    """Every interval: the forward translation G(x) as the progress grid (the runner's GIF shows
    its progress), and F(y), F(G(x)), G(F(y)) as series of their own, all with the same fixed
    test images."""
    images = model.translations()
    n = len(images["source"])
    out.progress_grid(step, images["translated_target"], cols=_cols(n), title=f"G(source), step {step}",
                      digits=STEP_DIGITS)
    for name in TRANSLATION_GRIDS:
        out.progress_grid(step, images[name], cols=_cols(n), title=f"{name}, step {step}", series=name,
                          digits=STEP_DIGITS)


def write_cyclegan_artifacts(model: CycleGAN, data: DataView, out: ArtifactSink) -> None:
    """After training: both generators as .keras (the book's g_source/g_target .h5) and the final
    10 x 10 grids of the test images, their translations and reconstructions."""
    out.network("g_target", model.g_target)
    out.network("g_source", model.g_source)
    for name, images in model.translations().items():
        out.image_grid(f"test_{name}" if name in ("source", "target") else name, images, cols=_cols(len(images)))


def sample_cyclegan(model: keras.Model, options: SampleConfig, out: ArtifactSink) -> list[Path]:
    """Translate the first `sample.n` stored test images source -> target and target -> source."""
    if not isinstance(model, CycleGAN):
        raise IncompatibleError("a lone CycleGAN generator holds no test images; pass the whole model, "
                                "ckpt=<run dir>/checkpoints/last.keras")
    for key in ("label", "latent"):
        if getattr(options, key) is not None:
            raise IncompatibleError(f"sample.{key} does not apply to cyclegan, which translates test images")
    n = min(options.n, model.grid_size)
    if n < options.n:
        log.info("the checkpoint holds %d test images; translating all of them", n)
    images = model.translations(n)
    names = {"source": "sample_source", "translated_target": "sample_source_to_target",
             "target": "sample_target", "translated_source": "sample_target_to_source"}
    return [out.image_grid(file, images[name], cols=_cols(n)) for name, file in names.items()]


@MODELS.register("cyclegan", FitSpec(options=CycleGANOptions, view="image", objective="reconstruct", two_domains=True,
                 prepare=keep_test_images, snapshot=write_translations,
                 artifacts=write_cyclegan_artifacts, sample=sample_cyclegan))
def build_cyclegan(opts: CycleGANOptions, ctx: BuildContext) -> CycleGAN:
    """Gray -> colour CIFAR-10, k=3, PatchGAN: G 870,757 + F 870,183 + D_y 390,721 + D_x 390,145
    (plain D: 392,513 and 391,937)."""
    source = require_rank("cyclegan", ctx.input_shape, 3, "image")
    if source[0] % DOWNSAMPLING or source[1] % DOWNSAMPLING:
        raise IncompatibleError(f"cyclegan halves images 4 times, so their sides must be multiples of {DOWNSAMPLING} "
                                f"(the book's 32x32); got {source[0]}x{source[1]}")
    target = (*source[:2], opts.target_channels)
    if opts.identity and source[-1] != target[-1]:
        raise IncompatibleError(f"model.identity=true needs source and target with the same channels (F(x), G(y)); "
                                f"these have {source[-1]} and {target[-1]}")
    k, patchgan = opts.kernel_size, opts.discriminator == "patchgan"
    return CycleGAN(
        unet_generator(source, target[-1], k, name="g_target"),
        unet_generator(target, source[-1], k, name="g_source"),
        cycle_discriminator(target, k, patchgan, name="d_target"),
        cycle_discriminator(source, k, patchgan, name="d_source"),
        adversarial_weight=opts.adversarial_weight,
        cycle_weight=opts.cycle_weight,
        identity_weight=opts.identity_weight if opts.identity else 0.0,
        g_lr_scale=opts.g_lr_scale,
        grid_size=opts.grid_size,
        name="cyclegan",
    )
