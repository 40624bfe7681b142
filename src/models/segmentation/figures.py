"""Class-id masks as pictures: a colour mask (background black, classes 1-3 red, green and blue as
the book's Fig 12.5.3 shows the mask channels 1..3 as RGB), its overlay on the photo, and the
after-training grid of test inputs, ground truths and predictions."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from adl_runner.kernel.hooks import ArtifactSink, DataView
from adl_runner.models.segmentation.model import centre_of, predicted_ids, target_ids

PALETTE = np.array([(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
                    (255, 128, 0), (128, 0, 255), (0, 128, 128)], dtype=np.uint8)
"""RGB of class 0 (background), 1, 2, ...; classes past the end reuse 1.. in turn."""
OVERLAY_ALPHA = 0.5
"""Weight of a class colour over the photo's pixel (background pixels keep the photo)."""
GRID_IMAGES = 4
"""Test images in the after-training grid."""


def colour_mask(ids: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 colours of class ids (..., H, W)."""
    ids = np.asarray(ids, dtype=np.int64)
    wrapped = np.where(ids > 0, 1 + (ids - 1) % (len(PALETTE) - 1), 0)
    return PALETTE[wrapped]


def overlay(image: np.ndarray, ids: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """(H, W, 3) uint8: `image` (H, W, 3 or 1) uint8 with each non-background pixel blended towards its
    class colour."""
    rgb = np.broadcast_to(np.asarray(image, dtype=np.float32), (*np.shape(ids), 3))
    blended = np.where((np.asarray(ids) > 0)[..., None], (1 - alpha) * rgb + alpha * colour_mask(ids), rgb)
    return np.round(blended).astype(np.uint8)


def prediction_grid(images: np.ndarray, truth: np.ndarray, predicted: np.ndarray) -> Any:
    """One row per image (N, H, W, C) in [0, 1]: the input, its true and its predicted ids (N, H, W) in colour."""
    height, width = np.shape(images)[1:3]
    fig, axes = plt.subplots(len(images), 3, figsize=(9.6, 3.2 * len(images) * height / width + 0.4), squeeze=False)
    for row, image, true_ids, pred_ids in zip(axes, images, truth, predicted):
        row[0].imshow(np.squeeze(image), cmap="gray" if np.shape(image)[-1] == 1 else None, vmin=0.0, vmax=1.0)
        row[1].imshow(colour_mask(true_ids))
        row[2].imshow(colour_mask(pred_ids))
    for ax, title in zip(axes[0], ("input", "ground truth", "prediction")):
        ax.set_title(title, fontsize=9)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def write_predictions(model: Any, data: DataView, out: ArtifactSink) -> None:
    """`segmentation.png`: the first test images, each as a row of input, ground truth and prediction."""
    images, targets = data.examples(GRID_IMAGES, "test")
    predicted = predicted_ids(model, model.predict_on_batch(images))  # of the images' centre with padding=valid
    images, truth = (np.asarray(centre_of(values, predicted)) for values in (images, target_ids(targets)))
    out.figure("segmentation", prediction_grid(images, truth, predicted))
