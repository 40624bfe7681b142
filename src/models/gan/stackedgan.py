"""StackedGAN (Listings 6.2.1-6.2.5): a pretrained encoder (enc0: image -> 256 features, enc1:
features -> label) inverted by two stacked GANs, gen1 (label, z1 -> features) and gen0
(features, z0 -> image), each with its own discriminator and Q head (dis1 -> z1, dis0 -> z0).

One `run` does both phases. The encoder is pre-trained first (Adam, categorical cross-entropy,
10 epochs over the training set at the trainer's batch, 64, as the repository's `train_encoder`)
by the registry's generic `pretrain` hook, which the runner calls once on a freshly built model,
before `fit`; every checkpoint then holds the trained encoder, so a resumed run never repeats it
(a run killed during pre-training has no checkpoint yet and starts over, identically).

Each GAN step then makes the book's four updates in its order (Table 6.2.1, Listing 6.2.4):
    dis1: BCE(real f1 vs gen1(label, z1)) + 1 x MSE(Q1, z1)        (Q1's target is z1 for both halves, as the book)
    dis0: BCE(real x vs gen0(enc0(x), z0)) + 10 x MSE(Q0, z0)
    adv1 (gen1): BCE + 1 x MSE(Q1, z1) + 1 x CCE(enc1(fake f1), label)   (entropy1, conditional1)
    adv0 (gen0): BCE + 10 x MSE(Q0, z0) + 1 x MSE(enc0(fake x), enc0(x))  (entropy0, conditional0)
Only the network being updated moves (its own variables in its tape); the encoder stays as
pre-trained. Four RMSprop optimizers: the book shares one between dis0 and dis1 and one between the
adversarial models, which Keras 3 cannot (an optimizer owns the slots of one variable set); gen0's
is the model's `optimizer`, whose step counter is the training step.

The model's `generator` is the whole stack [labels, z1, z0] -> gen1 -> gen0 -> image: what the
progress grids, `checkpoints/generator.keras` and `task=sample` (sample.label, sample.z0,
sample.z1) use. Parameter counts on MNIST: enc0 840,640, enc1 2,570, gen1 429,312 (BatchNorm
statistics included), gen0 2,593,537, dis0 1,285,427, dis1 144,691.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional

import keras
import tensorflow as tf
from keras import layers, ops

from adl_runner.kernel.custom_step import ScaledOptimizers, minimize, scaled_optimizer
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.phases import PhaseRunner
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec, capped
from adl_runner.models.gan import losses
from adl_runner.models.gan.base import CODE_STDDEV, GAN
from adl_runner.models.gan.hooks import GAN_HOOKS, CodeSample, write_gan_artifacts
from adl_runner.models.gan.networks import discriminator, generator, latent_input
from adl_runner.models.gan.options import BookGANOptions, check_gan_options, gan_arguments

if TYPE_CHECKING:
    from adl_runner.kernel.hooks import ArtifactSink, DataView

log = logging.getLogger("runner")

FEATURE_DIM = 256
"""enc0's output and gen1's: the book's feature1_dim."""
ENCODER_FILTERS = 64
HIDDEN_UNITS = 512
"""gen1's two hidden Dense layers (Listing 6.2.2); dis1's are FEATURE_DIM wide (Listing 6.2.3)."""


@dataclass
class StackedGANSample(CodeSample):
    """task=sample of StackedGAN: the digit, and each noise vector fixed or swept (the book's test script)."""

    sweeps: ClassVar[dict[str, str]] = {"z0": "-4:4", "z1": "-1:1"}
    z0: Optional[str] = None
    """gen0's 50-dim noise: a number for every dimension of every image, or lo:hi to sweep that
    constant vector across the grid (the book's --p0: -4:4)."""
    z1: Optional[str] = None
    """gen1's 50-dim noise, like z0 (the book's --p1: -1:1)."""


