"""Chapter 8 variational autoencoders: VAE-MLP (Listing 8.1.1), VAE-CNN (file 8.1.2, "Listing 8.1.3"),
CVAE (Listing 8.2.1) and beta-VAE (section 8.3, the book's beta-CVAE).

The book attaches its loss with `vae.add_loss(...)` on a functional model, which Keras 3 does not
support. Here one `VAE(keras.Model)` holds the book's encoder and decoder (two functional models,
built by the same two functions for every variant) and computes the book's loss in its own
`train_step` / `test_step`:

    reconstruction = mse(x, x_hat) * D  (or binary_crossentropy * D), D = pixels per image (784)
    kl             = -0.5 * sum(1 + z_log_var - z_mean^2 - exp(z_log_var))       (Eq. 8.1.11)
    loss           = mean(reconstruction + beta * kl)                              (Eqs. 8.1.12, 8.3.1)

`evaluate` reports `loss`, `reconstruction_loss` and `kl_loss` (the batch means of the three terms;
`kl_loss` is the KL itself, before the beta factor), so a run's metrics.json holds
`test_loss`, `test_reconstruction_loss` and `test_kl_loss`.

Parameter counts are `VAE.count_params()` = encoder + decoder (the sampling layer has none, and its
random-seed state is not a weight): VAE-MLP 807,700; VAE-CNN 134,165; CVAE 174,437, as in the book.

The runner gives the fit loop batches of `x` (objective "self") or `(x, one-hot labels)` (objective
"self_conditional", the CVAE and beta-VAE) and compiles with the optimizer only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from adl_runner.kernel.checks import check_choice, check_positive, require_rank, shape_text
from adl_runner.kernel.custom_step import CustomStepModel
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.figures import LATENT_EXTENT, manifold_figure, manifold_points, pca_2d

if TYPE_CHECKING:
    from adl_runner.kernel.hooks import ArtifactSink, DataView, SampleConfig

log = logging.getLogger("runner")

RECONSTRUCTIONS = ("mse", "bce")
MUTED_KL = 0.05
"""A latent dimension whose mean KL on the test set is below this many nats carries (almost) no
information about the input: the traversal figures call it muted (the book's z[0] at beta=10)."""


# ---------------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------------


def reconstruction_loss(x: Any, x_hat: Any, kind: str) -> Any:
    """Per-example reconstruction loss: Keras MSE or BCE (a mean over the D values of an image)
    times D, i.e. a per-image sum, as the book's `mse(inputs, outputs) * original_dim`."""
    dim = math.prod(int(d) for d in x.shape[1:])
    x = ops.reshape(x, (-1, dim))
    x_hat = ops.reshape(x_hat, (-1, dim))
    per_pixel = keras.losses.binary_crossentropy if kind == "bce" else keras.losses.mean_squared_error
    return per_pixel(x, x_hat) * dim


def kl_divergence(z_mean: Any, z_log_var: Any) -> Any:
    """Per-example KL(N(z_mean, exp(z_log_var)) || N(0, I)), Eq. 8.1.11."""
    return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)


