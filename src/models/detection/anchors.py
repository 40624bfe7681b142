"""Anchor boxes of the book's SSD (spec 11.B, Listing 11.2.1, the repo's `layer_utils.py`).

Every box here is in the book's minmax order, (xmin, xmax, ymin, ymax) in pixels, the order of the
drinks label CSV; the centroid order is (cx, cy, w, h). Anchors are fixed by the image and feature-map
sizes, so they are computed once in NumPy and handed to the graph as constants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

ASPECT_RATIOS: tuple[float, ...] = (1.0, 2.0, 0.5)
"""The repo's aspect ratios w/h (spec 11.B); the book's Eq. 11.2.2 lists five, the code uses three."""

N_BOXES = len(ASPECT_RATIOS) + 1
"""Anchors per feature-map point: one per aspect ratio plus the extra ratio-1 box of Eq. 11.2.4."""


def anchor_sizes(n_layers: int) -> np.ndarray:
    """(n_layers, 2) sizes [s_i, sqrt(s_i s_{i+1})] with s = linspace(0.2, 0.9, n_layers + 1), the
    original SSD's scales (spec 11.B `anchor_sizes()`): the first for the aspect-ratio boxes, the second
    for the extra box."""
    s = np.linspace(0.2, 0.9, n_layers + 1)
    return np.stack([s[:-1], np.sqrt(s[:-1] * s[1:])], axis=-1)


def layer_anchors(image_hw: Sequence[int], feature_hw: Sequence[int], sizes: Sequence[float],
                  aspect_ratios: Sequence[float] = ASPECT_RATIOS) -> np.ndarray:
    """(fh * fw * n_boxes, 4) float32 minmax anchors of one SSD head (spec 11.B, Eqs. 11.2.3-11.2.4).

    Widths scale with the image width and heights with the image height, as in the repo (so a ratio-1
    box is 4:3 in pixels on a 640x480 image): ratio boxes W s_i sqrt(ar) x H s_i / sqrt(ar), the extra box
    W sqrt(s_i s_{i+1}) x H sqrt(s_i s_{i+1}). Centres are the midpoints of the receptive-field cells.
    Rows run over y, then x, then the box, the order in which a head's Conv2D output (B, fh, fw,
    n_boxes * k) reshapes to (B, fh * fw * n_boxes, k).
    """
    (height, width), (fh, fw) = image_hw, feature_hw
    ratios = np.asarray(aspect_ratios, np.float64)
    box_w = np.append(width * sizes[0] * np.sqrt(ratios), width * sizes[1])
    box_h = np.append(height * sizes[0] / np.sqrt(ratios), height * sizes[1])
    grid_w, grid_h = width / fw, height / fh
    cx = np.linspace(grid_w / 2, (fw - 0.5) * grid_w, fw)
    cy = np.linspace(grid_h / 2, (fh - 0.5) * grid_h, fh)
    n = len(box_w)
    centroids = np.stack(np.broadcast_arrays(cx[None, :, None], cy[:, None, None], box_w, box_h), axis=-1)
    return np.asarray(centroid_to_minmax(centroids.reshape(fh * fw * n, 4)), np.float32)


def all_anchors(image_hw: Sequence[int], feature_shapes: Sequence[Sequence[int]],
                n_layers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every head's anchors concatenated in head order, (A, 4) float32 minmax, and (A,) int32 the head
    (layer) index of each, which the per-layer assignment of spec 11.C needs.

    `feature_shapes` are the heads' (fh, fw) (or (fh, fw, channels)), smallest stride first; `n_layers`
    (the scale count of `anchor_sizes`) defaults to their number, as in the repo.
    """
    n_layers = len(feature_shapes) if n_layers is None else n_layers
    sizes = anchor_sizes(n_layers)
    per_layer = [layer_anchors(image_hw, shape[:2], sizes[i]) for i, shape in enumerate(feature_shapes)]
    layer_of_anchor = np.concatenate([np.full(len(a), i, np.int32) for i, a in enumerate(per_layer)])
    return np.concatenate(per_layer), layer_of_anchor


def minmax_to_centroid(boxes: tf.Tensor | np.ndarray) -> tf.Tensor:
    """(..., 4) (xmin, xmax, ymin, ymax) to (cx, cy, w, h) (the repo's `minmax2centroid`, spec 11.B)."""
    xmin, xmax, ymin, ymax = tf.unstack(tf.convert_to_tensor(boxes), axis=-1)
    return tf.stack([(xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin, ymax - ymin], axis=-1)


def centroid_to_minmax(boxes: tf.Tensor | np.ndarray) -> tf.Tensor:
    """(..., 4) (cx, cy, w, h) to (xmin, xmax, ymin, ymax) (the repo's `centroid2minmax`, spec 11.B)."""
    cx, cy, w, h = tf.unstack(tf.convert_to_tensor(boxes), axis=-1)
    return tf.stack([cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2], axis=-1)
