"""Segmentation metrics on class-id masks (book ch. 12, Pattanayak ch. 6), vectorised NumPy.

Two kinds of mean IoU are reported, because the book's is not the usual one:
- the book's `miou` (`fcn-12.3.1.py` `eval`): per test image, the IoU of every class present in its
  ground truth (background included), averaged; then the mean over images. A class the model
  predicts but the image lacks costs nothing beyond the union of the present classes;
- the standard `mean_iou`: one confusion matrix over every pixel of the split, IoU per class
  TP / (TP + FP + FN), averaged over the classes that occur in the ground truth or the prediction.
`pixel_accuracy` is the book's average pixel accuracy: per image the share of pixels whose class is
right, then the mean over images (a fraction; the book prints it x 100). `dice` and `iou` score a
binary foreground per image, averaged over images; an image where both masks are empty scores 1
(Kaggle Carvana's convention, Pattanayak's data set).
"""

from __future__ import annotations

import numpy as np

from adl_runner.models.metrics.matching import confusion_counts


def confusion(true_ids: np.ndarray, pred_ids: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 pixel counts C[true class, predicted class] of two class-id masks of one shape."""
    true_ids, pred_ids = np.asarray(true_ids), np.asarray(pred_ids)
    if true_ids.shape != pred_ids.shape:
        raise ValueError(f"confusion: masks of shapes {true_ids.shape} and {pred_ids.shape} differ")
    return confusion_counts(true_ids.ravel(), pred_ids.ravel(), num_classes).T


def mean_iou(counts: np.ndarray) -> float:
    """The standard mean IoU of a confusion matrix: per class TP / (TP + FP + FN), averaged over the
    classes with a non-empty union (ground truth or prediction)."""
    counts = np.asarray(counts, dtype=np.float64)
    tp = np.diag(counts)
    union = counts.sum(axis=0) + counts.sum(axis=1) - tp
    seen = union > 0
    return float((tp[seen] / union[seen]).mean()) if seen.any() else float("nan")


def image_ious(true_ids: np.ndarray, pred_ids: np.ndarray, num_classes: int) -> np.ndarray:
    """(N,) the book's IoU of each image of (N, H, W) masks: the mean over the classes present in its
    ground truth of |pred ∩ gt| / |pred ∪ gt|."""
    true_hot, pred_hot = (_onehot(ids, num_classes) for ids in _as_batches(true_ids, pred_ids))
    intersection = (true_hot & pred_hot).sum(axis=1)
    union = (true_hot | pred_hot).sum(axis=1)
    present = true_hot.any(axis=1)
    ious = np.where(present, intersection / np.maximum(union, 1), 0.0)
    return ious.sum(axis=1) / present.sum(axis=1)


def miou(true_ids: np.ndarray, pred_ids: np.ndarray, num_classes: int) -> float:
    """The book's mIoU: `image_ious` averaged over the images."""
    return float(image_ious(true_ids, pred_ids, num_classes).mean())


def image_accuracies(true_ids: np.ndarray, pred_ids: np.ndarray) -> np.ndarray:
    """(N,) share of each image's pixels whose predicted class is its true class."""
    true_ids, pred_ids = _as_batches(true_ids, pred_ids)
    return (true_ids == pred_ids).reshape(len(true_ids), -1).mean(axis=1)


def pixel_accuracy(true_ids: np.ndarray, pred_ids: np.ndarray) -> float:
    """The book's average pixel accuracy (a fraction): `image_accuracies` averaged over the images."""
    return float(image_accuracies(true_ids, pred_ids).mean())


def image_overlaps(true_mask: np.ndarray, pred_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) Dice 2|A∩B| / (|A| + |B|) and (N,) IoU |A∩B| / |A∪B| of binary (N, H, W) masks (nonzero:
    foreground); 1 where both masks are empty."""
    true_mask, pred_mask = (m.reshape(len(m), -1) != 0 for m in _as_batches(true_mask, pred_mask))
    intersection = (true_mask & pred_mask).sum(axis=1)
    sizes = true_mask.sum(axis=1) + pred_mask.sum(axis=1)
    union = sizes - intersection
    empty = sizes == 0
    dice_values = np.where(empty, 1.0, 2 * intersection / np.maximum(sizes, 1))
    iou_values = np.where(empty, 1.0, intersection / np.maximum(union, 1))
    return dice_values, iou_values


def dice(true_mask: np.ndarray, pred_mask: np.ndarray) -> float:
    """Mean over images of the Dice coefficient of binary masks (`image_overlaps`)."""
    return float(image_overlaps(true_mask, pred_mask)[0].mean())


def iou(true_mask: np.ndarray, pred_mask: np.ndarray) -> float:
    """Mean over images of the IoU (Jaccard index) of binary masks (`image_overlaps`)."""
    return float(image_overlaps(true_mask, pred_mask)[1].mean())


def _as_batches(true_ids: np.ndarray, pred_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both masks as (N, H, W) arrays of one shape (a single (H, W) mask is a batch of one)."""
    true_ids, pred_ids = np.asarray(true_ids), np.asarray(pred_ids)
    if true_ids.shape != pred_ids.shape or true_ids.ndim not in (2, 3):
        raise ValueError(f"segmentation metrics need masks (N, H, W) or (H, W) of one shape, got {true_ids.shape} "
                         f"and {pred_ids.shape}")
    return (true_ids[None], pred_ids[None]) if true_ids.ndim == 2 else (true_ids, pred_ids)


def _onehot(ids: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, H*W, K) bool one-hot of (N, H, W) class ids."""
    flat = ids.reshape(len(ids), -1)
    return flat[..., None] == np.arange(num_classes)
