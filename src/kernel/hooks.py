"""What a family's hooks are handed: the protocols the runner implements for them.

A family's hooks (after-training figures, progress snapshots, a pre-training phase, sample-quality
measurements, task=sample) see these interfaces only, never a path, a run dir or Hydra: the runner
decides where things go (`adl_runner.runner.artifacts` implements them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Protocol

import numpy as np

from adl_runner.kernel.ranges import ranged

PIXELS = "pixels"
"""The label of a figure that must keep exactly its own pixels when saved (ArtifactSink.figure)."""

class ArtifactSink(Protocol):
    """Where a family's figures, tables and extra networks go. A family says what it writes and
    names it; the runner decides the file and folder. Each method returns the path written."""

    def figure(self, name: str, fig: Any) -> Path:
        """A matplotlib figure, saved as a PNG named `name`, and closed. The run's caption goes
        under it, unless its label is PIXELS (`fig.set_label(PIXELS)`): an image kept at exactly
        its own pixels (a mask at its photo's size)."""
        ...

    def image_grid(self, name: str, images: np.ndarray, cols: int, title: str | None = None) -> Path:
        """Images (N, H, W[, C]) in [0, 1] tiled `cols` wide, saved as a PNG named `name`."""
        ...

    def progress_grid(self, step: int, images: np.ndarray, cols: int, title: str | None = None, *,
                      series: str | None = None, digits: int = 5) -> Path:
        """An image grid of training progress at `step`; the runner animates the main series at the
        end. `series` names a further grid of the same steps (CycleGAN's reconstructions); `digits`
        is the zero-padding of the step in the file name (the book's: 5, CycleGAN's 6)."""
        ...

    def network(self, name: str, model: Any) -> Path:
        """A network of the model saved on its own (a GAN's generator), named `name`."""
        ...

    def table(self, name: str, csv_text: str) -> Path:
        """A table, given as CSV text, named `name`."""
        ...

    def record(self, name: str, data: Any) -> Path:
        """Structured results (plain lists, dicts, numbers, strings) as JSON named `name` (a detector's boxes)."""
        ...


class DataView(Protocol):
    """Examples of the run's data, as the model sees them (after views and corruption)."""

    @property
    def num_classes(self) -> int: ...

    def batches(self, split: str = "test") -> Any:
        """The whole split as (inputs, targets) batches, in order, without augmentation."""
        ...

    def examples(self, n: int, split: str = "test") -> tuple[Any, Any]:
        """The first `n` (inputs, targets) of a split."""
        ...

    def training_passes(self, epochs: int) -> tuple[Any, int]:
        """The training split as `epochs` seeded shuffled passes of batches, and the batches per pass."""
        ...

    def labels(self, split: str = "test") -> np.ndarray:
        """Integer labels of a split, in order."""
        ...

    def reference(self) -> dict[str, float]:
        """Exact values the data's distribution fixes (a synthetic source's, such as the Gaussians'
        `mi_true`); {} for data read from files."""
        ...


@dataclass(frozen=True)
class QualityContext:
    """What an evaluator (kernel.evaluators) gets besides the model and the data: where a judge
    lives and how many samples to generate."""

    dataset: str
    """The name of the dataset the model trains on (a judge exists for some only)."""
    data_dir: Path
    """The data dir (where a judge finds its training data)."""
    cache_dir: Path
    """A folder for cached judges: the user's cache (`kernel.cachedir`), never the data dir."""
    samples: int
    """How many samples to generate per measurement."""
    verify: bool
    """Whether data files are checked against their checksums."""


SAMPLE_MAX = 10_000
GRID_MAX = 100
"""Bounds of `sample.n` and `sample.grid`: the figure of either is at most about 10,000 x 10,000
pixels (a few GB while drawn), well inside a 24 GB machine."""


@dataclass
class SampleConfig:
    """What task=sample draws, the options every generative family reads. A family with controls
    of its own (InfoGAN's codes, StackedGAN's z0/z1) registers a subclass as `FitSpec.sample_options`:
    `sample.<key>` is typed by the chosen family's class and refused where no family reads it."""

    label: Optional[int] = ranged(None, at_least=0)
    """Class (digit) to generate, for conditional models; None: unconditional or all classes."""
    n: int = ranged(16, at_least=1, at_most=SAMPLE_MAX, why=f"{SAMPLE_MAX:,} images make a figure of about 100 MP")
    """How many samples a grid holds."""
    grid: int = ranged(30, at_least=1, at_most=GRID_MAX, why=f"a {GRID_MAX}x{GRID_MAX} grid decodes {GRID_MAX ** 2:,} images")
    """Points per side of a latent-manifold grid."""
    latent: Optional[list[float]] = None
    """One latent point to decode; None: a grid or random draws, as the family decides."""
