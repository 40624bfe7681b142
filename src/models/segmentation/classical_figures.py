"""The figures of the classical segmentations: an image at its own pixel size, and the grey-level
histogram with the chosen threshold (or the K-means centroids) marked. Each returns a matplotlib
figure for the run's `ArtifactSink`."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from adl_runner.kernel.hooks import PIXELS
from adl_runner.models.segmentation.classical_methods import LEVELS, grey_histogram

DPI = 100
"""The sink saves figures at 100 dpi: a figure of (w / DPI, h / DPI) inches is w x h pixels."""


def pixels_figure(image: np.ndarray) -> Any:
    """`image` ((H, W) grey or (H, W, 3), uint8 or floats in [0, 1]) as a figure of exactly its
    pixels: no axes, no title, no resampling."""
    h, w = image.shape[:2]
    fig = plt.figure(figsize=(w / DPI, h / DPI), dpi=DPI)
    fig.set_label(PIXELS)  # saved as is: no caption, no margins
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255 if image.dtype == np.uint8 else 1,
              interpolation="nearest")
    ax.set_axis_off()
    return fig


def histogram_figure(grey: np.ndarray, marks: dict[str, float], title: str) -> Any:
    """The 256-bin grey-level histogram of `grey` with a vertical line at each of `marks`
    (label -> grey level): the threshold, the peaks it came from, or K-means centroids."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=DPI)
    ax.bar(np.arange(LEVELS), grey_histogram(grey), width=1.0, color="0.45")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, level) in enumerate(marks.items()):
        ax.axvline(level, color=colours[i % len(colours)], linestyle="-" if i == 0 else "--", label=f"{label} = {level:g}")
    ax.set_xlim(-0.5, LEVELS - 0.5)
    ax.set_xlabel("grey level")
    ax.set_ylabel("pixels")
    ax.set_title(title)
    if marks:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig
