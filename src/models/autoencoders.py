"""Chapter 3 autoencoders: the convolutional autoencoder (Listings 3.2.1 / 3.2.2), the denoising
autoencoder (Listing 3.3.1: the same network trained on noisy inputs) and the colorization
autoencoder (Listing 3.4.1).

Every model here is `Model(inputs, decoder(encoder(inputs)))` with the encoder and the decoder as
named functional sub-models (`model.get_layer("encoder")`, `model.get_layer("decoder")`), as in
the book; they survive a `.keras` round trip in safe mode, so the artifacts and `task=sample`
work from a checkpoint. Encoder: stride-2 'same' Conv2D+ReLU per filter count, Flatten, a linear
Dense latent. Decoder: Dense back to the last feature map, Reshape, stride-2 'same'
Conv2DTranspose+ReLU per filter count in reverse, then a sigmoid Conv2DTranspose to the output
channels.

What the runner writes after training (`write_autoencoder_artifacts`, `write_colorization_artifacts`):
  input_and_decoded.png       first 8 test inputs (rows 1-2) and their reconstructions (rows 3-4)
  corrupted_and_denoised.png  when the inputs are corrupted (DAE): 3 sets x 9 digits, rows
                              original / noisy / denoised
  latent_2dim.png             2-dim latent: the encoded test set (every 2nd point), coloured by
                              label, axes [-4, 4] as in the book
  latent_pca.png              latent_dim > 2: the same scatter of the latent projected on its first
                              two principal components (PCA by numpy SVD of the centred codes),
                              titled with the share of variance they explain
  digits_over_latent.png      2-dim latent only: the 30x30 manifold decoded on linspace(-4, 4, 30)
                              (y axis reversed, as in the book); for any other latent_dim it is
                              skipped with one log line saying why
  test_color.png, test_gray.png, colorized.png   colorization: the first 100 test images as 10x10
                              grids (target, input, prediction)

`task=sample` (`sample_decoder`) decodes `sample.latent` (one point), else the sample.grid x
sample.grid manifold for a 2-dim latent, else sample.n random N(0, 1) latents. These models are
unconditional: `sample.label` is refused.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

from adl_runner.kernel.checks import require_rank, shape_text
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.figures import LATENT_EXTENT, manifold_figure, manifold_points, pca_2d

log = logging.getLogger("runner")

MANIFOLD_POINTS = 30
"""Points per side of the manifold written after training (Listing 3.2.2: 30x30)."""
COLOR_CHANNELS = 3
"""The colorization autoencoder always outputs RGB, whatever its (gray) input has."""


# ---------------------------------------------------------------------------------------------------
# Shared encoder / decoder builders
# ---------------------------------------------------------------------------------------------------


def _check_architecture(model: str, shape: tuple[int, ...], filters: list[int]) -> None:
    factor = 2 ** len(filters)
    if shape[0] % factor or shape[1] % factor:
        raise IncompatibleError(
            f"{model}: input {shape_text(shape)} cannot pass {len(filters)} stride-2 convs and back: "
            f"height and width must be multiples of {factor}"
        )


def conv_encoder(shape: tuple[int, int, int], filters: list[int], kernel_size: int, latent_dim: int) -> keras.Model:
    """Input -> [Conv2D(f, k, strides 2, same, relu)] per f -> Flatten -> Dense(latent_dim, linear)."""
    inputs = keras.Input(shape=shape, name="encoder_input")
    x = inputs
    for f in filters:
        x = layers.Conv2D(f, kernel_size, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    latent = layers.Dense(latent_dim, name="latent_vector")(x)
    return keras.Model(inputs, latent, name="encoder")


def conv_decoder(
    latent_dim: int, feature_shape: tuple[int, int, int], filters: list[int], kernel_size: int, channels: int
) -> keras.Model:
    """Input(latent_dim) -> Dense(prod(feature_shape)) -> Reshape -> [Conv2DTranspose(f, k, strides 2,
    same, relu)] per f in reverse -> Conv2DTranspose(channels, k, same, sigmoid)."""
    latent = keras.Input(shape=(latent_dim,), name="decoder_input")
    x = layers.Dense(math.prod(feature_shape))(latent)
    x = layers.Reshape(feature_shape)(x)
    for f in reversed(filters):
        x = layers.Conv2DTranspose(f, kernel_size, strides=2, padding="same", activation="relu")(x)
    outputs = layers.Conv2DTranspose(
        channels, kernel_size, padding="same", activation="sigmoid", name="decoder_output"
    )(x)
    return keras.Model(latent, outputs, name="decoder")


def conv_autoencoder(
    name: str, shape: tuple[int, int, int], filters: list[int], kernel_size: int, latent_dim: int, channels: int
) -> keras.Model:
    """`Model(inputs, decoder(encoder(inputs)), name=name)` with the encoder/decoder pair above."""
    _check_architecture(name, shape, filters)
    encoder = conv_encoder(shape, filters, kernel_size, latent_dim)
    factor = 2 ** len(filters)
    feature_shape = (shape[0] // factor, shape[1] // factor, filters[-1])  # the last conv's output
    decoder = conv_decoder(latent_dim, feature_shape, filters, kernel_size, channels)
    inputs = keras.Input(shape=shape, name="autoencoder_input")
    return keras.Model(inputs, decoder(encoder(inputs)), name=name)


# ---------------------------------------------------------------------------------------------------
# Autoencoder / denoising autoencoder: Listings 3.2.1, 3.2.2, 3.3.1
# ---------------------------------------------------------------------------------------------------


@dataclass
class AutoencoderOptions:
    """Convolutional autoencoder of Listing 3.2.1 (latent 16); Listing 3.2.2 is latent_dim=2 and the
    DAE of Listing 3.3.1 is this network trained on noisy inputs (`model=dae`)."""

    latent_dim: int = ranged(16, at_least=1)
    """Size of the linear latent vector (the book: 16; 2 for the latent scatter and manifold)."""
    filters: list[int] = ranged(default_factory=lambda: [32, 64], at_least=1, nonempty=True)
    """Filters of the encoder's stride-2 Conv2D layers, in order; the decoder mirrors them. Height and
    width of the input must be multiples of 2**len(filters)."""
    kernel_size: int = ranged(3, at_least=1)
    """Square kernel size of every Conv2D and Conv2DTranspose."""


def write_autoencoder_artifacts(model: keras.Model, data: Any, out: Any) -> None:
    """Reconstruction grid, denoising grid (corrupted inputs only), latent scatter and manifold."""
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    inputs, targets = data.examples(27)
    decoded = model.predict(inputs, verbose=0)
    n = min(8, len(inputs))
    out.image_grid("input_and_decoded", np.concatenate([inputs[:n], decoded[:n]]), cols=4,
                   title="Input: 1st 2 rows, Decoded: last 2 rows")
    if targets is not None and targets.shape == inputs.shape and not np.allclose(inputs, targets):
        out.image_grid("corrupted_and_denoised", _denoising_rows(targets, inputs, decoded), cols=min(9, len(inputs)),
                       title="Original, corrupted and denoised (3 rows per set)")

    z = encoder.predict(data.batches().map(lambda x, y: x), verbose=0)
    labels = data.labels()[: len(z)]
    latent_dim = z.shape[-1]
    if latent_dim >= 2:
        out.figure(*latent_scatter(z, labels))
    else:
        log.info("latent scatter skipped: it needs a latent of at least 2 dims, this one has %d", latent_dim)
    if latent_dim == 2:
        out.figure("digits_over_latent", decoded_manifold(decoder, MANIFOLD_POINTS))
    else:
        log.info("digits_over_latent.png skipped: the latent manifold needs a 2-dim latent, this one has %d "
                 "(train with model.latent_dim=2)", latent_dim)


def _denoising_rows(original: np.ndarray, noisy: np.ndarray, denoised: np.ndarray) -> np.ndarray:
    """The book's corrupted_and_denoised layout: per set of 9, a row each of original, noisy, denoised."""
    cols = min(9, len(original))
    sets = max(1, min(3, len(original) // cols))
    rows = []
    for s in range(sets):
        part = slice(s * cols, (s + 1) * cols)
        rows += [original[part], noisy[part], denoised[part]]
    return np.concatenate(rows)


def latent_scatter(z: np.ndarray, labels: np.ndarray) -> tuple[str, Any]:
    """(name, figure): every 2nd code coloured by its label; a 2-dim latent as is (axes [-4, 4], as
    Listing 3.2.2), a wider one projected on its first two principal components."""
    z, labels = z[0::2], labels[0::2]
    dim = z.shape[-1]
    fig, ax = plt.subplots(figsize=(12, 10))
    if dim == 2:
        name, points = "latent_2dim", z
        ax.set_xlim(-LATENT_EXTENT, LATENT_EXTENT)
        ax.set_ylim(-LATENT_EXTENT, LATENT_EXTENT)
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
        ax.set_title("2-dim latent of the test set (every 2nd point), coloured by label\n"
                     f"axes [-{LATENT_EXTENT:g}, {LATENT_EXTENT:g}] as in the book: points outside are not shown")
    else:
        name = "latent_pca"
        points, explained = pca_2d(z)
        ax.set_xlabel("principal component 1")
        ax.set_ylabel("principal component 2")
        ax.set_title(f"{dim}-dim latent of the test set (every 2nd point), coloured by label\n"
                     f"projected by PCA on its first 2 principal components ({100 * explained:.0f}% of the variance)")
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=12,
                         vmin=-0.5, vmax=max(9, int(labels.max(initial=0))) + 0.5)
    fig.colorbar(scatter, ax=ax, label="label")
    return name, fig


def decoded_manifold(decoder: keras.Model, n: int) -> Any:
    """The figure of Listing 3.2.2's plot_results: a 2-dim decoder over the book's n x n grid."""
    return manifold_figure(decoder.predict(manifold_points(n), batch_size=256, verbose=0), n)


def sample_decoder(model: keras.Model, options: Any, out: Any) -> list[Path]:
    """task=sample: one latent point (sample.latent), else the 2-dim manifold (sample.grid per side),
    else sample.n random N(0, 1) latents (seeded by `seed`), decoded as a grid."""
    family = model.name
    if options.label is not None:
        raise ConfigError(f"sample.label needs a conditional model; '{family}' is unconditional (drop sample.label)")
    decoder = model.get_layer("decoder")
    latent_dim = int(decoder.inputs[0].shape[-1])
    if options.latent is not None:
        if len(options.latent) != latent_dim:
            raise ConfigError(f"sample.latent has {len(options.latent)} value(s); this '{family}' decoder takes "
                              f"a {latent_dim}-dim latent, so sample.latent needs {latent_dim} values")
        point = np.asarray([options.latent], dtype=np.float32)
        image = decoder.predict(point, verbose=0)
        title = "z = [" + ", ".join(f"{v:g}" for v in options.latent) + "]"
        return [out.image_grid("sample_latent", image, cols=1, title=title if latent_dim <= 4 else None)]
    if latent_dim == 2:
        return [out.figure("digits_over_latent", decoded_manifold(decoder, options.grid))]
    z = np.random.standard_normal((options.n, latent_dim)).astype(np.float32)
    images = decoder.predict(z, verbose=0)
    cols = math.ceil(math.sqrt(options.n))
    title = f"{options.n} decoded N(0, 1) latents ({latent_dim}-dim)"
    return [out.image_grid("samples", images, cols=cols, title=title)]


@MODELS.register("autoencoder", FitSpec(options=AutoencoderOptions, view="image", objective="reconstruct", loss="mse",
                 artifacts=write_autoencoder_artifacts, sample=sample_decoder))
def build_autoencoder(opts: AutoencoderOptions, ctx: BuildContext) -> keras.Model:
    """Conv autoencoder reconstructing its own input: output channels = input channels."""
    shape = require_rank("autoencoder", ctx.input_shape, 3, "image")
    return conv_autoencoder("autoencoder", shape, list(opts.filters), opts.kernel_size, opts.latent_dim, shape[-1])


# ---------------------------------------------------------------------------------------------------
# Colorization autoencoder: Listing 3.4.1
# ---------------------------------------------------------------------------------------------------


@dataclass
class ColorizationOptions:
    """Colorization autoencoder of Listing 3.4.1: gray (H, W, 1) in, RGB (H, W, 3) out."""

    latent_dim: int = ranged(256, at_least=1)
    """Size of the linear latent vector (the book: 256)."""
    filters: list[int] = ranged(default_factory=lambda: [64, 128, 256], at_least=1, nonempty=True)
    """Filters of the encoder's stride-2 Conv2D layers, in order; the decoder mirrors them. Height and
    width of the input must be multiples of 2**len(filters) (32x32 CIFAR-10: 3 layers)."""
    kernel_size: int = ranged(3, at_least=1)
    """Square kernel size of every Conv2D and Conv2DTranspose."""


def write_colorization_artifacts(model: keras.Model, data: Any, out: Any) -> None:
    """The first 100 test images as 10x10 grids: test_color (target), test_gray (input), colorized."""
    gray, colour = data.examples(100)
    colorized = model.predict(gray, verbose=0)
    out.image_grid("test_color", colour, cols=10, title="Test color images (ground truth)")
    out.image_grid("test_gray", gray, cols=10, title="Test gray images (input)")
    out.image_grid("colorized", colorized, cols=10, title="Colorized test images (predicted)")


@MODELS.register("colorization", FitSpec(options=ColorizationOptions, view="image", objective="reconstruct", loss="mse",
                 artifacts=write_colorization_artifacts, sample=sample_decoder))
def build_colorization(opts: ColorizationOptions, ctx: BuildContext) -> keras.Model:
    """Gray-to-RGB autoencoder: takes 1-channel inputs, always outputs 3 channels."""
    shape = require_rank("colorization", ctx.input_shape, 3, "image")
    if shape[-1] != 1:
        raise IncompatibleError(
            f"colorization takes 1-channel gray inputs (dataset.gray_input=true, e.g. dataset=cifar10_gray2rgb), "
            f"got {shape_text(shape)}"
        )
    return conv_autoencoder(
        "colorization", shape, list(opts.filters), opts.kernel_size, opts.latent_dim, COLOR_CHANNELS
    )
