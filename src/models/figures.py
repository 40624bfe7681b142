"""Figures that several model families draw, drawn once: the latent-space helpers of the
autoencoders (ch. 3) and VAEs (ch. 8), and the tabular agent's Q-table (ch. 9).

Each returns a matplotlib figure (or the numbers for one); a family hands it to its
`ArtifactSink`, which decides the file.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

LATENT_EXTENT = 4.0
"""The book's latent range for the 2-dim plots (chapters 3 and 8): axes and manifold span [-4, 4]."""


def pca_2d(z: np.ndarray) -> tuple[np.ndarray, float]:
    """Project points (N, D) on their first two principal components (SVD of the centred points);
    also return the share of the variance those two explain."""
    centred = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(s**2))
    return centred @ vt[:2].T, float(np.sum(s[:2] ** 2) / total) if total > 0 else 0.0


def manifold_points(n: int, latent_dim: int = 2, extent: float = LATENT_EXTENT) -> np.ndarray:
    """The book's manifold grid: z[0] = linspace(-extent, extent, n) left to right, z[1] from
    +extent (top) to -extent (bottom), row-major; other dimensions 0."""
    values = np.linspace(-extent, extent, n)
    points = np.zeros((n * n, latent_dim), dtype=np.float32)
    points[:, 0] = np.tile(values, n)
    points[:, 1] = np.repeat(values[::-1], n)
    return points


def manifold_figure(images: np.ndarray, n: int, extent: float = LATENT_EXTENT, note: str = "") -> Any:
    """The images decoded from `manifold_points(n, ..., extent)`, tiled n x n with the latent
    values as ticks (rounded to 1 decimal, z[1] growing upwards), as the book's plot_results
    (Listings 3.2.2 and 8.1.x). `note` is appended to the title (a label, the zeroed dimensions)."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    h, w, c = images.shape[1:]
    canvas = images.reshape(n, n, h, w, c).transpose(0, 2, 1, 3, 4).reshape(n * h, n * w, c)
    values = np.linspace(-extent, extent, n)
    fig, ax = plt.subplots(figsize=(10, 10))
    ax.imshow(canvas[..., 0] if c == 1 else canvas, cmap="Greys_r" if c == 1 else None, vmin=0.0, vmax=1.0)
    step = max(1, n // 10)  # the book labels all 30 ticks; keep at most ~10 legible
    ax.set_xticks(np.arange(w // 2, n * w, w)[::step], np.round(values, 1)[::step])
    ax.set_yticks(np.arange(h // 2, n * h, h)[::step], np.round(values[::-1], 1)[::step])
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    title = f"Digits decoded over the latent: {n}x{n} grid on [{-extent:g}, {extent:g}]^2"
    ax.set_title(f"{title}; {note}" if note else title)
    fig.tight_layout()
    return fig


def q_table_figure(q: np.ndarray, grid: tuple[int, int], actions: list[str]) -> Any:
    """The Q-table (states x actions, values written in when it is small) beside the state values
    V(s) = max_a Q(s, a) laid out on the env's grid."""
    fig, (ax_q, ax_v) = plt.subplots(1, 2, figsize=(10, 4))
    im = ax_q.imshow(q, cmap="coolwarm", aspect="auto")
    ax_q.set_xticks(range(q.shape[1]), actions or None)
    ax_q.set_ylabel("state")
    ax_q.set_title("Q-table")
    if q.size <= 64:
        for (s, a), v in np.ndenumerate(q):
            ax_q.text(a, s, f"{v:.3g}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax_q)
    values = q.max(axis=1).reshape(grid)
    im = ax_v.imshow(values, cmap="viridis")
    for (r, c), v in np.ndenumerate(values):  # each cell names its state: the axes would only count cells
        ax_v.text(c, r, f"s{r * grid[1] + c}\n{v:.3g}", ha="center", va="center", color="w", fontsize=9)
    ax_v.set_xticks([])
    ax_v.set_yticks([])
    ax_v.set_title("state values V(s) = max_a Q(s, a)")
    fig.colorbar(im, ax=ax_v)
    fig.tight_layout()
    return fig
