"""SSD non-maximum suppression (spec 11.G, Algorithm 11.12.1) on hand-worked cases, hard and soft."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from adl_runner.models.detection.assign import encode
from adl_runner.models.detection.nms import batched_nms, detect, nms

BOXES = np.array([
    [0, 10, 0, 10],    # 0: the best box, class 1
    [5, 15, 0, 10],    # 1: IoU 1/3 with box 0, class 1
    [50, 60, 50, 60],  # 2: apart, class 2
    [0, 10, 0, 10],    # 3: argmax is the background: never a candidate
    [80, 90, 0, 10],   # 4: apart but scores below the class threshold
    [1, 11, 0, 10],    # 5: IoU 9/11 with box 0
], np.float32)
PROBS = np.array([
    [0.1, 0.9, 0.0, 0.0],
    [0.2, 0.8, 0.0, 0.0],
    [0.3, 0.0, 0.7, 0.0],
    [0.6, 0.4, 0.0, 0.0],
    [0.3, 0.0, 0.25, 0.45],
    [0.15, 0.85, 0.0, 0.0],
], np.float32)


def _lists(found) -> tuple[list, list, list]:
    return found.classes.numpy().tolist(), found.indexes.numpy().tolist(), found.scores.numpy().tolist()


def test_hard_nms_removes_the_overlapping_boxes_and_stops_below_the_class_threshold() -> None:
    classes, indexes, scores = _lists(nms(PROBS, BOXES))
    assert indexes == [0, 2] and classes == [1, 2]
    assert scores == pytest.approx([0.9, 0.7])


def test_hard_nms_keeps_an_overlap_below_the_iou_threshold() -> None:
    classes, indexes, scores = _lists(nms(PROBS, BOXES, iou_threshold=0.4))
    assert indexes == [0, 1, 2] and classes == [1, 1, 2]  # IoU 1/3 < 0.4; box 5 (IoU 9/11) still goes
    assert scores == pytest.approx([0.9, 0.8, 0.7])


def test_soft_nms_lowers_an_overlapping_score_instead_of_removing_the_box() -> None:
    classes, indexes, scores = _lists(nms(PROBS, BOXES, soft=True))
    # Box 1: 0.8 exp(-2 (1/3)^2) = 0.641 survives; box 5: 0.85 exp(-2 (9/11)^2) = 0.22 falls below 0.5.
    assert indexes == [0, 2, 1] and classes == [1, 2, 1]
    assert scores == pytest.approx([0.9, 0.7, 0.8 * math.exp(-2 / 9)], rel=1e-5)


def test_soft_nms_decays_scores_multiplicatively_over_several_kept_boxes() -> None:
    boxes = np.array([[0, 10, 0, 10], [20, 30, 0, 10], [5, 25, 0, 10]], np.float32)
    probs = np.array([[0, 0.9], [0, 0.85], [0, 0.8]], np.float32)   # box 2: IoU 1/5 with boxes 0 and 1
    _, indexes, scores = _lists(nms(probs, boxes, soft=True))
    assert indexes == [0, 1, 2]
    assert scores[2] == pytest.approx(0.8 * math.exp(-2 / 25) ** 2, rel=1e-5)


def test_the_class_threshold_can_stop_before_anything_is_kept() -> None:
    assert _lists(nms(PROBS, BOXES, class_threshold=0.75)) == ([1], [0], pytest.approx([0.9]))
    found = nms(PROBS, BOXES, class_threshold=0.95)
    assert found.indexes.shape == (0,) and found.scores.shape == (0,)


def test_max_detections_caps_the_kept_boxes() -> None:
    assert _lists(nms(PROBS, BOXES, soft=True, max_detections=2))[1] == [0, 2]


def test_a_batch_is_each_image_on_its_own_padded_to_the_longest() -> None:
    probs = np.stack([PROBS, PROBS[::-1], np.tile([[1.0, 0, 0, 0]], (6, 1))])
    boxes = np.stack([BOXES, BOXES[::-1], BOXES])
    found = tf.function(batched_nms)(probs, boxes, soft=True)
    assert found.indexes.shape == (3, 3)
    for b in range(2):
        classes, indexes, scores = _lists(nms(probs[b], boxes[b], soft=True))
        assert [classes, indexes] == [row[b] for row in _lists(found)[:2]]
        assert scores == pytest.approx(_lists(found)[2][b])
    assert _lists(found)[1][1] == [5 - 0, 5 - 2, 5 - 1]
    assert [row[2] for row in _lists(found)] == [[0, 0, 0], [-1, -1, -1], [0, 0, 0]]  # nothing found: padding


@pytest.mark.parametrize("normalize", [False, True])
def test_detect_decodes_the_offset_head_then_suppresses(normalize: bool) -> None:
    anchors = BOXES + np.array([-2, 3, 1, -1], np.float32)
    offsets = encode(BOXES, anchors, normalize).numpy()
    duplicated = np.concatenate([offsets, offsets], -1)[None]  # the book's 8-channel offset output
    found, boxes = detect(PROBS[None], duplicated, anchors, normalize)
    assert found.indexes.numpy().tolist() == [[0, 2]]
    np.testing.assert_allclose(boxes.numpy()[0], BOXES[[0, 2]], atol=1e-4)
