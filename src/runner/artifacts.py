"""What a run writes besides checkpoints and metrics, for the fit and the episode loop alike: the
one `ArtifactWriter`, whose methods say what is written (a figure, an image grid, a progress grid
of a step, a network, a table, an animation) while the run dir decides where (`rundir.py` holds the
layout).

A fit-loop family's spec (kernel.specs.FitSpec) names its hooks: `artifacts` (after training),
`snapshot` (at every checkpoint of a step-based run: the GANs' progress grids, of which the runner
makes an animated GIF at the end), `prepare` (once on a freshly built model before training, never
on a resumed one, such as CycleGAN's fixed test images) and `sample` (task=sample); its
`evaluators` are measured by runner.evaluators. An episode-loop agent has `artifacts(out)`. They get an `ArtifactData` (examples of the run's data)
and an `ArtifactWriter` (the `ArtifactSink` of kernel.hooks), and never see paths or Hydra.
Everything the writer writes also goes to the job's trackers (runner.tracking): images as images
(a progress grid at its step), networks as models, the rest as files.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402  (matplotlib's own image dependency)

from adl_runner.kernel.errors import ConfigError, IncompatibleError, RunnerError  # noqa: E402
from adl_runner.kernel.hooks import PIXELS  # noqa: E402
from adl_runner.runner.rundir import RunDir  # noqa: E402
from adl_runner.runner.tracking import active  # noqa: E402

log = logging.getLogger("runner")

DPI = 100
MAX_FIGURE_PIXELS = 200_000_000
"""An image grid's bound (about 800 MB as RGBA, a few GB while matplotlib draws it): a
sample.grid=300 manifold (30,000 x 30,000 pixels) would exhaust a 24 GB machine."""


class ArtifactWriter:
    """Writes a run's figures, tables, extra networks and animations into its run dir, atomically;
    every method returns the path written."""

    def __init__(self, rundir: RunDir) -> None:
        self._rundir = rundir
        self._tracking = active()

    # -- what families write (kernel.hooks.ArtifactSink) ---------------------------------------
    def figure(self, name: str, fig: Any) -> Path:
        """Save a matplotlib figure as the PNG `name` and close it."""
        return self._image(name, self._save_figure(self._rundir.figure_file(name), fig))

    def image_grid(self, name: str, images: np.ndarray, cols: int, title: str | None = None) -> Path:
        """Tile images (N, H, W[, C]) in [0,1] into a grid `cols` wide and save it as the PNG `name`."""
        return self._image(name, self._save_figure(self._rundir.figure_file(name), _grid_figure(images, cols, title)))

    def progress_grid(self, step: int, images: np.ndarray, cols: int, title: str | None = None, *,
                      series: str | None = None, digits: int = 5) -> Path:
        """An image grid showing training progress at `step` (the main series is animated at the end);
        `series` names a further grid of the same steps, `digits` the zero-padding of the step."""
        path = self._save_figure(self._rundir.progress_grid_file(step, series, digits), _grid_figure(images, cols, title))
        return self._image(path.parent.relative_to(self._rundir.path).as_posix(), path, step)

    def network(self, name: str, model: Any) -> Path:
        """A network of the model saved on its own as a Keras file (e.g. a GAN's generator)."""
        path = self._rundir.write_atomic(self._rundir.network_file(name), lambda p: model.save(p))
        self._tracking.model(path)
        return path

    def table(self, name: str, csv_text: str) -> Path:
        """A table, given as CSV text."""
        return self._file(self._rundir.write_atomic(self._rundir.table_file(name), lambda p: p.write_text(csv_text)))

    def record(self, name: str, data: Any) -> Path:
        """Structured results as `<name>.json`."""
        return self._file(self._rundir.write_json(f"{name}.json", data))

    def array(self, name: str, data: np.ndarray) -> Path:
        """An array as the NumPy file `<name>.npy`."""
        def save(path: Path) -> None:
            with path.open("wb") as f:  # a file object: np.save would add .npy to the temporary name
                np.save(f, data)

        return self._file(self._rundir.write_atomic(self._rundir.file(f"{name}.npy"), save))

    def labelled_grid(self, name: str, images: np.ndarray, titles: list[str], cols: int) -> Path:
        """A contact sheet: uint8 images (N, H, W, C) `cols` wide, each titled, as the PNG `name`."""
        rows = -(-len(images) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.6 * rows), squeeze=False)
        for ax in axes.ravel():
            ax.axis("off")
        for ax, image, title in zip(axes.ravel(), images, titles):
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=255)
            ax.set_title(title, fontsize=8)
        fig.tight_layout()
        return self._image(name, self._save_figure(self._rundir.figure_file(name), fig))

    # -- what the runner writes ----------------------------------------------------------------
    def progress_animation(self, seconds_per_frame: float = 0.25) -> Path | None:
        """An animated GIF of the progress grids in step order (None when none is readable). A grid
        that is not a readable image (truncated, or not an image at all) is left out with a warning
        naming it, and kept: the animation is a by-product, not worth failing a finished run for."""
        images = []
        for frame in self._rundir.progress_grid_files():
            try:
                with Image.open(frame) as image:
                    images.append(image.convert("RGB"))
            except (OSError, SyntaxError, ValueError) as exc:  # PIL's errors for broken or foreign files
                log.warning("%s is not a readable image (%s); left out of %s and kept", frame, exc,
                            self._rundir.progress_animation_file.name)
        if not images:
            return None
        return self._save_gif(self._rundir.progress_animation_file, images, seconds_per_frame)

    def episode_animation(self, frames: list[Any], seconds_per_frame: float = 0.05) -> Path:
        """An animated GIF of an env's rendered RGB frames (arrays; None entries are skipped)."""
        images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames if f is not None]
        if not images:
            raise RunnerError("the env rendered no frames for the GIF")
        return self._save_gif(self._rundir.episode_animation_file, images, seconds_per_frame)

    # -- shared pieces -------------------------------------------------------------------------
    def _image(self, tag: str, path: Path, step: int | None = None) -> Path:
        self._tracking.image(tag, path, step)
        return path

    def _file(self, path: Path) -> Path:
        self._tracking.file(path)
        return path

    def _save_figure(self, target: Path, fig: Any) -> Path:
        if fig.get_label() == PIXELS:  # an image at exactly its own pixels
            return self._write_png(target, fig, bbox_inches=None)
        if self._rundir.caption:  # below the axes; bbox "tight" grows the canvas to hold it
            fig.text(0.5, 0.0, self._rundir.caption, ha="center", va="top", fontsize=7, color="0.35")
        return self._write_png(target, fig, bbox_inches="tight")

    def _write_png(self, target: Path, fig: Any, bbox_inches: str | None) -> Path:
        path = self._rundir.write_atomic(target, lambda p: fig.savefig(p, format="png", dpi=DPI, bbox_inches=bbox_inches))
        plt.close(fig)
        return path

    def _save_gif(self, target: Path, images: list[Image.Image], seconds_per_frame: float) -> Path:
        size = images[0].size
        images = [image if image.size == size else image.resize(size) for image in images]
        return self._file(self._rundir.write_atomic(
            target,
            lambda p: images[0].save(p, format="GIF", save_all=True, append_images=images[1:],
                                     duration=int(seconds_per_frame * 1000), loop=0),
        ))


