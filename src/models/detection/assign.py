"""Ground-truth assignment and offset encoding of the book's SSD (spec 11.C, Listing 11.3.1
`get_gt_data`, the repo's `layer_utils.iou`), batched over images with padded box rows.

Boxes are minmax (xmin, xmax, ymin, ymax) pixels. An image's boxes arrive padded to M rows, padding rows
with class < 0 (`data.inputs.boxes.PAD_CLASS`); they are ignored throughout.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import tensorflow as tf

from adl_runner.models.detection.anchors import centroid_to_minmax, minmax_to_centroid

CENTROID_SCALE = (0.1, 0.1, 0.2, 0.2)
"""The normalised offsets' sigma_x, sigma_y, sigma_w, sigma_h (Eq. 11.4.8)."""

Tensorish: TypeAlias = tf.Tensor | np.ndarray


def iou(boxes_a: Tensorish, boxes_b: Tensorish) -> tf.Tensor:
    """(..., N, M) intersection over union of (..., N, 4) and (..., M, 4) minmax boxes (Eq. 11.3.1).

    Leading dimensions broadcast, so a batch of ground truth (B, N, 4) against shared anchors (A, 4)
    gives (B, N, A). An inverted box counts as empty, and a pair whose union is empty has IoU 0 (the
    repo divides by zero there).
    """
    a = tf.cast(boxes_a, tf.float32)[..., :, None, :]
    b = tf.cast(boxes_b, tf.float32)[..., None, :, :]
    overlap_w = tf.nn.relu(tf.minimum(a[..., 1], b[..., 1]) - tf.maximum(a[..., 0], b[..., 0]))
    overlap_h = tf.nn.relu(tf.minimum(a[..., 3], b[..., 3]) - tf.maximum(a[..., 2], b[..., 2]))
    intersection = overlap_w * overlap_h
    union = _area(a) + _area(b) - intersection
    return tf.math.divide_no_nan(intersection, union)


def _area(boxes: tf.Tensor) -> tf.Tensor:
    return tf.nn.relu(boxes[..., 1] - boxes[..., 0]) * tf.nn.relu(boxes[..., 3] - boxes[..., 2])


def encode(boxes: Tensorish, anchors: Tensorish, normalize: bool) -> tf.Tensor:
    """(..., 4) offsets of minmax `boxes` from their `anchors` (spec 11.C).

    Raw (Eq. 11.4.3): box - anchor in minmax order, (dxmin, dxmax, dymin, dymax) pixels. Normalised
    (Eq. 11.4.8, the repo's order): (((cx_b - cx_a) / w_a) / 0.1, ((cy_b - cy_a) / h_a) / 0.1,
    log(w_b / w_a) / 0.2, log(h_b / h_a) / 0.2).
    """
    boxes, anchors = tf.cast(boxes, tf.float32), tf.cast(anchors, tf.float32)
    if not normalize:
        return boxes - anchors
    b, a = minmax_to_centroid(boxes), minmax_to_centroid(anchors)
    centre = (b[..., :2] - a[..., :2]) / a[..., 2:]
    size = tf.math.log(b[..., 2:] / a[..., 2:])
    return tf.concat([centre, size], axis=-1) / CENTROID_SCALE


def decode(offsets: Tensorish, anchors: Tensorish, normalize: bool) -> tf.Tensor:
    """(..., 4) minmax boxes from offsets and their anchors: the exact inverse of `encode` (spec 11.G,
    the repo's `show_boxes`: cx = off 0.1 w_a + cx_a, w = exp(off 0.2) w_a)."""
    offsets, anchors = tf.cast(offsets, tf.float32), tf.cast(anchors, tf.float32)
    if not normalize:
        return anchors + offsets
    a = minmax_to_centroid(anchors)
    scaled = offsets * CENTROID_SCALE
    centre = scaled[..., :2] * a[..., 2:] + a[..., :2]
    size = tf.exp(scaled[..., 2:]) * a[..., 2:]
    return centroid_to_minmax(tf.concat([centre, size], axis=-1))