@dataclass
class StackedGANOptions(BookGANOptions):
    """StackedGAN (Listings 6.2.1-6.2.5): encoder, two generators, two discriminators."""

    latent_dim: int = ranged(50, at_least=1)
    """Size of each of z0 and z1 ~ N(0, 0.5) (the book's z_dim)."""
    encoder_epochs: int = ranged(10, at_least=0)
    """Epochs of the encoder's pre-training (Adam, at trainer.batch_size) before the GAN steps."""
    entropy0_weight: float = ranged(10.0, at_least=0)
    """Weight of the z0 reconstruction (Q0) loss, in dis0's and adv0's losses (the book: 10)."""
    entropy1_weight: float = ranged(1.0, at_least=0)
    """Weight of the z1 reconstruction (Q1) loss, in dis1's and adv1's losses (the book: 1)."""
    conditional0_weight: float = ranged(1.0, at_least=0)
    """Weight of adv0's feature loss MSE(enc0(fake image), enc0(real image))."""
    conditional1_weight: float = ranged(1.0, at_least=0)
    """Weight of adv1's label loss CCE(enc1(fake features), label)."""


def encoder_networks(image_shape: tuple[int, int, int], num_labels: int) -> tuple[keras.Model, keras.Model]:
    """enc0 (image -> 256 features) and enc1 (features -> label softmax), Listing 6.2.1."""
    image = keras.Input(shape=image_shape, name="image")
    x = image
    for _ in range(2):
        x = layers.Conv2D(ENCODER_FILTERS, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Dense(FEATURE_DIM, activation="relu")(layers.Flatten()(x))
    enc0 = keras.Model(image, x, name="enc0")
    feature = latent_input("feature1", FEATURE_DIM)
    enc1 = keras.Model(feature, layers.Dense(num_labels, activation="softmax", name="label")(feature), name="enc1")
    return enc0, enc1


def generator1(num_labels: int, z_dim: int) -> keras.Model:
    """gen1 (Listing 6.2.2): [label, z1] (60-d; the book's comment says 62) -> 256 fake features."""
    labels, z1 = latent_input("labels", num_labels), latent_input("z1", z_dim)
    x = layers.Concatenate()([labels, z1])
    for _ in range(2):
        x = layers.Dense(HIDDEN_UNITS, activation="relu")(x)
        x = layers.BatchNormalization()(x)
    x = layers.Dense(FEATURE_DIM, activation="relu", name="feature1")(x)
    return keras.Model([labels, z1], x, name="gen1")


def discriminator1(z_dim: int) -> keras.Model:
    """dis1 (Listing 6.2.3): features -> 2 x Dense(256, relu) -> [source sigmoid, z1 tanh (Q1)]."""
    feature = latent_input("feature1", FEATURE_DIM)
    x = feature
    for _ in range(2):
        x = layers.Dense(FEATURE_DIM, activation="relu")(x)
    source = layers.Dense(1, activation="sigmoid", name="source")(x)
    return keras.Model(feature, [source, layers.Dense(z_dim, activation="tanh", name="z1")(x)], name="dis1")


def stack(gen1: keras.Model, gen0: keras.Model) -> keras.Model:
    """The sampling generator [labels, z1, z0] -> gen1 -> gen0 -> image (the book's test path)."""
    labels, z1 = (latent_input(t.name.split(":")[0], int(t.shape[-1])) for t in gen1.inputs)
    z0 = latent_input("z0", int(gen0.inputs[1].shape[-1]))
    return keras.Model([labels, z1, z0], gen0([gen1([labels, z1]), z0]), name="generator")


def descend(optimizer: keras.optimizers.Optimizer, variables: list[Any], loss_fn: Callable[[], dict[str, Any]], key: str) -> dict[str, Any]:
    """One update of `variables` on the loss `key` of `loss_fn()`; returns every value it computed."""
    with tf.GradientTape() as tape:
        values = loss_fn()
    minimize(optimizer, tape, values[key], variables)
    return values


@keras.saving.register_keras_serializable(package="adl_runner")
class StackedGAN(GAN):
    """`generator` is the stack (gen1 inside, then gen0) and `discriminator` is dis0, the image
    discriminator; so the base's G optimizer trains gen0 and its D optimizer dis0."""

    tracked = ("dis1_loss", "dis0_loss", "adv1_loss", "enc1_acc", "adv0_loss", "encoder_acc")
    accuracies = ()  # its own step logs the book's StackedGAN losses
    networks = ("generator", "discriminator", "dis1", "enc0", "enc1")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, dis1: keras.Model, enc0: keras.Model,
                 enc1: keras.Model, encoder_epochs: int = 10, entropy0_weight: float = 10.0, entropy1_weight: float = 1.0,
                 conditional0_weight: float = 1.0, conditional1_weight: float = 1.0, **kwargs: Any) -> None:
        self.dis1, self.enc0, self.enc1 = dis1, enc0, enc1
        self.encoder_epochs = int(encoder_epochs)
        self.weights_ = {"entropy0": float(entropy0_weight), "entropy1": float(entropy1_weight),
                         "conditional0": float(conditional0_weight), "conditional1": float(conditional1_weight)}
        kwargs.setdefault("noise", "normal")  # z0, z1 ~ N(0, 0.5), not the base's U(-1, 1)
        super().__init__(generator, discriminator, **kwargs)

    @property
    def gen1(self) -> keras.Model:
        return self.generator.get_layer("gen1")

    @property
    def gen0(self) -> keras.Model:
        return self.generator.get_layer("gen0")

    @property
    def g_variables(self) -> list[Any]:
        return self.gen0.trainable_variables

    def encoder(self) -> keras.Model:
        """enc1(enc0(x)): the classifier that is pre-trained (and saved as checkpoints/encoder.keras)."""
        image = keras.Input(shape=self.image_shape, name="image")
        return keras.Model(image, self.enc1(self.enc0(image)), name="encoder")

    def count_params(self) -> int:
        """gen1 + gen0 + dis0 + dis1 + enc0 + enc1."""
        return sum(net.count_params() for net in (self.generator, self.discriminator, self.dis1, self.enc0, self.enc1))

    def compile(self, optimizer: Any = "rmsprop", g_optimizer: Any = None, jit_compile: Any = "auto", **kwargs: Any) -> None:
        """dis0 and gen0 as the base; dis1 and gen1 get copies of those two (same lr and decay)."""
        super().compile(optimizer=optimizer, g_optimizer=g_optimizer, jit_compile=jit_compile, **kwargs)
        self.d1_optimizer = scaled_optimizer(self.d_optimizer, 1.0)
        self.g1_optimizer = scaled_optimizer(self.optimizer, 1.0)
        self.d1_optimizer.build(self.dis1.trainable_variables)
        self.g1_optimizer.build(self.gen1.trainable_variables)

    def scaled_optimizers(self) -> ScaledOptimizers:
        """dis0's and dis1's at the configured learning rate, gen0's and gen1's at `g_lr_scale` x it."""
        return {"dis0": (self.d_optimizer, 1.0), "dis1": (self.d1_optimizer, 1.0),
                "gen0": (self.optimizer, self.g_lr_scale), "gen1": (self.g1_optimizer, self.g_lr_scale)}

    # -- losses (Table 6.2.1) ----------------------------------------------------------------------
    def code(self, name: str, batch: int) -> Any:
        """z0 or z1 ~ N(0, 0.5), from the model's saved RNG."""
        return keras.random.normal((batch, self.input_dim(name)), stddev=CODE_STDDEV, seed=self.rng)

    def dis1_losses(self, real_f1: Any, fake_f1: Any, z1: Any, training: bool = True) -> dict[str, Any]:
        (real_source, real_q), (fake_source, fake_q) = self.dis1(real_f1, training=training), self.dis1(fake_f1, training=training)
        entropy = (losses.mse(z1, real_q) + losses.mse(z1, fake_q)) / 2.0  # the book's Q1 target: fake z1 for both halves
        return {"dis1_loss": losses.real_fake_bce(real_source, fake_source) + self.weights_["entropy1"] * entropy}

    def dis0_losses(self, images: Any, fake_images: Any, z0: Any, training: bool = True) -> dict[str, Any]:
        (real_source, real_q), (fake_source, fake_q) = (self.discriminator(images, training=training),
                                                        self.discriminator(fake_images, training=training))
        entropy = (losses.mse(z0, real_q) + losses.mse(z0, fake_q)) / 2.0
        return {"dis0_loss": losses.real_fake_bce(real_source, fake_source) + self.weights_["entropy0"] * entropy}

    def adv1_losses(self, labels: Any, z1: Any, training: bool = True) -> dict[str, Any]:
        fake_f1 = self.gen1([labels, z1], training=training)
        source, q1 = self.dis1(fake_f1, training=training)
        predicted = self.enc1(fake_f1, training=False)
        total = (losses.bce(1.0, source) + self.weights_["entropy1"] * losses.mse(z1, q1)
                 + self.weights_["conditional1"] * losses.categorical(labels, predicted))
        return {"adv1_loss": total, "enc1_acc": losses.label_accuracy(labels, predicted)}

    def adv0_losses(self, real_f1: Any, z0: Any, training: bool = True) -> dict[str, Any]:
        fake_images = self.gen0([real_f1, z0], training=training)
        source, q0 = self.discriminator(fake_images, training=training)
        total = (losses.bce(1.0, source) + self.weights_["entropy0"] * losses.mse(z0, q0)
                 + self.weights_["conditional0"] * losses.mse(real_f1, self.enc0(fake_images, training=False)))
        return {"adv0_loss": total}

    def _real(self, data: Any) -> tuple[Any, Any, Any]:
        if not isinstance(data, (tuple, list)):
            raise ValueError("StackedGAN trains on labelled images (gen1 is conditioned on the real labels)")
        images, labels = data[0], ops.cast(data[1], data[0].dtype)
        real_f1 = self.enc0(images, training=False)
        return images, labels, real_f1

    def _encoder_accuracy(self, labels: Any, real_f1: Any) -> dict[str, Any]:
        return {"encoder_acc": losses.label_accuracy(labels, self.enc1(real_f1, training=False))}

    # -- the step ------------------------------------------------------------------------------------
    def train_step(self, data: Any) -> dict[str, Any]:
        images, labels, real_f1 = self._real(data)
        batch = images.shape[0]
        if batch is None:
            raise ValueError("GAN training needs a static batch size (the pipeline drops the last short batch)")
        # The book's order: dis1, dis0, adv1, adv0.
        z1 = self.code("z1", batch)
        fake_f1 = self.gen1([labels, z1], training=not self.inference_fakes)
        logs = descend(self.d1_optimizer, self.dis1.trainable_variables, lambda: self.dis1_losses(real_f1, fake_f1, z1), "dis1_loss")
        z0 = self.code("z0", batch)
        fake_images = self.gen0([real_f1, z0], training=not self.inference_fakes)
        logs |= descend(self.d_optimizer, self.d_variables, lambda: self.dis0_losses(images, fake_images, z0), "dis0_loss")
        z1 = self.code("z1", batch)
        logs |= descend(self.g1_optimizer, self.gen1.trainable_variables, lambda: self.adv1_losses(labels, z1), "adv1_loss")
        z0 = self.code("z0", batch)
        logs |= descend(self.optimizer, self.g_variables, lambda: self.adv0_losses(real_f1, z0), "adv0_loss")
        return self._record({**logs, **self._encoder_accuracy(labels, real_f1)})

    def test_step(self, data: Any) -> dict[str, Any]:
        """The four losses on held-out images and fresh codes, and the encoder's accuracy, without updates."""
        images, labels, real_f1 = self._real(data)
        batch = ops.shape(images)[0]
        z1, z0 = self.code("z1", batch), self.code("z0", batch)
        fake_f1 = self.gen1([labels, z1], training=False)
        fake_images = self.gen0([real_f1, z0], training=False)
        return self._record({
            **self.dis1_losses(real_f1, fake_f1, z1, training=False),
            **self.dis0_losses(images, fake_images, z0, training=False),
            **self.adv1_losses(labels, z1, training=False),
            **self.adv0_losses(real_f1, z0, training=False),
            **self._encoder_accuracy(labels, real_f1),
        })

    # -- the encoder's pre-training ------------------------------------------------------------------
    def pretrain(self, train: tf.data.Dataset, steps_per_epoch: int, validation: tf.data.Dataset | None,
                 phases: PhaseRunner) -> float:
        """Train enc1(enc0(x)) as a classifier (the repository's `train_encoder`) as the phase
        "encoder"; returns its accuracy on `validation` (or on the training stream when there is none)."""
        encoder = self.encoder()
        encoder.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy", metrics=["accuracy"],
                        jit_compile=self.jit_compile)
        phases.train("encoder", encoder, train, epochs=self.encoder_epochs, steps_per_epoch=steps_per_epoch,
                     validation=validation)
        return float(encoder.evaluate(validation if validation is not None else train.take(steps_per_epoch),
                                      return_dict=True, verbose=0)["accuracy"])

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "encoder_epochs": self.encoder_epochs,
                **{f"{key}_weight": value for key, value in self.weights_.items()}}