GUTTER = 2
"""Pixels between the cells of a sample grid."""


def _grid_figure(images: np.ndarray, cols: int, title: str | None) -> Any:
    """Images (N, H, W[, C]) in [0,1] tiled `cols` wide, as a figure about one inch per 28 pixels."""
    rows = -(-len(images) // cols)
    h, w = np.shape(images)[1:3]
    size = (max(2.0, cols * w / 28), max(2.0, rows * h / 28))
    if size[0] * size[1] * DPI**2 > MAX_FIGURE_PIXELS:  # before any copy of the images is made
        raise ConfigError(f"a grid of {len(images):,} images of {h}x{w} would be a {size[0] * DPI:,.0f} x {size[1] * DPI:,.0f} "
                          f"pixel figure, more than the {MAX_FIGURE_PIXELS:,} pixels a figure may have (memory); "
                          f"draw fewer images (sample.n, sample.grid)")
    images = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    g = GUTTER
    # a mid-grey gutter between cells: black-background digits would otherwise run into each other
    canvas = np.full((rows * (h + g) - g, cols * (w + g) - g, *images.shape[3:]), 0.5, dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * (h + g):r * (h + g) + h, c * (w + g):c * (w + g) + w] = image
    fig, ax = plt.subplots(figsize=size)
    ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0.0, vmax=1.0)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


class ArtifactData:
    """Examples of the run's data, as the model sees them (after views and corruption)."""

    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline

    @property
    def num_classes(self) -> int:
        return int(self._pipeline.num_classes)

    def batches(self, split: str = "test") -> Any:
        """The whole split as (inputs, targets) batches, in order, without augmentation."""
        return self._pipeline.evaluation(split)

    def examples(self, n: int, split: str = "test") -> tuple[Any, Any]:
        """The first `n` (inputs, targets) of a split; nested inputs or targets (two views, a dict of
        boxes and classes) keep their structure, each array cut to `n`."""
        inputs, targets = [], []
        for batch in self.batches(split).as_numpy_iterator():
            x, y = batch if isinstance(batch, tuple) and len(batch) == 2 else (batch, None)
            inputs.append(x)
            targets.append(y)
            if sum(len(tf.nest.flatten(b)[0]) for b in inputs) >= n:
                break
        return _first(inputs, n), None if targets[0] is None else _first(targets, n)

    def training_passes(self, epochs: int) -> tuple[Any, int]:
        """The training split as `epochs` seeded shuffled passes of batches, and the batches per pass."""
        return self._pipeline.train(0, epochs), self._pipeline.steps_per_epoch()

    def labels(self, split: str = "test") -> np.ndarray:
        """Integer labels of a split, in order."""
        labels = getattr(self._pipeline, "labels", None)
        if labels is None:
            raise IncompatibleError(f"{type(self._pipeline).__name__} batches have no per-example class labels")
        return labels(split)

    def reference(self) -> dict[str, float]:
        """Exact values the data's distribution fixes (`SyntheticSource.reference`); {} for data read from files."""
        return dict(getattr(self._pipeline, "reference", None) or {})


def _first(batches: list[Any], n: int) -> Any:
    """The batches concatenated along their first axis, structure by structure, cut to `n` examples."""
    return tf.nest.map_structure(lambda *parts: np.concatenate(parts)[:n], *batches)
