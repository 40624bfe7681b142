"""Detection metrics of the SSD family: the book's mIoU / precision / recall (spec 11.H, Listing
11.13.1 `evaluate_test`) and COCO-style average precision, in NumPy.

Per image, ground truth is `Truth(boxes (k, 4), classes (k,))` and predictions are
`Predictions(boxes (d, 4), classes (d,), scores (d,))`; plain tuples in that order do as well.
Boxes are in the book's minmax pixel order (xmin, xmax, ymin, ymax), not (x1, y1, x2, y2). Rows
whose class is below 1 are padding (the boxes pipeline pads ground truth with class -1, NMS pads
its detections with class 0) and are dropped, so padded batch rows can be passed as they are.

**The book's numbers** (`book_metrics`) are not VOC/COCO AP: each ground-truth box takes the
prediction it overlaps most, whatever its class and score, so one prediction may serve several
boxes. Any overlap (IoU > 0) counts as a hit: a true positive if the classes agree, else a false
positive. An image whose IoU matrix is empty (no ground truth or no prediction) is skipped but
still counts in the mean, i.e. scores 0. The repo's code computes FN = |n_gt - TP - FP| (boxes
nothing overlaps; the default, `fn_rule="repo"`), the book's text FN = |n_gt - TP|
(`fn_rule="book"`, which also counts wrong-class hits as missed). Where the repo divides 0 by 0
(an image whose predictions touch no box: TP + FP = 0; or, under the repo rule, every box hit
with the wrong class: TP + FN = 0) it raises ZeroDivisionError; here that precision or recall is 0.

**Average precision** follows pycocotools' COCOeval (bbox, area range "all", at most 100 detections
per image and class), so that the NumPy numbers can be checked against it to 1e-6:
per class, detections in descending score (stable sort) are matched greedily, each to the
still-unmatched ground-truth box of its class with the highest IoU >= the threshold (ties: the
last such box, as COCO), each box matched at most once; a duplicate is a false positive. A class
with no ground truth has no AP (NaN) and is left out of the means. The precision envelope is then
read at 101 recall points (`interpolation="coco"`) or integrated over every recall step (`"voc"`,
the all-point AP of VOC2010+; the matching stays COCO's, which differs from the VOC devkit only
at IoU exactly 0.5 and where a detection's best box is taken but another still overlaps enough).
One deliberate difference from pycocotools: an inverted box (xmin > xmax or ymin > ymax, which
un-normalised offsets can decode to) is empty here, so such a detection is a false positive,
while COCOeval gives it a negative area and ignores it when unmatched (and ignores such a
ground-truth box).

`detection_metrics` reports `map50` and `map` with the same 101-point interpolation, so both are
the pycocotools numbers (AP50 and AP), comparable with each other and with published COCO-style
results; `average_precision` defaults to "voc", the classic per-class AP50.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from adl_runner.kernel.errors import ConfigError, require_one_of

FN_RULES = ("repo", "book")
INTERPOLATIONS = ("voc", "coco")
BACKENDS = ("numpy", "pycocotools")
# The same expressions as pycocotools' Params, so that thresholds and recall points agree to the bit.
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
COCO_RECALL_POINTS = np.linspace(0.0, 1.0, int(np.round((1.0 - 0.0) / 0.01)) + 1)
MAX_DETECTIONS = 100
"""Detections kept per image and class, highest scores first (COCO's maxDets for AP)."""


class Truth(NamedTuple):
    """One image's ground truth."""

    boxes: np.ndarray
    """(k, 4) minmax pixels: xmin, xmax, ymin, ymax."""
    classes: np.ndarray
    """(k,) int class ids >= 1 (0 is the background)."""


class Predictions(NamedTuple):
    """One image's detections (after NMS)."""

    boxes: np.ndarray
    """(d, 4) minmax pixels."""
    classes: np.ndarray
    """(d,) int class ids >= 1."""
    scores: np.ndarray
    """(d,) confidence; only its order matters."""


def pairwise_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(n, m) IoU of minmax boxes (n, 4) and (m, 4); an inverted box is empty, an empty union gives 0."""
    a, b = np.asarray(boxes_a, np.float64)[:, None, :], np.asarray(boxes_b, np.float64)[None, :, :]
    width = np.maximum(np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 0], b[..., 0]), 0.0)
    height = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 2], b[..., 2]), 0.0)
    intersection = width * height
    union = _area(a) + _area(b) - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def book_metrics(gts: Sequence[Truth], dets: Sequence[Predictions], fn_rule: str = "repo") -> dict[str, float]:
    """The book's `miou`, `precision` and `recall`: per-image values averaged over all images (see
    the module docstring for the matching, the two FN rules and the 0/0 cases)."""
    require_one_of("fn_rule", fn_rule, FN_RULES)
    truths, preds = _images(gts, dets)
    sums = np.zeros(3)
    for truth, pred in zip(truths, preds):
        iou = pairwise_iou(truth.boxes, pred.boxes)
        if iou.size == 0:
            continue
        best = iou.argmax(axis=1)
        best_iou = iou[np.arange(len(best)), best]
        hit = best_iou > 0
        tp = int(np.sum(hit & (truth.classes == pred.classes[best])))
        fp = int(hit.sum()) - tp
        fn = abs(len(best) - tp - (fp if fn_rule == "repo" else 0))
        sums += (best_iou.sum() / len(best), _ratio(tp, tp + fp), _ratio(tp, tp + fn))
    miou, precision, recall = sums / len(truths)
    return {"miou": float(miou), "precision": float(precision), "recall": float(recall)}


def average_precision(gts: Sequence[Truth], dets: Sequence[Predictions], iou_threshold: float = 0.5,
                      n_classes: int | None = None, interpolation: str = "voc") -> dict[int, float]:
    """AP of each class at one IoU threshold: {class id: AP}, NaN for a class without ground truth.

    `n_classes` counts the background, as the SSD's `n_classes` (4 for drinks): classes 1..n_classes-1
    are reported and any other class id is refused. None: the classes in the ground truth.
    """
    require_one_of("interpolation", interpolation, INTERPOLATIONS)
    truths, preds = _images(gts, dets)
    classes = _classes(truths, preds, n_classes)
    table = _ap_table(truths, preds, classes, np.array([iou_threshold]), interpolation)
    return {c: float(ap) for c, ap in zip(classes, table[:, 0])}


def mean_ap(aps: Mapping[int, float]) -> float:
    """Mean of per-class APs over the classes with ground truth (NaN if none has any)."""
    return _nanmean(np.array(list(aps.values()), np.float64))


def coco_map(gts: Sequence[Truth], dets: Sequence[Predictions]) -> float:
    """COCO's AP (pycocotools' stats[0]): 101-point AP averaged over IoU 0.50:0.05:0.95 and the
    classes with ground truth."""
    truths, preds = _images(gts, dets)
    return _nanmean(_ap_table(truths, preds, _classes(truths, preds, None), COCO_IOU_THRESHOLDS, "coco"))


def detection_metrics(gts: Sequence[Truth], dets: Sequence[Predictions], fn_rule: str = "repo",
                      n_classes: int | None = None, backend: str = "numpy") -> dict[str, float]:
    """The book's `miou`, `precision`, `recall`, and COCO's `map50` (AP at IoU 0.5) and `map`
    (AP at 0.50:0.05:0.95), both 101-point, plus `ap50_<class id>` for each class with ground truth.

    `backend="numpy"` (the default) computes the APs here: results then do not depend on whether
    an optional package is installed, and nothing prints. `"pycocotools"` runs COCOeval on the same
    data (the tests check that both agree to 1e-6); it needs the `detection` extra.
    """
    require_one_of("backend", backend, BACKENDS)
    metrics = book_metrics(gts, dets, fn_rule)
    truths, preds = _images(gts, dets)
    classes = _classes(truths, preds, n_classes)
    if backend == "pycocotools":
        table = _pycocotools_table(truths, preds, classes)
    else:
        table = _ap_table(truths, preds, classes, COCO_IOU_THRESHOLDS, "coco")
    metrics.update(map50=_nanmean(table[:, 0]), map=_nanmean(table))
    metrics.update({f"ap50_{c}": float(ap) for c, ap in zip(classes, table[:, 0]) if not np.isnan(ap)})
    return metrics


def require_pycocotools() -> ModuleType:
    """pycocotools.cocoeval, or a one-line ConfigError saying how to install it."""
    try:
        from pycocotools import cocoeval
    except ImportError:
        raise ConfigError("the pycocotools detection backend needs pycocotools: pip install 'adl-runner[detection]'") from None
    return cocoeval


# -- average precision ------------------------------------------------------------------------------

def _ap_table(truths: list[Truth], preds: list[Predictions], classes: list[int], thresholds: np.ndarray,
              interpolation: str) -> np.ndarray:
    """(n_classes, n_thresholds) AP, NaN rows for classes without ground truth."""
    table = np.full((len(classes), len(thresholds)), np.nan)
    for k, cls in enumerate(classes):
        hits, n_gt = _class_hits(truths, preds, cls, thresholds)
        if n_gt:
            table[k] = [_interpolated_ap(h, n_gt, interpolation) for h in hits]
    return table


def _class_hits(truths: list[Truth], preds: list[Predictions], cls: int, thresholds: np.ndarray) -> tuple[np.ndarray, int]:
    """(n_thresholds, n_dets) whether each detection of `cls`, in descending score over all images,
    is a true positive at each threshold; and the number of ground-truth boxes of `cls`."""
    scores, hits, n_gt = [], [], 0
    for truth, pred in zip(truths, preds):
        gt_boxes = truth.boxes[truth.classes == cls]
        mine = pred.classes == cls
        order = np.argsort(-pred.scores[mine], kind="stable")[:MAX_DETECTIONS]
        scores.append(pred.scores[mine][order])
        hits.append(_greedy_hits(pairwise_iou(pred.boxes[mine][order], gt_boxes), thresholds))
        n_gt += len(gt_boxes)
    order = np.argsort(-np.concatenate(scores), kind="stable")
    return np.concatenate(hits, axis=1)[:, order], n_gt


def _greedy_hits(iou: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(n_thresholds, d): detections (rows of `iou`, best score first) matched to a free box."""
    hits = np.zeros((len(thresholds), iou.shape[0]), bool)
    for t, threshold in enumerate(thresholds):
        free = np.ones(iou.shape[1], bool)
        for d, row in enumerate(iou):
            candidates = np.flatnonzero(free & (row >= min(threshold, 1 - 1e-10)))  # COCO's cap for t = 1
            if candidates.size:
                box = candidates[np.flatnonzero(row[candidates] == row[candidates].max())[-1]]
                free[box], hits[t, d] = False, True
    return hits