def assign(anchors: Tensorish, layer_of_anchor: Tensorish, gt_boxes: Tensorish, gt_classes: Tensorish,
           n_classes: int, threshold: float = 0.6, normalize: bool = False) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The SSD targets of a batch (spec 11.C): `gt_class` (B, A, n_classes) one-hot, `gt_offset` (B, A, 4)
    and `gt_mask` (B, A, 4), 1.0 on the four channels of a positive anchor.

    `anchors` (A, 4) and `layer_of_anchor` (A,) come from `anchors.all_anchors`; `gt_boxes` (B, M, 4)
    and `gt_classes` (B, M) are the `boxes` input kind's padded rows (class < 0: padding, ignored).

    Positives, as the repo's data generator makes them: for each box, the anchor of highest IoU within
    EACH head layer (the generator calls `get_gt_data` once per layer, so an object gets one positive
    per scale; the book's prose says one overall), plus every anchor with IoU > `threshold` (the
    "extra anchors"; a threshold >= 1.0 gives none). A per-layer best with IoU 0 (a degenerate box) is
    no positive. An anchor matched by several boxes takes the one of highest IoU (the repo lets the last
    box written win, and can set two classes in one row). Other anchors are background: class 0, mask 0,
    offset 0. Offsets are `encode(box, anchor, normalize)`.
    """
    anchors = tf.cast(anchors, tf.float32)
    layer_of_anchor = tf.cast(layer_of_anchor, tf.int32)
    gt_boxes = tf.cast(gt_boxes, tf.float32)
    gt_classes = tf.cast(gt_classes, tf.int32)
    valid = gt_classes >= 0                                                     # (B, M)
    overlap = tf.where(valid[..., None], iou(gt_boxes, anchors), 0.0)           # (B, M, A)
    matched = _best_per_layer(overlap, layer_of_anchor) | (overlap > threshold)
    positive = tf.reduce_any(matched, axis=1)                                   # (B, A)
    box_of_anchor = tf.argmax(tf.where(matched, overlap, -1.0), axis=1, output_type=tf.int32)
    classes = tf.where(positive, tf.gather(gt_classes, box_of_anchor, batch_dims=1), 0)
    # Background anchors take themselves as their box: their offset is exactly 0 (and never log 0).
    boxes = tf.where(positive[..., None], tf.gather(gt_boxes, box_of_anchor, batch_dims=1), anchors)
    mask = tf.tile(tf.cast(positive, tf.float32)[..., None], [1, 1, 4])
    return tf.one_hot(classes, n_classes), encode(boxes, anchors, normalize), mask


def _best_per_layer(overlap: tf.Tensor, layer_of_anchor: tf.Tensor) -> tf.Tensor:
    """(B, M, A) True at each box's first anchor of highest, non-zero IoU within each layer.

    Dense over a (B, M, L, A) view, each layer's row holding only its own anchors (-1 elsewhere): a few
    reductions of a small tensor, where segment reductions over anchors took 8x the whole assignment."""
    n_anchors = tf.shape(overlap)[-1]
    n_layers = tf.reduce_max(layer_of_anchor) + 1
    in_layer = tf.transpose(tf.one_hot(layer_of_anchor, n_layers, on_value=True, off_value=False))  # (L, A)
    by_layer = tf.where(in_layer, overlap[..., None, :], -1.0)                  # (B, M, L, A)
    is_best = (by_layer == tf.reduce_max(by_layer, axis=-1, keepdims=True)) & (by_layer > 0)
    index = tf.range(n_anchors)
    first = tf.reduce_min(tf.where(is_best, index, n_anchors), axis=-1, keepdims=True)  # (B, M, L, 1)
    return tf.reduce_any(index == first, axis=-2)                              # a layer without one: n_anchors, no anchor
