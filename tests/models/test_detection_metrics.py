"""Detection metrics (spec 11.H): the book's mIoU / precision / recall on hand-worked images, and
average precision on hand-computed PR curves and against pycocotools."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from adl_runner.kernel.errors import ConfigError
from adl_runner.models.metrics.detection import (
    Predictions,
    Truth,
    average_precision,
    book_metrics,
    coco_map,
    detection_metrics,
    mean_ap,
    pairwise_iou,
)

BOX = [0.0, 10.0, 0.0, 10.0]  # minmax: xmin, xmax, ymin, ymax


def truth(boxes: list[list[float]], classes: list[int]) -> Truth:
    return Truth(np.array(boxes, float).reshape(-1, 4), np.array(classes, int))


def preds(boxes: list[list[float]], classes: list[int], scores: list[float] | None = None) -> Predictions:
    scores = scores if scores is not None else [0.9] * len(classes)
    return Predictions(np.array(boxes, float).reshape(-1, 4), np.array(classes, int), np.array(scores, float))


# -- the book's numbers --------------------------------------------------------------------------

def test_pairwise_iou_uses_the_minmax_column_order() -> None:
    iou = pairwise_iou(np.array([BOX]), np.array([[0, 10, 0, 5], [0, 5, 0, 10], [20, 30, 0, 10], [10, 0, 0, 10]]))
    assert iou.tolist() == [[0.5, 0.5, 0.0, 0.0]]  # the last box is inverted: empty


def test_a_perfect_image_scores_one_everywhere() -> None:
    assert book_metrics([truth([BOX], [1])], [preds([BOX], [1])]) == {"miou": 1.0, "precision": 1.0, "recall": 1.0}


def test_a_wrong_class_keeps_the_iou_but_is_a_false_positive() -> None:
    for rule in ("repo", "book"):  # repo: FN = |1 - 0 - 1| = 0, recall 0/0 -> 0; book: FN = 1, recall 0/1
        assert book_metrics([truth([BOX], [1])], [preds([BOX], [2])], rule) == {"miou": 1.0, "precision": 0.0, "recall": 0.0}


def test_an_image_without_detections_is_skipped_but_counted() -> None:
    gts = [truth([BOX], [1]), truth([BOX], [1]), truth([], [])]
    dets = [preds([BOX], [1]), preds([], []), preds([BOX], [1])]  # no detections; no ground truth
    assert book_metrics(gts, dets) == pytest.approx({"miou": 1 / 3, "precision": 1 / 3, "recall": 1 / 3})


def test_the_two_fn_rules_differ_on_wrong_class_hits() -> None:
    # Three boxes: found (IoU 1, right class), touched by a wrong-class box (IoU 0.5), missed (no overlap).
    gts = [truth([BOX, [20, 30, 0, 10], [50, 60, 50, 60]], [1, 2, 1])]
    dets = [preds([BOX, [20, 30, 0, 5]], [1, 1])]  # TP 1, FP 1
    repo, book = book_metrics(gts, dets, "repo"), book_metrics(gts, dets, "book")
    assert repo["miou"] == book["miou"] == pytest.approx(1.5 / 3)
    assert repo["precision"] == book["precision"] == 0.5
    assert repo["recall"] == 0.5  # FN = |3 - 1 - 1| = 1
    assert book["recall"] == pytest.approx(1 / 3)  # FN = |3 - 1| = 2


def test_one_prediction_may_serve_several_boxes_and_no_overlap_gives_zero_not_a_crash() -> None:
    two_halves = [truth([[0, 10, 0, 10], [10, 20, 0, 10]], [1, 1])]
    assert book_metrics(two_halves, [preds([[0, 20, 0, 10]], [1])]) == {"miou": 0.5, "precision": 1.0, "recall": 1.0}
    # The repo divides 0 by 0 here (TP + FP = 0).
    assert book_metrics([truth([BOX], [1])], [preds([[50, 60, 50, 60]], [1])]) == {"miou": 0.0, "precision": 0.0, "recall": 0.0}


def test_padding_rows_are_dropped() -> None:
    gts = [truth([BOX, [0, 0, 0, 0]], [1, -1])]  # the boxes pipeline pads with class -1
    dets = [preds([BOX, [0, 0, 0, 0]], [1, 0], [0.9, 0.0])]  # NMS pads with class 0
    assert detection_metrics(gts, dets) == detection_metrics([truth([BOX], [1])], [preds([BOX], [1])])


def test_bad_arguments_are_refused_in_one_line() -> None:
    gts, dets = [truth([BOX], [1])], [preds([BOX], [1])]
    with pytest.raises(ConfigError, match="fn_rule must be repo or book, got 'text'"):
        book_metrics(gts, dets, "text")
    with pytest.raises(ConfigError, match="interpolation must be voc or coco"):
        average_precision(gts, dets, interpolation="11point")
    with pytest.raises(ConfigError, match="backend must be numpy or pycocotools"):
        detection_metrics(gts, dets, backend="torch")
    with pytest.raises(ValueError, match="one prediction set per image, got 2 for 1"):
        book_metrics(gts, dets * 2)
    with pytest.raises(ValueError, match=r"image 0: detections need \(k, 4\) boxes and \(k,\) classes and scores"):
        book_metrics(gts, [Predictions(np.array([BOX]), np.array([1]), np.array([0.5, 0.4]))])
    with pytest.raises(ValueError, match=r"class ids \[3\] are outside 1..2"):
        average_precision(gts, [preds([BOX], [3])], n_classes=3)


# -- average precision ---------------------------------------------------------------------------

def test_perfect_detections_have_ap_one() -> None:
    rng = np.random.default_rng(0)
    gts = [truth([BOX, [20, 40, 5, 30]], [1, 2]), truth([[3, 9, 1, 4]], [2])]
    dets = [preds(g.boxes.tolist(), g.classes.tolist(), rng.random(len(g.classes)).tolist()) for g in gts]
    for interpolation in ("voc", "coco"):
        assert average_precision(gts, dets, interpolation=interpolation) == {1: 1.0, 2: 1.0}
    assert coco_map(gts, dets) == 1.0
    metrics = detection_metrics(gts, dets)
    assert (metrics["map50"], metrics["map"], metrics["ap50_1"], metrics["ap50_2"]) == (1.0, 1.0, 1.0, 1.0)


# Three class-1 boxes in two images; ranked detections: hit, duplicate, hit (IoU 9/11), miss. Box [0, 10, 20, 30] is never found.
PR_GTS = [truth([BOX, [20, 30, 0, 10]], [1, 1]), truth([[0, 10, 20, 30]], [1])]
PR_DETS = [preds([BOX, BOX, [21, 31, 0, 10]], [1, 1, 1], [0.9, 0.8, 0.7]), preds([[50, 60, 50, 60]], [1], [0.6])]


def test_a_hand_computed_pr_curve() -> None:
    # recall 1/3, 1/3, 2/3, 2/3; precision 1, 1/2, 2/3, 1/2; envelope 1, 2/3, 2/3, 1/2.
    assert average_precision(PR_GTS, PR_DETS)[1] == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3)
    # 101 points: recall 0.00..0.33 read 1 (34 points), 0.34..0.66 read 2/3 (33), 0.67..1 read 0.
    assert average_precision(PR_GTS, PR_DETS, interpolation="coco")[1] == pytest.approx((34 + 33 * 2 / 3) / 101)
    # At IoU 0.85 the third detection (IoU 0.818) misses too: only recall 1/3 at precision 1.
    assert average_precision(PR_GTS, PR_DETS, iou_threshold=0.85)[1] == pytest.approx(1 / 3)
    assert average_precision(PR_GTS, PR_DETS, iou_threshold=0.85, interpolation="coco")[1] == pytest.approx(34 / 101)


def test_duplicates_count_as_false_positives() -> None:
    gts = [truth([BOX], [1]), truth([BOX], [1])]
    dets = [preds([BOX, BOX], [1, 1], [0.9, 0.8]), preds([BOX], [1], [0.7])]
    # hit, duplicate, hit: recall 1/2, 1/2, 1; precision 1, 1/2, 2/3 (ignoring the duplicate would give 1).
    assert average_precision(gts, dets)[1] == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_ap_is_class_wise_and_classes_without_ground_truth_are_left_out() -> None:
    gts = [truth([BOX], [1])]
    dets = [preds([BOX, [1, 11, 0, 10]], [2, 1], [0.9, 0.5])]  # the better-scored box has the wrong class
    aps = average_precision(gts, dets, n_classes=4)
    assert aps[1] == 1.0 and np.isnan(aps[2]) and np.isnan(aps[3])
    assert mean_ap(aps) == 1.0
    assert list(average_precision(gts, dets)) == [1]  # n_classes=None: the ground truth's classes
    metrics = detection_metrics(gts, dets, n_classes=4)
    assert metrics["map50"] == 1.0 and "ap50_2" not in metrics


def test_an_inverted_detection_is_a_false_positive() -> None:
    gts = [truth([BOX], [1])]
    dets = [preds([[10, 0, 0, 10], BOX], [1, 1], [0.9, 0.8])]
    assert average_precision(gts, dets)[1] == 0.5


def test_no_detections_give_zero_ap() -> None:
    gts = [truth([BOX], [1])]
    assert average_precision(gts, [preds([], [])]) == {1: 0.0}
    assert coco_map(gts, [preds([], [])]) == 0.0


def test_the_pycocotools_backend_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pycocotools", None)  # import fails as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'adl-runner\[detection\]'"):
        detection_metrics([truth([BOX], [1])], [preds([BOX], [1])], backend="pycocotools")


# -- against pycocotools -------------------------------------------------------------------------

def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    corner, size = rng.uniform(0, 200, (n, 2)), rng.uniform(8, 60, (n, 2))
    return np.stack([corner[:, 0], corner[:, 0] + size[:, 0], corner[:, 1], corner[:, 1] + size[:, 1]], axis=1)


def _synthetic_set(seed: int, n_images: int = 20, n_classes: int = 4) -> tuple[list[Truth], list[Predictions]]:
    """Ground truth with jittered, sometimes relabelled, dropped or duplicated detections and false positives."""
    rng = np.random.default_rng(seed)
    gts, dets = [], []
    for i in range(n_images):
        boxes = _random_boxes(rng, int(rng.integers(0, 5)))
        classes = rng.integers(1, n_classes, len(boxes))
        found = np.flatnonzero(rng.random(len(boxes)) < 0.8)
        found = np.concatenate([found, found[rng.random(len(found)) < 0.2]])  # duplicates
        size = np.repeat(boxes[found, 1::2] - boxes[found, ::2], 2, axis=1)  # width, width, height, height
        jittered = boxes[found] + rng.normal(0, 1, (len(found), 4)) * size * rng.uniform(0, 0.15, (len(found), 1))
        jittered = np.concatenate([np.sort(jittered[:, :2], axis=1), np.sort(jittered[:, 2:], axis=1)], axis=1)
        labels = np.where(rng.random(len(found)) < 0.85, classes[found], rng.integers(1, n_classes, len(found)))
        n_false = 105 if i == 3 else int(rng.integers(0, 3))  # image 3: over COCO's 100 detections per class
        false_classes = np.ones(n_false, int) if i == 3 else rng.integers(1, n_classes, n_false)
        gts.append(Truth(boxes, classes))
        scores = np.concatenate([rng.random(len(found)), rng.uniform(0.5 if i == 3 else 0.0, 1.0, n_false)])
        dets.append(Predictions(np.concatenate([jittered, _random_boxes(rng, n_false)]), np.concatenate([labels, false_classes]), scores))
    dets[5] = Predictions(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))
    return gts, dets


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_ap_matches_pycocotools(seed: int) -> None:
    pytest.importorskip("pycocotools")
    gts, dets = _synthetic_set(seed)
    ours, coco = detection_metrics(gts, dets), detection_metrics(gts, dets, backend="pycocotools")
    assert ours.keys() == coco.keys()
    for key in ours:
        assert ours[key] == pytest.approx(coco[key], abs=1e-6), key
    assert 0.1 < coco["map"] < coco["map50"] < 0.95  # neither trivial nor perfect
    assert coco_map(gts, dets) == pytest.approx(coco["map"], abs=1e-6)
    assert mean_ap(average_precision(gts, dets, interpolation="coco")) == pytest.approx(coco["map50"], abs=1e-6)
