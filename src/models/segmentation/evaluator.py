"""The `segmentation` evaluator: a mask model's numbers on the test split, for every segmentation
family (FCN, U-Net, encoder-decoder) and task=evaluate."""

from __future__ import annotations

from typing import Any

import numpy as np

from adl_runner.kernel.evaluators import EVALUATORS
from adl_runner.kernel.hooks import DataView, QualityContext
from adl_runner.kernel.specs import EvaluatorSpec
from adl_runner.models.metrics.segmentation import confusion, image_accuracies, image_ious, image_overlaps, mean_iou
from adl_runner.models.segmentation.model import centre_of, predicted_ids, target_ids


@EVALUATORS.register("segmentation", EvaluatorSpec(
    "the book's per-image mIoU and pixel accuracy, the confusion-matrix mean IoU, and Dice and IoU of two-class masks, on the test split"))
def segmentation_evaluator(model: Any, data: DataView, context: QualityContext) -> dict[str, float]:
    """`miou`, `pixel_accuracy`, `mean_iou`; `dice` and `iou` of the foreground where there are two
    classes. Outputs become ids through the model's `mask_ids` hook (`model.predicted_ids`)."""
    num_classes = data.num_classes
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    per_image: dict[str, list[np.ndarray]] = {"miou": [], "pixel_accuracy": [], "dice": [], "iou": []}
    for images, targets in data.batches("test").as_numpy_iterator():
        pred = predicted_ids(model, model.predict_on_batch(images))
        true = np.asarray(centre_of(target_ids(targets), pred))
        counts += confusion(true, pred, num_classes)
        per_image["miou"].append(image_ious(true, pred, num_classes))
        per_image["pixel_accuracy"].append(image_accuracies(true, pred))
        if num_classes == 2:
            for name, values in zip(("dice", "iou"), image_overlaps(true, pred)):
                per_image[name].append(values)
    numbers = {name: float(np.concatenate(values).mean()) for name, values in per_image.items() if values}
    return {**numbers, "mean_iou": mean_iou(counts)}
