"""The SSD anchors of spec 11.B at the book's 480x640 input: counts, the pixel-size table, centres, order."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

from adl_runner.models.detection.anchors import (
    N_BOXES,
    all_anchors,
    anchor_sizes,
    centroid_to_minmax,
    layer_anchors,
    minmax_to_centroid,
)

IMAGE = (480, 640)
FEATURES = [(30, 40), (15, 20), (8, 10), (4, 5)]
# Spec 11.B's derived table: per layer, (width, height) of the ar 1, ar 2, ar 0.5 and extra boxes.
SIZE_TABLE = [
    [(128, 96), (181.0, 67.9), (90.5, 135.8), (175.3, 131.5)],
    [(240, 180), (339.4, 127.3), (169.7, 254.6), (290.7, 218.0)],
    [(352, 264), (497.8, 186.7), (248.9, 373.4), (404.1, 303.1)],
    [(464, 348), (656.2, 246.1), (328.1, 492.1), (517.0, 387.7)],
]


@pytest.fixture(scope="module")
def anchors() -> tuple[np.ndarray, np.ndarray]:
    return all_anchors(IMAGE, FEATURES, 4)


def test_the_book_input_has_6400_anchors_4800_of_them_on_the_first_layer(anchors) -> None:
    boxes, layer = anchors
    assert N_BOXES == 4 and boxes.shape == (6400, 4) and boxes.dtype == np.float32
    assert np.bincount(layer).tolist() == [4800, 1200, 320, 80]
    assert (np.diff(layer) >= 0).all()  # layers are concatenated in head order


def test_anchor_sizes_are_the_original_ssd_scales() -> None:
    np.testing.assert_allclose(anchor_sizes(4), [[0.2, 0.27386], [0.375, 0.45415], [0.55, 0.63147], [0.725, 0.80777]],
                               atol=1e-5)


@pytest.mark.parametrize("layer", range(4))
@pytest.mark.parametrize("box", range(4))
def test_anchor_pixel_sizes_match_the_spec_table(anchors, layer: int, box: int) -> None:
    boxes, layers = anchors
    centroids = ops.convert_to_numpy(minmax_to_centroid(boxes[layers == layer]))
    sizes = centroids[:, 2:].reshape(-1, N_BOXES, 2)
    assert np.ptp(sizes[:, box], axis=0).max() < 1e-3  # every point of a layer has the same boxes
    np.testing.assert_allclose(sizes[0, box], SIZE_TABLE[layer][box], atol=0.051)


def test_centres_are_the_receptive_field_midpoints(anchors) -> None:
    boxes, layers = anchors
    centres = ops.convert_to_numpy(minmax_to_centroid(boxes))[:, :2]
    np.testing.assert_allclose(centres[0], (8, 8))          # 16x16-pixel cells on the 30x40 map
    np.testing.assert_allclose(centres[-1], (576, 420))     # last cell of the 4x5 map: 128x120 pixels
    np.testing.assert_allclose(centres[layers == 2][0], (32, 30))
    np.testing.assert_allclose(boxes[0], (8 - 64, 8 + 64, 8 - 48, 8 + 48))  # minmax order


def test_rows_follow_a_conv_heads_reshape_order() -> None:
    fh, fw = 3, 5
    boxes = layer_anchors(IMAGE, (fh, fw), anchor_sizes(4)[0]).reshape(fh, fw, N_BOXES, 4)
    # A head's Conv2D output (B, fh, fw, n_boxes * k) reshaped to (B, fh * fw * n_boxes, k): tag each
    # channel with its (y, x, box) and read the tags in the anchors' row order.
    y, x, box = np.meshgrid(np.arange(fh), np.arange(fw), np.arange(N_BOXES), indexing="ij")
    tags = np.stack([y, x, box], -1).reshape(1, fh, fw, N_BOXES * 3)
    rows = ops.convert_to_numpy(ops.reshape(tags, (1, -1, 3)))[0]
    centroids = ops.convert_to_numpy(minmax_to_centroid(boxes.reshape(-1, 4)))
    np.testing.assert_allclose(centroids[:, 0], (rows[:, 1] + 0.5) * 640 / fw, rtol=1e-6)
    np.testing.assert_allclose(centroids[:, 1], (rows[:, 0] + 0.5) * 480 / fh, rtol=1e-6)
    np.testing.assert_allclose(centroids[:, 2], np.tile(centroids[:N_BOXES, 2], fh * fw), rtol=1e-6)
    assert rows[:, 2].tolist() == list(range(N_BOXES)) * (fh * fw)


def test_centroid_and_minmax_are_inverse() -> None:
    boxes = np.array([[[10.0, 30.0, 5.0, 45.0]], [[0.0, 1.0, 2.0, 4.0]]])
    centroid = ops.convert_to_numpy(minmax_to_centroid(boxes))
    np.testing.assert_allclose(centroid, [[[20, 25, 20, 40]], [[0.5, 3, 1, 2]]])
    np.testing.assert_allclose(ops.convert_to_numpy(centroid_to_minmax(centroid)), boxes)
