"""SSD ground-truth assignment (spec 11.C): IoU, Table 11.3.1's extra anchors, one positive per layer,
padding rows, and the offset encoding and its inverse."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from adl_runner.models.detection.anchors import all_anchors
from adl_runner.models.detection.assign import assign, decode, encode, iou

IMAGE = (480, 640)
FEATURES = [(30, 40), (15, 20), (8, 10), (4, 5)]
SODA = 2

# Figure 11.3.1 / Table 11.3.1 rebuilt: anchors A0..A5 against the object B0 = a 10x10 box.
B0 = [0.0, 10.0, 0.0, 10.0]
TABLE_ANCHORS = np.array([
    [20, 30, 0, 10],   # A0: disjoint
    [0, 8, 0, 4],      # A1: inside B0, area 32 -> IoU 0.32
    [20, 30, 20, 30],  # A2
    [-20, -10, 0, 10], # A3
    [0, 10, 0, 3],     # A4: inside B0, area 30 -> IoU 0.30
    [0, 10, 40, 50],   # A5
], np.float32)


@pytest.fixture(scope="module")
def anchors() -> tuple[np.ndarray, np.ndarray]:
    return all_anchors(IMAGE, FEATURES)


def _positives(mask: tf.Tensor) -> list[int]:
    return np.flatnonzero(mask.numpy()[0, :, 0]).tolist()


def test_iou_of_hand_worked_pairs() -> None:
    a = np.array([[0, 2, 0, 2], [0, 2, 0, 2], [5, 5, 5, 5]], np.float32)
    b = np.array([[1, 3, 1, 3], [0, 2, 0, 2], [10, 20, 0, 10], [5, 5, 5, 5]], np.float32)
    expected = [[1 / 7, 1, 0, 0], [1 / 7, 1, 0, 0], [0, 0, 0, 0]]  # zero-area pairs: 0, not NaN
    np.testing.assert_allclose(iou(a, b).numpy(), expected, rtol=1e-6)
    batched = iou(np.stack([a, a[::-1]]), b)
    assert batched.shape == (2, 3, 4)
    np.testing.assert_allclose(batched.numpy()[1], np.array(expected)[::-1], rtol=1e-6)


def test_table_11_3_1_ious() -> None:
    np.testing.assert_allclose(iou([B0], TABLE_ANCHORS).numpy()[0], [0, 0.32, 0, 0, 0.30, 0], atol=1e-6)


@pytest.mark.parametrize(("threshold", "positives"), [(0.5, [1]), (0.25, [1, 4]), (1.0, [1])])
def test_table_11_3_1_extra_anchors(threshold: float, positives: list[int]) -> None:
    gt_class, gt_offset, gt_mask = assign(TABLE_ANCHORS, np.zeros(6), [[B0]], [[SODA]], 4, threshold)
    assert _positives(gt_mask) == positives
    assert gt_class.numpy()[0].argmax(-1).tolist() == [SODA if i in positives else 0 for i in range(6)]
    np.testing.assert_allclose(gt_offset.numpy()[0, positives], np.array(B0) - TABLE_ANCHORS[positives])
    assert not gt_offset.numpy()[0, [i for i in range(6) if i not in positives]].any()


def test_each_object_gets_one_positive_per_layer_at_that_layers_best_anchor(anchors) -> None:
    boxes, layer = anchors
    gt = np.array([[[310, 445, 104, 443], [156, 392, 178, 266]]], np.float32)  # the spec's CSV rows
    _, _, gt_mask = assign(boxes, layer, gt, [[1, SODA]], 4, threshold=1.0)
    positives = _positives(gt_mask)
    assert len(positives) == 8 and np.bincount(layer[positives]).tolist() == [2, 2, 2, 2]
    overlap = iou(gt[0], boxes).numpy()
    best = {int(np.flatnonzero(layer == l)[overlap[m, layer == l].argmax()]) for m in range(2) for l in range(4)}
    assert set(positives) == best


def test_padding_rows_never_produce_positives(anchors) -> None:
    boxes, layer = anchors
    box = [100, 300, 100, 250]
    alone = assign(boxes, layer, [[box, [0, 0, 0, 0]]], [[1, -1]], 4, 0.5)
    padded_copy = assign(boxes, layer, [[box, box], [box, [0, 0, 0, 0]]], [[1, -1], [-1, -1]], 4, 0.5)
    for got, expected in zip(padded_copy, alone):
        np.testing.assert_array_equal(got.numpy()[0], expected.numpy()[0])
    gt_class, gt_offset, gt_mask = (t.numpy()[1] for t in padded_copy)  # an image with no boxes at all
    assert (gt_class[:, 0] == 1).all() and not gt_offset.any() and not gt_mask.any()


def test_an_anchor_claimed_by_two_boxes_takes_the_one_of_higher_iou() -> None:
    exact, around = TABLE_ANCHORS[1], [0, 8, 0, 8]  # IoU 1 and 0.5 with A1: the best of both
    gt_class, gt_offset, gt_mask = assign(TABLE_ANCHORS, np.zeros(6), [[around, exact]], [[3, 1]], 4, threshold=0.7)
    assert _positives(gt_mask) == [1]
    assert gt_class.numpy()[0, 1].argmax() == 1 and not gt_offset.numpy()[0, 1].any()


def _reference(anchors, layer, boxes, classes, threshold):
    """Loop version of the rule: per layer and box its best anchor, plus IoU > threshold; highest IoU wins."""
    overlap = iou(boxes, anchors).numpy()
    label, owner = np.zeros(len(anchors), int), np.full(len(anchors), -1)
    best_iou = np.full(len(anchors), -1.0)
    for m in np.flatnonzero(classes >= 0):
        claimed = set(np.flatnonzero(overlap[m] > threshold))
        for l in np.unique(layer):
            idx = np.flatnonzero(layer == l)
            if overlap[m, idx].max() > 0:
                claimed.add(idx[overlap[m, idx].argmax()])
        for a in claimed:
            if overlap[m, a] > best_iou[a]:
                best_iou[a], owner[a], label[a] = overlap[m, a], m, classes[m]
    return label, owner


def test_batched_assignment_matches_a_loop_over_images_layers_and_boxes(anchors) -> None:
    boxes, layer = anchors
    rng = np.random.default_rng(0)
    corner = rng.uniform([0, 0], [560, 400], (3, 5, 2))
    size = rng.uniform([20, 20], [400, 300], (3, 5, 2))
    gt = np.stack([corner[..., 0], np.minimum(corner[..., 0] + size[..., 0], 640),
                   corner[..., 1], np.minimum(corner[..., 1] + size[..., 1], 480)], -1).astype(np.float32)
    classes = np.array([[1, 2, 3, -1, -1], [3, 3, -1, -1, -1], [2, 1, 1, 2, 3]])
    gt_class, gt_offset, gt_mask = tf.function(assign)(boxes, layer, gt, classes, 4, 0.5, True)
    for b in range(3):
        label, owner = _reference(boxes, layer, gt[b], classes[b], 0.5)
        assert gt_class.numpy()[b].argmax(-1).tolist() == label.tolist()
        assert (gt_mask.numpy()[b, :, 0] == (owner >= 0)).all()
        positive = owner >= 0
        np.testing.assert_allclose(gt_offset.numpy()[b, positive],
                                   encode(gt[b, owner[positive]], boxes[positive], True).numpy(), rtol=1e-5)


def test_normalised_offsets_are_centroid_x_y_then_log_w_h() -> None:
    anchor = np.array([100, 200, 50, 100], np.float32)  # w 100, h 50, centre (150, 75)
    shifted = anchor + [10, 10, 0, 0]                  # centre x + 0.1 w_a
    wider = np.array([50, 250, 50, 100], np.float32)   # twice as wide, same centre
    np.testing.assert_allclose(encode(shifted, anchor, True).numpy(), [1, 0, 0, 0], atol=1e-5)
    np.testing.assert_allclose(encode(wider, anchor, True).numpy(), [0, 0, np.log(2) / 0.2, 0], atol=1e-5)
    np.testing.assert_allclose(encode(wider, anchor, False).numpy(), [-50, 50, 0, 0])


@pytest.mark.parametrize("normalize", [False, True])
def test_decode_inverts_encode(anchors, normalize: bool) -> None:
    boxes = anchors[0][::97]
    targets = boxes + np.random.default_rng(1).uniform(-20, 20, boxes.shape).astype(np.float32)
    targets[:, 1] = np.maximum(targets[:, 1], targets[:, 0] + 5)
    targets[:, 3] = np.maximum(targets[:, 3], targets[:, 2] + 5)
    offsets = encode(targets, boxes, normalize)
    np.testing.assert_allclose(decode(offsets, boxes, normalize).numpy(), targets, atol=1e-3)


def test_a_tie_within_a_layer_goes_to_its_first_anchor_and_a_layer_without_overlap_gives_none() -> None:
    twins = np.array([[30, 40, 0, 10], [0, 8, 0, 4], [0, 8, 0, 4], [0, 10, 0, 3], [0, 8, 0, 4], [50, 60, 50, 60]],
                     np.float32)
    layer = np.array([0, 0, 0, 1, 1, 2])  # layer 0: anchors 1 and 2 tie; layer 1: 4 beats 3; layer 2: no overlap
    _, _, gt_mask = assign(twins, layer, [[B0]], [[SODA]], 4, threshold=1.0)
    assert _positives(gt_mask) == [1, 4]


def test_assignment_compiled_by_xla_as_the_train_step_is_gives_the_same_raw_targets(anchors) -> None:
    boxes, layer = anchors
    rng = np.random.default_rng(1)
    corner = rng.uniform([0, 0], [560, 400], (4, 3, 2))
    gt = np.concatenate([corner[..., :1], corner[..., :1] + 80, corner[..., 1:], corner[..., 1:] + 60], -1)
    classes = np.array([[1, 2, -1], [3, -1, -1], [2, 1, 1], [1, 1, 3]])
    run = lambda: assign(boxes, layer, gt.astype(np.float32), classes, 4, 0.6)  # noqa: E731
    for plain, compiled in zip(tf.function(run)(), tf.function(run, jit_compile=True)()):
        np.testing.assert_array_equal(plain.numpy(), compiled.numpy())