# ---------------------------------------------------------------------------------------------------
# Layers and the model
# ---------------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="adl_runner")
class Sampling(layers.Layer):
    """The reparameterization trick (Eq. 8.1.13): z = z_mean + exp(0.5 * z_log_var) * eps, eps ~ N(0, I).

    Replaces the book's `Lambda(sampling)`, so checkpoints load in Keras safe mode.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Sequence[Any]) -> Any:
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape: Sequence[Any]) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="adl_runner")
class VAE(CustomStepModel):
    """Encoder [x(, labels)] -> [z_mean, z_log_var, z]; decoder [z(, labels)] -> x_hat; the book's loss.

    `encoder` and `decoder` stay attributes after `keras.saving.load_model`; `conditional` models
    (CVAE) take `(x, one-hot labels)` batches and feed the labels to both networks.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        beta: float = 1.0,
        reconstruction: str = "mse",
        conditional: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.reconstruction = reconstruction
        self.conditional = bool(conditional)
        self.total_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        # Encoder and decoder are built functional models and the VAE adds no weights; one symbolic
        # call records the input shapes (kept in the .keras file), which `export` needs.
        self(self._symbolic_inputs())

    def build(self, input_shape: Any = None) -> None:
        """Nothing to create: the weights live in the encoder and decoder."""

    def _symbolic_inputs(self) -> Any:
        x = keras.KerasTensor(self.encoder.inputs[0].shape, name="x")
        return (x, keras.KerasTensor(self.decoder.inputs[1].shape, name="labels")) if self.conditional else x

    @property
    def inputs(self) -> list[keras.KerasTensor]:
        """The data input, as functional models have it (what `task=evaluate` reads the view from).
        The labels of a conditional VAE come as the batch's second element, like a classifier's."""
        return self.encoder.inputs[:1]

    # -- shapes ------------------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return int(self.decoder.inputs[0].shape[-1])

    @property
    def num_labels(self) -> int:
        """Size of the one-hot label input (0 for an unconditional VAE)."""
        return int(self.decoder.inputs[1].shape[-1]) if self.conditional else 0

    # -- forward -----------------------------------------------------------------------------------
    def encode(self, x: Any, labels: Any = None, training: bool = False) -> tuple[Any, Any, Any]:
        """[z_mean, z_log_var, z] of a batch (labels: one-hot, conditional models only)."""
        return self.encoder([x, labels] if self.conditional else x, training=training)

    def decode(self, z: Any, labels: Any = None, training: bool = False) -> Any:
        return self.decoder([z, labels] if self.conditional else z, training=training)

    def call(self, inputs: Any, training: bool = False) -> Any:
        x, labels = self._unpack(inputs)
        _, _, z = self.encode(x, labels, training=training)
        return self.decode(z, labels, training=training)

    # -- training ----------------------------------------------------------------------------------
    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.total_tracker, self.reconstruction_tracker, self.kl_tracker]

    def _unpack(self, data: Any) -> tuple[Any, Any]:
        """(x, one-hot labels or None) from a batch: x, or (x, labels) for conditional models."""
        if isinstance(data, (tuple, list)):
            x, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            x, labels = data, None
        if not self.conditional:
            return x, None
        if labels is None:
            raise ValueError("a conditional VAE needs (x, labels) batches")
        if len(labels.shape) == 1:  # dataset.labels=sparse: integer labels
            labels = ops.one_hot(ops.cast(labels, "int32"), self.num_labels)
        return x, ops.cast(labels, x.dtype)

    def _loss_terms(self, data: Any, training: bool) -> tuple[Any, Any, Any]:
        x, labels = self._unpack(data)
        z_mean, z_log_var, z = self.encode(x, labels, training=training)
        x_hat = self.decode(z, labels, training=training)
        reconstruction = reconstruction_loss(x, x_hat, self.reconstruction)
        kl = kl_divergence(z_mean, z_log_var)
        return ops.mean(reconstruction + self.beta * kl), ops.mean(reconstruction), ops.mean(kl)

    def _record(self, total: Any, reconstruction: Any, kl: Any) -> dict[str, Any]:
        self.total_tracker.update_state(total)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data: Any) -> dict[str, Any]:
        with tf.GradientTape() as tape:
            total, reconstruction, kl = self._loss_terms(data, training=True)
        gradients = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._record(total, reconstruction, kl)

    def test_step(self, data: Any) -> dict[str, Any]:
        return self._record(*self._loss_terms(data, training=False))

    # -- saving ------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "beta": self.beta,
            "reconstruction": self.reconstruction,
            "conditional": self.conditional,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> VAE:
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"), custom_objects=custom_objects)
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"), custom_objects=custom_objects)
        return cls(encoder, decoder, **config)


# ---------------------------------------------------------------------------------------------------
# Encoder and decoder: one builder each; the variants differ only in their trunk
# ---------------------------------------------------------------------------------------------------

Trunk = Callable[[keras.KerasTensor], keras.KerasTensor]