def pretrain_encoder(model: StackedGAN, data: DataView, phases: PhaseRunner) -> None:
    """The registry's `prepare` hook: `encoder_epochs` passes over the training set, before the GAN steps."""
    if model.encoder_epochs == 0:
        log.info("stackedgan: encoder pre-training skipped (encoder_epochs=0)")
        return
    log.info("stackedgan: pre-training the encoder for %d epochs", model.encoder_epochs)
    passes, steps_per_pass = data.training_passes(model.encoder_epochs)
    accuracy = model.pretrain(passes, steps_per_pass, data.batches("test"), phases)
    log.info("stackedgan: encoder test accuracy %.1f%%", 100 * accuracy)  # the repository's "Test accuracy" line


def write_stackedgan_artifacts(model: StackedGAN, data: DataView, out: ArtifactSink) -> None:
    """The base's (the stacked generator, the final grid) and the pre-trained encoder, as the repository saves it."""
    write_gan_artifacts(model, data, out)
    out.network("encoder", model.encoder())


@MODELS.register("stackedgan", FitSpec(options=StackedGANOptions, view="image", objective="self_conditional",
                 sample_options=StackedGANSample,
                 **{**GAN_HOOKS, "artifacts": write_stackedgan_artifacts}, prepare=pretrain_encoder))
