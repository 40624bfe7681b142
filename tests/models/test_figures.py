"""The figures several families share (models/figures.py): PCA projection, the latent manifold."""

from __future__ import annotations

import numpy as np

from adl_runner.models.figures import manifold_figure, manifold_points, pca_2d


def test_pca_projection_keeps_the_two_widest_directions() -> None:
    rng = np.random.default_rng(0)
    z = np.zeros((200, 5))
    z[:, 3] = 10 * rng.standard_normal(200)  # the widest direction
    z[:, 1] = 3 * rng.standard_normal(200)
    z[:, 0] = 0.01 * rng.standard_normal(200)
    points, explained = pca_2d(z)
    assert points.shape == (200, 2) and explained > 0.99
    assert abs(np.corrcoef(points[:, 0], z[:, 3])[0, 1]) > 0.99  # PC 1 is the widest column
    assert abs(np.corrcoef(points[:, 1], z[:, 1])[0, 1]) > 0.99  # PC 2 the next one


def test_pca_projection_keeps_the_largest_spread() -> None:
    rng = np.random.default_rng(0)
    points = np.zeros((200, 5))
    points[:, 3] = rng.normal(scale=5.0, size=200)
    points[:, 1] = rng.normal(scale=2.0, size=200)
    projected, _ = pca_2d(points)
    assert projected.shape == (200, 2)
    assert abs(np.corrcoef(projected[:, 0], points[:, 3])[0, 1]) > 0.99
    assert abs(np.corrcoef(projected[:, 1], points[:, 1])[0, 1]) > 0.99


def test_manifold_follows_the_book_orientation() -> None:
    points = manifold_points(3, 4)
    assert points.shape == (9, 4) and not points[:, 2:].any()
    np.testing.assert_array_equal(points[0, :2], [-4, 4])  # top left: z[0] = -4, z[1] = +4
    np.testing.assert_array_equal(points[2, :2], [4, 4])
    np.testing.assert_array_equal(points[8, :2], [4, -4])


def test_the_manifold_figure_tiles_the_grid_with_the_latent_values_as_ticks() -> None:
    fig = manifold_figure(np.zeros((9, 4, 5, 1)), 3, note="label 3")
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (12, 15)  # 3 x 3 tiles of 4 x 5
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-4.0", "0.0", "4.0"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["4.0", "0.0", "-4.0"]  # z[1] grows upwards
    assert ax.get_title().endswith("; label 3")
