"""Detections drawn on their images (the book's Figures 11.13.1-11.13.5: a box, its class name and
score per detection), as matplotlib figures a family hands to its `ArtifactSink`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patches

COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive")


def draw_detections(ax: Any, image: np.ndarray, found: dict[str, np.ndarray], class_names: Sequence[str],
                    title: str | None = None) -> None:
    """`image` (H, W[, C]) in [0, 1] or uint8 on `ax`, with each detection's box (minmax pixels of
    this image), class name and score."""
    ax.imshow(np.squeeze(image), cmap="gray" if np.squeeze(image).ndim == 2 else None)
    for (xmin, xmax, ymin, ymax), label, score in zip(found["boxes"], found["classes"], found["scores"]):
        colour = COLOURS[int(label) % len(COLOURS)]
        ax.add_patch(patches.Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, fill=False, linewidth=1.5, edgecolor=colour))
        name = class_names[int(label)] if 0 <= int(label) < len(class_names) else f"class {int(label)}"
        ax.text(xmin, ymin, f"{name}: {score:.2f}", color="white", fontsize=7, va="bottom",
                bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "linewidth": 0})
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=8)


def detection_figure(image: np.ndarray, found: dict[str, np.ndarray], class_names: Sequence[str],
                     title: str | None = None) -> Any:
    """One image with its detections, at the image's aspect ratio."""
    height, width = np.shape(image)[:2]
    fig, ax = plt.subplots(figsize=(6.4, 6.4 * height / width))
    draw_detections(ax, image, found, class_names, title)
    fig.tight_layout()
    return fig


def detection_grid(images: np.ndarray, found: Sequence[dict[str, np.ndarray]], class_names: Sequence[str],
                   titles: Sequence[str], cols: int = 4) -> Any:
    """Several images with their detections, `cols` to a row."""
    rows = -(-len(images) // cols)
    height, width = np.shape(images)[1:3]
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows * height / width + 0.3), squeeze=False)
    for ax in axes.flat[len(images):]:
        ax.set_axis_off()
    for ax, image, detections, title in zip(axes.flat, images, found, titles):
        draw_detections(ax, image, detections, class_names, title)
    fig.tight_layout()
    return fig
