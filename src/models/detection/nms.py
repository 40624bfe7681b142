"""Non-maximum suppression of the book's SSD (spec 11.G, Algorithm 11.12.1, the repo's `boxes.py::nms`),
batched: one `tf.while_loop` step per kept detection, each step vectorised over all anchors of all images.

Class-agnostic, as in the book: a kept box suppresses overlapping candidates of any class.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from adl_runner.models.detection.assign import Tensorish, decode, iou

SOFT_NMS_SIGMA = 0.5
"""Soft NMS scales a candidate's score by exp(-IoU^2 / sigma) (Algorithm 11.12.1 line 8; the repo's exp(-2 IoU^2))."""


class Detections(NamedTuple):
    """Kept detections in the order NMS chose them (highest score first, after any soft decay)."""

    classes: tf.Tensor
    """Argmax class of each kept anchor (never 0, the background); padding 0."""
    indexes: tf.Tensor
    """Index of each kept anchor into the (A,) anchors; padding -1."""
    scores: tf.Tensor
    """Its score when chosen (the max class probability, decayed by soft NMS); padding 0."""


def batched_nms(class_probs: Tensorish, boxes: Tensorish, class_threshold: float = 0.5, iou_threshold: float = 0.2,
                soft: bool = False, max_detections: int | None = None) -> Detections:
    """NMS of a batch (spec 11.G): `class_probs` (B, A, C) softmax outputs, `boxes` (B, A, 4) decoded
    minmax boxes (`assign.decode`). Returns `Detections` of shape (B, K), K the most any image kept,
    shorter rows padded (index -1).

    Candidates are the anchors whose argmax class is not the background; a candidate's score is its
    max class probability. Repeatedly: keep the best-scoring candidate, stopping once it scores below
    `class_threshold`; then hard NMS drops every candidate with IoU >= `iou_threshold` with it, while
    soft NMS multiplies their scores by exp(-IoU^2 / 0.5) and drops none (they leave only through the
    class threshold). `max_detections` caps K (None: no cap, the book).
    """
    probs = tf.cast(class_probs, tf.float32)
    boxes = tf.cast(boxes, tf.float32)
    labels = tf.argmax(probs, axis=-1, output_type=tf.int32)                    # (B, A)
    batch, n_anchors = tf.shape(probs)[0], tf.shape(probs)[1]
    cap = n_anchors if max_detections is None else tf.minimum(n_anchors, max_detections)
    kept = tf.fill([batch, cap], -1)
    chosen_scores = tf.zeros([batch, cap])

    def step(t: tf.Tensor, scores: tf.Tensor, candidate: tf.Tensor, kept: tf.Tensor,
             chosen_scores: tf.Tensor) -> tuple[tf.Tensor, ...]:
        best = tf.argmax(tf.where(candidate, scores, -1.0), axis=-1, output_type=tf.int32)   # (B,)
        best_score = tf.gather(scores, best, batch_dims=1)
        active = tf.reduce_any(candidate, axis=-1) & (best_score >= class_threshold)
        slot = tf.stack([tf.range(batch), tf.fill([batch], t)], axis=-1)          # column t of each row
        kept = tf.tensor_scatter_nd_update(kept, slot, tf.where(active, best, -1))
        chosen_scores = tf.tensor_scatter_nd_update(chosen_scores, slot, tf.where(active, best_score, 0.0))
        candidate &= ~((tf.range(n_anchors)[None, :] == best[:, None]) & active[:, None])
        overlap = iou(tf.gather(boxes, best, batch_dims=1)[:, None], boxes)[:, 0]         # (B, A)
        hit = candidate & active[:, None]
        if soft:
            scores = tf.where(hit, scores * tf.exp(-tf.square(overlap) / SOFT_NMS_SIGMA), scores)
        else:
            candidate &= ~(hit & (overlap >= iou_threshold))
        # An image that found nothing to keep is finished: no candidates left for it.
        candidate &= active[:, None]
        return t + 1, scores, candidate, kept, chosen_scores

    def more(*state: tf.Tensor) -> tf.Tensor:
        return tf.reduce_any(state[2])  # any candidate left

    _, _, _, kept, chosen_scores = tf.while_loop(
        more, step, (tf.constant(0), tf.reduce_max(probs, axis=-1), labels > 0, kept, chosen_scores),
        maximum_iterations=cap)
    width = tf.reduce_max(tf.reduce_sum(tf.cast(kept >= 0, tf.int32), axis=-1))
    kept, chosen_scores = kept[:, :width], chosen_scores[:, :width]
    classes = tf.where(kept >= 0, tf.gather(labels, tf.maximum(kept, 0), batch_dims=1), 0)
    return Detections(classes, kept, chosen_scores)


def nms(class_probs: Tensorish, boxes: Tensorish, class_threshold: float = 0.5, iou_threshold: float = 0.2,
        soft: bool = False, max_detections: int | None = None) -> Detections:
    """NMS of one image (spec 11.G): `class_probs` (A, C), `boxes` (A, 4) decoded minmax. Returns
    `Detections` of shape (K,), the K kept anchors (no padding); see `batched_nms`."""
    found = batched_nms(tf.convert_to_tensor(class_probs)[None], tf.convert_to_tensor(boxes)[None],
                        class_threshold, iou_threshold, soft, max_detections)
    return Detections(*(field[0] for field in found))


def detect(class_probs: Tensorish, offsets: Tensorish, anchors: Tensorish, normalize: bool, class_threshold: float = 0.5,
           iou_threshold: float = 0.2, soft: bool = False, max_detections: int | None = None) -> tuple[Detections, tf.Tensor]:
    """The SSD's batched predictions to detections (spec 11.G, the repo's `show_boxes` + `nms`): decodes
    `offsets` (B, A, 4), or the book's duplicated (B, A, 8), against `anchors` (A, 4), runs `batched_nms`,
    and returns its `Detections` with the kept boxes (B, K, 4) minmax pixels (padding rows 0)."""
    boxes = decode(tf.cast(offsets, tf.float32)[..., :4], anchors, normalize)
    found = batched_nms(class_probs, boxes, class_threshold, iou_threshold, soft, max_detections)
    kept_boxes = tf.gather(boxes, tf.maximum(found.indexes, 0), batch_dims=1)
    return found, tf.where(found.indexes[..., None] >= 0, kept_boxes, 0.0)
