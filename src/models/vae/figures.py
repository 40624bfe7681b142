"""The VAEs' figures after training (latent means, manifolds, beta-VAE traversals) and task=sample."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import keras
import numpy as np

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.hooks import ArtifactSink, DataView, SampleConfig
from adl_runner.models.figures import LATENT_EXTENT, manifold_figure, manifold_points, pca_2d
from adl_runner.models.vae.model import MUTED_KL, VAE

log = logging.getLogger("runner")


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
    KL on the test set: a dimension near 0 nats is muted (carries nothing), as z[0] at beta=10.
    The KLs also go to `latent_kl.json`."""
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
    # Kept as a file too, so a docs page can state which dimension the run muted from its record.
    paths.append(out.record("latent_kl", {"mean_kl_per_dim": [round(float(v), 4) for v in kl_per_dim],
                                          "muted_below": MUTED_KL}))
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


def _label_suffix(label: int | None) -> str:
    return "" if label is None else f"_label_{label}"


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

    if options.latent is not None:
        if len(options.latent) != model.latent_dim:
            example = ",".join(["0.0"] * model.latent_dim)
            raise ConfigError(
                f"sample.latent has {len(options.latent)} values; this model's latent space has "
                f"{model.latent_dim} dimensions (e.g. sample.latent=[{example}])"
            )
        z = np.asarray([options.latent], dtype=np.float32)
        images = np.concatenate([decode_points(model, z, label) for label in labels])
        name = "sample_latent" + (_label_suffix(labels[0]) if len(labels) == 1 else "_all_labels")
        point = ", ".join(f"{v:g}" for v in options.latent)
        return [out.image_grid(name, images, cols=len(images), title=f"z = [{point}]")]
    return [write_manifold(model, out, f"sample_grid{_label_suffix(label)}", options.grid, label) for label in labels]