def build_encoder(input_shape: tuple[int, ...], trunk: Trunk, latent_dim: int, num_labels: int = 0) -> keras.Model:
    """x(, labels) -> trunk -> z_mean, z_log_var = Dense(latent_dim) each -> z by sampling.

    With labels (the CVAE, Listing 8.2.1) the one-hot label goes through a linear Dense to one
    image plane, which is concatenated with the image as an extra channel (flat inputs: as extra
    features) before the trunk.
    """
    inputs = keras.Input(shape=input_shape, name="encoder_input")
    model_inputs, x = [inputs], inputs
    if num_labels:
        labels = keras.Input(shape=(num_labels,), name="class_labels")
        plane = (*input_shape[:-1], 1) if len(input_shape) == 3 else input_shape
        y = layers.Reshape(plane)(layers.Dense(math.prod(plane))(labels))
        x = layers.concatenate([x, y])
        model_inputs.append(labels)
    x = trunk(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling(name="z")([z_mean, z_log_var])
    return keras.Model(model_inputs if num_labels else inputs, [z_mean, z_log_var, z], name="encoder")


def build_decoder(latent_dim: int, trunk: Trunk, num_labels: int = 0) -> keras.Model:
    """z(, labels) -> trunk -> x_hat in [0, 1] (the trunk ends in a sigmoid layer).

    With labels (the CVAE) the one-hot label is concatenated with z before the trunk.
    """
    latent = keras.Input(shape=(latent_dim,), name="z_sampling")
    if not num_labels:
        return keras.Model(latent, trunk(latent), name="decoder")
    labels = keras.Input(shape=(num_labels,), name="class_labels")
    return keras.Model([latent, labels], trunk(layers.concatenate([latent, labels])), name="decoder")


# ---------------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------------


@dataclass
class LatentOptions:
    """What every VAE variant shares: the latent space and the loss."""

    latent_dim: int = 2
    """Size of z (the book: 2, for the plots). Larger latents: the mean scatter shows a PCA
    projection and the manifolds vary z[0] and z[1] with the other dimensions at 0."""
    beta: float = 1.0
    """Weight of the KL term (Eq. 8.3.1); 1 is the plain VAE, the book's beta-VAE uses 9 and 10."""
    reconstruction: str = "mse"
    """Reconstruction loss per image: 'mse' (the book's default) or 'bce' (its --bce), times the
    number of pixels."""


@dataclass
class VAEMLPOptions(LatentOptions):
    """VAE-MLP of Listing 8.1.1: Dense(512, relu) encoder and decoder on flat images."""

    intermediate_dim: int = 512
    """Units of the one hidden Dense(relu) layer of the encoder and of the decoder."""


@dataclass
class VAECNNOptions(LatentOptions):
    """VAE-CNN of file 8.1.2 ("Listing 8.1.3"); the CVAE and beta-VAE (Listing 8.2.1) use the same network."""

    filters: int = 16
    """Base filters: doubled before each encoder conv (32, 64); the decoder's transposed convs
    use them in reverse (64, 32)."""
    conv_layers: int = 2
    """Strided (2) 'same' convs in the encoder and transposed convs in the decoder; the image size
    must be divisible by 2**conv_layers."""
    kernel_size: int = 3
    """Square kernel of every conv and transposed conv."""
    dense_units: int = 16
    """Units of the Dense(relu) between the encoder's convs and z_mean / z_log_var."""


def _check_latent(model: str, opts: LatentOptions) -> None:
    if opts.latent_dim < 2:
        raise ConfigError(f"{model}: latent_dim must be >= 2 (the latent plots are 2-D), got {opts.latent_dim}")
    if opts.beta < 0:
        raise ConfigError(f"{model}: beta must be >= 0, got {opts.beta}")
    check_choice(model, "reconstruction", opts.reconstruction, RECONSTRUCTIONS)


# ---------------------------------------------------------------------------------------------------
# Trunks
# ---------------------------------------------------------------------------------------------------


def mlp_trunks(opts: VAEMLPOptions, dim: int) -> tuple[Trunk, Trunk]:
    """Listing 8.1.1: encoder Dense(512, relu); decoder Dense(512, relu) -> Dense(784, sigmoid)."""

    def encode(x: keras.KerasTensor) -> keras.KerasTensor:
        return layers.Dense(opts.intermediate_dim, activation="relu")(x)

    def decode(z: keras.KerasTensor) -> keras.KerasTensor:
        x = layers.Dense(opts.intermediate_dim, activation="relu")(z)
        return layers.Dense(dim, activation="sigmoid", name="decoder_output")(x)

    return encode, decode


def cnn_trunks(opts: VAECNNOptions, shape: tuple[int, int, int]) -> tuple[Trunk, Trunk]:
    """File 8.1.2: Conv2D(32, 64; k3, s2, relu, same) -> Flatten -> Dense(16, relu);
    decoder Dense(7*7*64, relu) -> Reshape -> Conv2DTranspose(64, 32; k3, s2, relu, same) ->
    Conv2DTranspose(channels, k3, sigmoid, same)."""
    h, w, channels = shape
    scale = 2**opts.conv_layers
    top = opts.filters * scale

    def encode(x: keras.KerasTensor) -> keras.KerasTensor:
        filters = opts.filters
        for _ in range(opts.conv_layers):
            filters *= 2
            x = layers.Conv2D(filters, opts.kernel_size, strides=2, padding="same", activation="relu")(x)
        x = layers.Flatten()(x)
        return layers.Dense(opts.dense_units, activation="relu")(x)

    def decode(z: keras.KerasTensor) -> keras.KerasTensor:
        x = layers.Dense((h // scale) * (w // scale) * top, activation="relu")(z)
        x = layers.Reshape((h // scale, w // scale, top))(x)
        filters = top
        for _ in range(opts.conv_layers):
            x = layers.Conv2DTranspose(filters, opts.kernel_size, strides=2, padding="same", activation="relu")(x)
            filters //= 2
        return layers.Conv2DTranspose(
            channels, opts.kernel_size, padding="same", activation="sigmoid", name="decoder_output"
        )(x)

    return encode, decode


def _assemble(name: str, opts: LatentOptions, shape: tuple[int, ...], trunks: tuple[Trunk, Trunk],
              num_labels: int) -> VAE:
    encode, decode = trunks
    encoder = build_encoder(shape, encode, opts.latent_dim, num_labels)
    decoder = build_decoder(opts.latent_dim, decode, num_labels)
    return VAE(encoder, decoder, beta=opts.beta, reconstruction=opts.reconstruction,
               conditional=num_labels > 0, name=name)


def _cnn_shape(model: str, opts: VAECNNOptions, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    shape = require_rank(model, input_shape, 3, "image")
    for key in ("filters", "conv_layers", "kernel_size", "dense_units"):
        check_positive(model, key, getattr(opts, key))
    scale = 2**opts.conv_layers
    if shape[0] % scale or shape[1] % scale:
        raise IncompatibleError(
            f"{model}: input {shape_text(shape)} must have a height and width divisible by {scale} "
            f"(2**conv_layers), so that the decoder gives back the input size"
        )
    return shape  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------
# Figures (after training) and task=sample
# ---------------------------------------------------------------------------------------------------


def as_images(decoded: np.ndarray) -> np.ndarray:
    """Decoder outputs as (N, H, W[, C]) images; flat outputs are taken as square gray (or RGB) images."""
    decoded = np.asarray(decoded)
    if decoded.ndim != 2:
        return decoded
    n, dim = decoded.shape
    for channels in (1, 3):
        side = math.isqrt(dim // channels)
        if side * side * channels == dim:
            return decoded.reshape((n, side, side, channels))
    return decoded.reshape((n, 1, dim, 1))  # not a square image: one strip per sample


def _onehot(label: int | None, n: int, num_labels: int) -> np.ndarray | None:
    if label is None:
        return None
    return np.tile(np.eye(num_labels, dtype=np.float32)[label], (n, 1))


def decode_points(model: VAE, z: np.ndarray, label: int | None = None) -> np.ndarray:
    """Decode latent points (N, latent_dim); `label` for conditional models."""
    z = np.asarray(z, dtype=np.float32)
    labels = _onehot(label, len(z), model.num_labels)
    # Direct calls in chunks: `predict` costs a traced function per call, 10x slower for small grids.
    chunks = [
        keras.ops.convert_to_numpy(model.decode(z[i:i + 256], None if labels is None else labels[i:i + 256]))
        for i in range(0, len(z), 256)
    ]
    return as_images(np.concatenate(chunks))


def write_manifold(model: VAE, out: ArtifactSink, name: str, n: int, label: int | None = None) -> Path:
    """The book's n x n manifold of the first two latent dimensions (the others 0), of one label
    for conditional models."""
    notes = [f"label {label}"] if label is not None else []
    if model.latent_dim > 2:
        notes.append(f"z[2:{model.latent_dim}] = 0")
    images = decode_points(model, manifold_points(n, model.latent_dim), label)
    return out.figure(name, manifold_figure(images, n, note="; ".join(notes)))


def encode_test_set(model: VAE, data: DataView) -> tuple[np.ndarray, np.ndarray]:
    """z_mean and z_log_var of every test example, in order."""
    means, log_vars = [], []
    for batch in data.batches("test").as_numpy_iterator():
        x, labels = batch if isinstance(batch, tuple) else (batch, None)
        z_mean, z_log_var, _ = model.encode(x, labels, training=False)
        means.append(keras.ops.convert_to_numpy(z_mean))
        log_vars.append(keras.ops.convert_to_numpy(z_log_var))
    return np.concatenate(means), np.concatenate(log_vars)


def write_mean_scatter(out: ArtifactSink, z_mean: np.ndarray, labels: np.ndarray) -> Path:
    """`vae_mean.png`: the test set's z_mean coloured by label (Figs 8.1.6, 8.1.11, 8.2.4). Axes span
    the book's [-4, 4], widened when points lie outside. Latents above 2-D are shown by PCA."""
    import matplotlib.pyplot as plt

    if z_mean.shape[1] == 2:
        points, axes = z_mean, ("z[0]", "z[1]")
    else:
        log.info("vae: %d-D latent means are plotted on their first two principal components", z_mean.shape[1])
        points, axes = pca_2d(z_mean)[0], ("PC 1 of z_mean", "PC 2 of z_mean")
    limit = max(LATENT_EXTENT, float(np.abs(points).max()) * 1.05 if len(points) else 0.0)
    fig, ax = plt.subplots(figsize=(8, 7))
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=6)
    fig.colorbar(scatter, ax=ax, label="label")
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), xlabel=axes[0], ylabel=axes[1], title="test-set latent means")
    fig.tight_layout()
    return out.figure("vae_mean", fig)


def write_traversals(model: VAE, out: ArtifactSink, kl_per_dim: np.ndarray, steps: int = 11) -> list[Path]:
    """`latent_traversal_z<i>.png`, one per latent dimension: z[i] from -4 to 4 (columns), every
    other dimension 0, one row per label (conditional models). The title gives the dimension's mean
    KL on the test set: a dimension near 0 nats is muted (carries nothing), as z[0] at beta=10."""
    values = np.linspace(-LATENT_EXTENT, LATENT_EXTENT, steps)
    labels: list[int | None] = list(range(model.num_labels)) if model.conditional else [None]
    paths = []
    for dim in range(model.latent_dim):
        z = np.zeros((steps, model.latent_dim), dtype=np.float32)
        z[:, dim] = values
        rows = np.concatenate([decode_points(model, z, label) for label in labels])
        state = "muted" if kl_per_dim[dim] < MUTED_KL else "active"
        rows_text = f"; rows: labels 0..{model.num_labels - 1}" if model.conditional else ""
        title = f"z[{dim}] -4..4 (others 0){rows_text}; mean KL {kl_per_dim[dim]:.2f} nats: {state}"
        paths.append(out.image_grid(f"latent_traversal_z{dim}", rows, cols=steps, title=title))
    log.info("vae: mean KL per latent dimension on the test set: %s",
             ", ".join(f"z[{i}]={v:.3f}" for i, v in enumerate(kl_per_dim)))
    return paths


def write_vae_figures(model: VAE, data: DataView, out: ArtifactSink, traversals: bool = False) -> None:
    """After training: the mean scatter, then the 30x30 manifold (per-label 10x10 manifolds for
    the CVAE, as the book's `--digit` runs), then latent traversals if asked."""
    z_mean, z_log_var = encode_test_set(model, data)
    write_mean_scatter(out, z_mean, data.labels("test"))
    if model.conditional:
        for label in range(model.num_labels):
            write_manifold(model, out, f"digits_over_latent_label_{label}", 10, label)
    else:
        write_manifold(model, out, "digits_over_latent", 30)
    if traversals:
        kl = -0.5 * (1.0 + z_log_var - np.square(z_mean) - np.exp(z_log_var))
        write_traversals(model, out, kl.mean(axis=0))


def write_beta_vae_figures(model: VAE, data: DataView, out: ArtifactSink) -> None:
    write_vae_figures(model, data, out, traversals=True)


def sample_vae(model: VAE, options: SampleConfig, out: ArtifactSink) -> list[Path]:
    """task=sample: decode `sample.latent` (one point) or a `sample.grid` x `sample.grid` manifold.
    Conditional models draw `sample.label`, or every label when it is not given."""
    if options.label is not None:
        if not model.conditional:
            raise ConfigError(
                f"sample.label={options.label} needs a conditional model (cvae, beta_vae); "
                f"this checkpoint is an unconditional VAE: leave sample.label out"
            )
        if not 0 <= options.label < model.num_labels:
            raise ConfigError(f"sample.label={options.label} is out of range; valid: 0..{model.num_labels - 1}")
    labels: list[int | None]
    if not model.conditional:
        labels = [None]
    elif options.label is not None:
        labels = [options.label]
    else:
        labels = list(range(model.num_labels))
    suffix = (lambda label: "" if label is None else f"_label_{label}")

    if options.latent is not None:
        if len(options.latent) != model.latent_dim:
            example = ",".join(["0.0"] * model.latent_dim)
            raise ConfigError(
                f"sample.latent has {len(options.latent)} values; this model's latent space has "
                f"{model.latent_dim} dimensions (e.g. sample.latent=[{example}])"
            )
        z = np.asarray([options.latent], dtype=np.float32)
        images = np.concatenate([decode_points(model, z, label) for label in labels])
        name = "sample_latent" + (suffix(labels[0]) if len(labels) == 1 else "_all_labels")
        point = ", ".join(f"{v:g}" for v in options.latent)
        return [out.image_grid(name, images, cols=len(images), title=f"z = [{point}]")]
    return [write_manifold(model, out, f"sample_grid{suffix(label)}", options.grid, label) for label in labels]


# ---------------------------------------------------------------------------------------------------
# Registered builders
# ---------------------------------------------------------------------------------------------------


@MODELS.register("vae_mlp", FitSpec(options=VAEMLPOptions, view="flat", objective="self",
                 artifacts=write_vae_figures, sample=sample_vae))
def build_vae_mlp(opts: VAEMLPOptions, ctx: BuildContext) -> VAE:
    """Listing 8.1.1 (807,700 params on MNIST: encoder 403,972 + decoder 403,728)."""
    (dim,) = require_rank("vae_mlp", ctx.input_shape, 1, "flat")
    check_positive("vae_mlp", "intermediate_dim", opts.intermediate_dim)
    _check_latent("vae_mlp", opts)
    return _assemble("vae_mlp", opts, (dim,), mlp_trunks(opts, dim), num_labels=0)


@MODELS.register("vae_cnn", FitSpec(options=VAECNNOptions, view="image", objective="self",
                 artifacts=write_vae_figures, sample=sample_vae))
def build_vae_cnn(opts: VAECNNOptions, ctx: BuildContext) -> VAE:
    """File 8.1.2 (134,165 params on MNIST: encoder 69,076 + decoder 65,089)."""
    shape = _cnn_shape("vae_cnn", opts, ctx.input_shape)
    _check_latent("vae_cnn", opts)
    return _assemble("vae_cnn", opts, shape, cnn_trunks(opts, shape), num_labels=0)


def _build_conditional(name: str, opts: VAECNNOptions, input_shape: tuple[int, ...], num_classes: int) -> VAE:
    shape = _cnn_shape(name, opts, input_shape)
    _check_latent(name, opts)
    return _assemble(name, opts, shape, cnn_trunks(opts, shape), num_labels=num_classes)


@MODELS.register("cvae", FitSpec(options=VAECNNOptions, view="image", objective="self_conditional",
                 artifacts=write_vae_figures, sample=sample_vae))
def build_cvae(opts: VAECNNOptions, ctx: BuildContext) -> VAE:
    """Listing 8.2.1 (174,437 params on MNIST: encoder 77,988 + decoder 96,449)."""
    return _build_conditional("cvae", opts, ctx.input_shape, ctx.num_classes)


@MODELS.register("beta_vae", FitSpec(options=VAECNNOptions, view="image", objective="self_conditional",
                 artifacts=write_beta_vae_figures, sample=sample_vae))
def build_beta_vae(opts: VAECNNOptions, ctx: BuildContext) -> VAE:
    """Section 8.3: the book's beta-VAE is the CVAE of Listing 8.2.1 with beta > 1 (same 174,437
    params); its run adds latent-traversal figures."""
    return _build_conditional("beta_vae", opts, ctx.input_shape, ctx.num_classes)