def build_stackedgan(opts: StackedGANOptions, ctx: BuildContext) -> StackedGAN:
    """enc0 840,640 + enc1 2,570 + gen1 429,312 + gen0 2,593,537 + dis0 1,285,427 + dis1 144,691 params on MNIST."""
    shape = check_gan_options("stackedgan", opts, ctx.input_shape)
    if opts.book_log:
        raise ConfigError("stackedgan: book_log prints the one-D line of the chapter 4-5 GANs; StackedGAN's "
                          "per-interval losses (dis0/dis1/adv0/adv1) are in history.csv")
    enc0, enc1 = encoder_networks(shape, ctx.num_classes)
    gen0 = generator([latent_input("feature1", FEATURE_DIM), latent_input("z0", opts.latent_dim)], shape, name="gen0")
    dis0 = discriminator(keras.Input(shape=shape, name="image"), num_codes=opts.latent_dim, code_head="z",
                         batch_norm=opts.discriminator_batch_norm, name="dis0")
    return StackedGAN(
        stack(generator1(ctx.num_classes, opts.latent_dim), gen0), dis0, dis1=discriminator1(opts.latent_dim), enc0=enc0, enc1=enc1,
        encoder_epochs=capped(opts.encoder_epochs, ctx.pretrain_epochs_cap),
        entropy0_weight=opts.entropy0_weight, entropy1_weight=opts.entropy1_weight,
        conditional0_weight=opts.conditional0_weight, conditional1_weight=opts.conditional1_weight,
        **gan_arguments(opts, ctx.seed), name="stackedgan",
    )