def _interpolated_ap(hits: np.ndarray, n_gt: int, interpolation: str) -> float:
    """AP of a ranked list of hits against `n_gt` boxes: the area under the precision envelope."""
    if not hits.size:
        return 0.0
    tp = np.cumsum(hits)
    recall, precision = tp / n_gt, tp / np.arange(1, len(hits) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    if interpolation == "voc":
        return float(np.sum(np.diff(recall, prepend=0.0) * envelope))
    at = np.searchsorted(recall, COCO_RECALL_POINTS, side="left")
    return float(np.where(at < len(hits), envelope[np.minimum(at, len(hits) - 1)], 0.0).mean())


def _pycocotools_table(truths: list[Truth], preds: list[Predictions], classes: list[int]) -> np.ndarray:
    """`_ap_table(..., COCO_IOU_THRESHOLDS, "coco")` computed by COCOeval (bbox, area "all", 100 dets)."""
    cocoeval = require_pycocotools()
    from pycocotools.coco import COCO

    annotations = [{**_coco_box(box), "image_id": i + 1, "category_id": int(c), "iscrowd": 0}
                   for i, t in enumerate(truths) for box, c in zip(t.boxes, t.classes)]
    for n, annotation in enumerate(annotations, 1):
        annotation["id"] = n  # from 1: COCOeval's matches use id 0 for "unmatched"
    gt_dataset = {"images": [{"id": i + 1} for i in range(len(truths))], "categories": [{"id": c} for c in classes],
                  "annotations": annotations}
    results = [{**_coco_box(box), "image_id": i + 1, "category_id": int(c), "score": float(s)}
               for i, p in enumerate(preds) for box, c, s in zip(p.boxes, p.classes, p.scores)]
    if not results:  # COCO.loadRes cannot read an empty list; every AP is then 0 (or NaN without ground truth)
        return _ap_table(truths, preds, classes, COCO_IOU_THRESHOLDS, "coco")
    with contextlib.redirect_stdout(io.StringIO()):  # COCO prints its progress
        coco_gt = COCO()
        coco_gt.dataset = gt_dataset
        coco_gt.createIndex()
        evaluation = cocoeval.COCOeval(coco_gt, coco_gt.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][:, :, :, 0, -1]  # (T, R, K), area "all", maxDets 100
    table = precision.mean(axis=1).T
    table[(precision < 0).any(axis=1).T] = np.nan
    return table


def _coco_box(box: np.ndarray) -> dict[str, Any]:
    xmin, xmax, ymin, ymax = (float(v) for v in box)
    return {"bbox": [xmin, ymin, xmax - xmin, ymax - ymin], "area": (xmax - xmin) * (ymax - ymin)}


# -- inputs -----------------------------------------------------------------------------------------

def _images(gts: Sequence[Truth], dets: Sequence[Predictions]) -> tuple[list[Truth], list[Predictions]]:
    """Checked float64 / int64 copies of each image's arrays, padding rows (class < 1) dropped."""
    if len(gts) != len(dets):
        raise ValueError(f"detection metrics need one prediction set per image, got {len(dets)} for {len(gts)} images")
    if not len(gts):
        raise ValueError("detection metrics need at least one image")
    truths = [Truth(*_rows(i, "ground truth", *image)) for i, image in enumerate(gts)]
    preds = [Predictions(*_rows(i, "detections", *image)) for i, image in enumerate(dets)]
    return truths, preds


def _rows(index: int, what: str, boxes: Any, classes: Any, *scores: Any) -> list[np.ndarray]:
    boxes, classes = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(classes).astype(np.int64)
    columns = [np.asarray(s, np.float64) for s in scores]
    if any(c.shape != classes.shape for c in columns) or classes.shape != (len(boxes),):
        raise ValueError(f"image {index}: {what} need (k, 4) boxes and (k,) classes{' and scores' * bool(scores)}, "
                         f"got {np.shape(boxes)}, {classes.shape}{''.join(f', {c.shape}' for c in columns)}")
    keep = classes >= 1
    return [boxes[keep], classes[keep], *(c[keep] for c in columns)]


def _classes(truths: list[Truth], preds: list[Predictions], n_classes: int | None) -> list[int]:
    """The reported classes: 1..n_classes-1, or those in the ground truth."""
    if n_classes is None:
        return sorted({int(c) for t in truths for c in t.classes})
    seen = {int(c) for classes in [*(t.classes for t in truths), *(p.classes for p in preds)] for c in classes}
    if seen - set(range(1, n_classes)):
        raise ValueError(f"class ids {sorted(seen - set(range(1, n_classes)))} are outside 1..{n_classes - 1} (n_classes={n_classes})")
    return list(range(1, n_classes))


def _area(boxes: np.ndarray) -> np.ndarray:
    return np.maximum(boxes[..., 1] - boxes[..., 0], 0.0) * np.maximum(boxes[..., 3] - boxes[..., 2], 0.0)


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")
