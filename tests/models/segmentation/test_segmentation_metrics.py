"""Segmentation metrics on small masks worked by hand, and the Keras metrics equal to the NumPy ones."""

from __future__ import annotations

import numpy as np
import pytest

from adl_runner.models.metrics.segmentation import (
    confusion,
    dice,
    image_ious,
    image_overlaps,
    iou,
    mean_iou,
    miou,
    pixel_accuracy,
)
from adl_runner.models.segmentation.model import ImageMeanIoU, PixelAccuracy, output_ids, target_ids

# Two 2x3 images, classes 0..2. Image 0 has classes 0 and 1 in its truth; image 1 has 0 and 2.
TRUE = np.array([[[0, 0, 1], [0, 1, 1]],
                 [[2, 2, 0], [0, 0, 0]]])
PRED = np.array([[[0, 1, 1], [0, 1, 2]],
                 [[2, 0, 0], [0, 0, 1]]])


def test_the_confusion_matrix_counts_true_rows_against_predicted_columns() -> None:
    assert confusion(TRUE, PRED, 3).tolist() == [[5, 2, 0],   # true 0: 5 right, 2 taken for class 1
                                                 [0, 2, 1],   # true 1: 2 right, 1 taken for class 2
                                                 [1, 0, 1]]   # true 2: 1 taken for 0, 1 right


def test_mean_iou_is_the_mean_of_per_class_tp_over_tp_fp_fn() -> None:
    # class 0: 5 / (5 + 1 + 2); class 1: 2 / (2 + 2 + 1); class 2: 1 / (1 + 1 + 1)
    assert mean_iou(confusion(TRUE, PRED, 3)) == pytest.approx((5 / 8 + 2 / 5 + 1 / 3) / 3)
    # a class nobody has or predicts is left out, not counted as 0
    assert mean_iou(confusion(TRUE, PRED, 4)) == pytest.approx((5 / 8 + 2 / 5 + 1 / 3) / 3)


def test_the_books_miou_averages_the_classes_present_in_each_images_truth() -> None:
    # image 0: class 0 {(0,0),(0,1),(1,0)} vs pred {(0,0),(1,0)}: 2/3; class 1 {(0,2),(1,1),(1,2)} vs
    # {(0,1),(0,2),(1,1)}: 2/4; class 2 is absent from the truth: not counted although predicted.
    # image 1: class 0 4 pixels vs pred 4 with 3 shared: 3/5; class 2 {(0,0),(0,1)} vs {(0,0)}: 1/2.
    expected = [(2 / 3 + 2 / 4) / 2, (3 / 5 + 1 / 2) / 2]
    np.testing.assert_allclose(image_ious(TRUE, PRED, 3), expected)
    assert miou(TRUE, PRED, 3) == pytest.approx(np.mean(expected))
    assert miou(TRUE[0], TRUE[0], 3) == 1.0


def test_pixel_accuracy_is_the_mean_of_each_images_share_of_right_pixels() -> None:
    assert pixel_accuracy(TRUE, PRED) == pytest.approx((4 / 6 + 4 / 6) / 2)
    assert pixel_accuracy(TRUE[:1], PRED[:1]) == pytest.approx(4 / 6)


def test_dice_and_iou_of_binary_masks_per_image_with_empty_pairs_scoring_one() -> None:
    truth = np.array([[[1, 1, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 0]]])
    guess = np.array([[[1, 0, 0], [1, 0, 0]], [[0, 0, 0], [0, 0, 0]]])
    dices, ious = image_overlaps(truth, guess)
    np.testing.assert_allclose(dices, [2 * 1 / 4, 1.0])
    np.testing.assert_allclose(ious, [1 / 3, 1.0])
    assert dice(truth, guess) == pytest.approx(0.75) and iou(truth, guess) == pytest.approx(2 / 3)


def test_masks_of_different_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="of one shape"):
        miou(TRUE, PRED[:1], 3)


def test_the_keras_metrics_equal_the_numpy_ones_over_several_batches() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, (10, 8, 12))
    guess = np.where(rng.random(truth.shape) < 0.7, truth, rng.integers(0, 4, truth.shape))
    truth[3] = 0  # an image with the background only
    image_miou, accuracy = ImageMeanIoU(4), PixelAccuracy()
    for start in (0, 4, 8):  # uneven batches: per-image values, not per-batch means
        for metric in (image_miou, accuracy):
            metric.update_state(truth[start:start + 4], guess[start:start + 4])
    assert float(image_miou.result()) == pytest.approx(miou(truth, guess, 4), rel=1e-6)
    assert float(accuracy.result()) == pytest.approx(pixel_accuracy(truth, guess), rel=1e-6)
    image_miou.reset_state()
    assert float(image_miou.result()) == 0.0


def test_ids_come_from_the_argmax_or_a_threshold_and_targets_from_one_hot_or_ids() -> None:
    scores = np.array([[[[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]]], np.float32)
    assert np.asarray(output_ids(scores)).tolist() == [[[1, 0]]]
    logits = np.array([[[[0.3], [0.6]]]], np.float32)
    assert np.asarray(output_ids(logits)).tolist() == [[[0, 1]]]
    assert np.asarray(output_ids(logits, threshold=0.0)).tolist() == [[[1, 1]]]
    ids = np.array([[[2, 0]]])
    assert np.asarray(target_ids(np.eye(3, dtype=np.float32)[ids])).tolist() == ids.tolist()
    assert np.asarray(target_ids(ids)).tolist() == np.asarray(target_ids(ids[..., None])).tolist() == ids.tolist()
