"""Detection and segmentation data that needs no files: the `synthetic_boxes` and `synthetic_shapes`
datasets (the same images, with their boxes or their class masks), and `write_fake_drinks`, a few
KB of drinks-format files (JPEGs, label CSVs, VIA polygon JSONs) on which tests run the real
drinks loaders.

An image is a smooth, muted random texture with 1 to `max_objects` flat, saturated shapes on it;
class k always has the same colour and shape (odd: a rectangle, even: the ellipse inscribed in its
box), so a small detector can learn them within a few epochs. Shapes overlap little (at most a
tenth of the smaller one, never over another's centre pixel), so every labelled box shows its object. Image i of a split is a function
of (seed, split, i) alone: the same seed gives the same data, and a smaller n_train gives a prefix.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from adl_runner.data.drinks import CSV_COLUMNS, DRINKS_CLASSES
from adl_runner.data.inputs.boxes import BoxSplits
from adl_runner.data.inputs.masks import MaskSplits
from adl_runner.data.store import DRINKS_DIR, DRINKS_LABELS, DRINKS_POLYGONS, DataStore
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import DATASETS
from adl_runner.kernel.specs import DatasetSpec

PALETTE = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (50, 80, 230), "yellow": (235, 205, 30),
    "magenta": (205, 50, 205), "cyan": (40, 205, 215), "orange": (245, 130, 25), "white": (250, 250, 250),
}
"""The colour of class k is the k-th entry (the background texture stays in 60..170)."""
SHAPES = ("rectangle", "ellipse")
_SIZE_RANGE = (0.2, 0.5)  # a box side is this share of the image side
_MAX_OVERLAP = 0.1  # of the smaller box's area
_PLACEMENT_TRIES = 20
_SPLIT_IDS = {"train": 0, "test": 1}
FAKE_DRINKS_SIZE = (60, 80)
"""(height, width) of `write_fake_drinks` images: the real 480x640 over 8."""


def class_names(num_classes: int) -> tuple[str, ...]:
    """("background", "red rectangle", "green ellipse", ...) for `num_classes` object classes."""
    return ("background", *(f"{colour} {SHAPES[k % 2]}" for k, colour in enumerate(list(PALETTE)[:num_classes])))


def background(rng: np.random.Generator, height: int, width: int, cells: int = 4) -> np.ndarray:
    """(H, W, 3) float texture: muted colours bilinear between a (cells+1)^2 grid, plus fine noise."""
    coarse = rng.uniform(60, 170, (cells + 1, cells + 1, 3))
    ys, xs = np.linspace(0, cells, height), np.linspace(0, cells, width)
    y0, x0 = np.minimum(ys.astype(int), cells - 1), np.minimum(xs.astype(int), cells - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    rows = coarse[y0] * (1 - fy) + coarse[y0 + 1] * fy  # (H, cells+1, 3)
    texture = rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx
    return texture + rng.normal(0, 8, texture.shape)


def _occludes(box: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]) -> bool:
    """Whether `box`, drawn over `boxes`, would cover another's centre pixel or more than
    `_MAX_OVERLAP` of the smaller one's area."""
    x0, x1, y0, y1 = box
    for a0, a1, b0, b1 in boxes:
        if x0 <= (a0 + a1) // 2 < x1 and y0 <= (b0 + b1) // 2 < y1:
            return True
        inter = max(0, min(x1, a1) - max(x0, a0)) * max(0, min(y1, b1) - max(y0, b0))
        if inter > _MAX_OVERLAP * min((x1 - x0) * (y1 - y0), (a1 - a0) * (b1 - b0)):
            return True
    return False


def render(rng: np.random.Generator, height: int, width: int, num_classes: int,
           max_objects: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One (H, W, 3) uint8 image, its (k, 5) float32 rows xmin, xmax, ymin, ymax, class (pixels,
    right and bottom edges exclusive, as the drinks CSVs' x + width) and its (H, W) uint8 class mask."""
    image = background(rng, height, width)
    mask = np.zeros((height, width), np.uint8)
    colours = list(PALETTE.values())
    boxes: list[tuple[int, int, int, int]] = []
    rows = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        cls = int(rng.integers(1, num_classes + 1))
        for _ in range(_PLACEMENT_TRIES):
            w = max(2, int(rng.uniform(*_SIZE_RANGE) * width))
            h = max(2, int(rng.uniform(*_SIZE_RANGE) * height))
            x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            box = (x0, x0 + w, y0, y0 + h)
            if not _occludes(box, boxes):
                break
        else:
            continue  # no room left: fewer objects (the first one always fits)
        yy, xx = np.mgrid[y0:y0 + h, x0:x0 + w] + 0.5
        inside = np.ones((h, w), bool) if cls % 2 else ((xx - x0 - w / 2) / (w / 2)) ** 2 + ((yy - y0 - h / 2) / (h / 2)) ** 2 <= 1
        image[y0:y0 + h, x0:x0 + w][inside] = colours[cls - 1]
        mask[y0:y0 + h, x0:x0 + w][inside] = cls
        boxes.append(box)
        rows.append([*box, cls])
    return np.clip(np.round(image), 0, 255).astype(np.uint8), np.asarray(rows, np.float32), mask


def render_split(split: str, n: int, shape: tuple[int, int, int], num_classes: int, max_objects: int,
                 seed: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """n images of `shape` (H, W, C: C 1 is the luminance), their box rows and their (n, H, W) class
    masks; image i from (seed, split, i)."""
    h, w, c = shape
    images = np.empty((n, h, w, c), np.uint8)
    masks = np.empty((n, h, w), np.uint8)
    boxes = []
    for i in range(n):
        image, rows, masks[i] = render(np.random.default_rng([seed, _SPLIT_IDS[split], i]), h, w, num_classes, max_objects)
        images[i] = image if c == 3 else np.round(image @ np.array([0.299, 0.587, 0.114]))[..., None]
        boxes.append(rows)
    return images, boxes, masks


# -- the registered dataset --------------------------------------------------------------------


@dataclass
class SyntheticBoxOptions:
    """Options of the synthetic_boxes dataset."""

    shape: list[int] = field(default_factory=lambda: [128, 160, 3])
    """Image shape [H, W, C] (C: 3, or 1 for gray). The default suits the SSD's four scales (multiples of 16, >= 128)."""
    n_train: int = 64
    """Number of training images."""
    n_test: int = 16
    """Number of test images."""
    classes: int = 3
    """Object classes, 1..8 (the background is class 0): class k is the k-th colour of PALETTE, a
    rectangle when k is odd and an ellipse when even ("red rectangle", "green ellipse", ...)."""
    max_objects: int = 3
    """Objects per image are 1..max_objects, uniformly."""
    seed: int = 0
    """Same seed, same images and boxes."""


@dataclass
class SyntheticShapeOptions(SyntheticBoxOptions):
    """Options of the synthetic_shapes dataset: synthetic_boxes' images with their class masks."""

    foreground: bool = False
    """One class "object" for every shape (a binary foreground mask), as drinks_foreground."""


def _rendered(opts: SyntheticBoxOptions) -> dict[str, tuple[np.ndarray, list[np.ndarray], np.ndarray]]:
    """Each split's images, box rows and masks, after checking the options."""
    dims = [int(d) for d in opts.shape]
    if len(dims) != 3 or dims[2] not in (1, 3) or min(dims[:2]) < 8:
        raise ConfigError(f"dataset.options.shape must be [H, W, C] with H, W >= 8 and C 1 or 3, got {list(opts.shape)}")
    if not 1 <= opts.classes <= len(PALETTE):
        raise ConfigError(f"dataset.options.classes must be in 1..{len(PALETTE)}, got {opts.classes}")
    if opts.n_train < 1 or opts.n_test < 1 or opts.max_objects < 1:
        raise ConfigError(f"dataset.options.n_train, n_test and max_objects must be >= 1, got "
                          f"{opts.n_train}, {opts.n_test} and {opts.max_objects}")
    shape = (dims[0], dims[1], dims[2])
    return {split: render_split(split, n, shape, opts.classes, opts.max_objects, opts.seed)
            for split, n in (("train", opts.n_train), ("test", opts.n_test))}


@DATASETS.register("synthetic_boxes", DatasetSpec(options=SyntheticBoxOptions, source="boxes"))
def load_synthetic_boxes(store: DataStore, opts: SyntheticBoxOptions) -> BoxSplits:
    """Generated detection images (module docstring): for smoke runs and tests of detectors."""
    (x_train, boxes_train, _), (x_test, boxes_test, _) = _rendered(opts).values()
    return BoxSplits(x_train, boxes_train, x_test, boxes_test, class_names(opts.classes))


@DATASETS.register("synthetic_shapes", DatasetSpec(options=SyntheticShapeOptions, source="masks"))
def load_synthetic_shapes(store: DataStore, opts: SyntheticShapeOptions) -> MaskSplits:
    """Generated segmentation images (module docstring): for smoke runs and tests of mask models."""
    (x_train, _, masks_train), (x_test, _, masks_test) = _rendered(opts).values()
    if opts.foreground:
        return MaskSplits(x_train, np.minimum(masks_train, 1), x_test, np.minimum(masks_test, 1), ("background", "object"))
    return MaskSplits(x_train, masks_train, x_test, masks_test, class_names(opts.classes))


# -- fake drinks files, for tests ----------------------------------------------------------------


def outline(row: np.ndarray, points: int = 24) -> tuple[list[int], list[int]]:
    """A VIA polygon (xs, ys) of the shape `render` drew in the box row: its rectangle's corner pixels,
    or `points` pixels on its ellipse."""
    x0, x1, y0, y1, cls = (int(v) for v in row)
    if cls % 2:
        return [x0, x1 - 1, x1 - 1, x0], [y0, y0, y1 - 1, y1 - 1]
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    cx, cy, rx, ry = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2, (x1 - x0 - 1) / 2, (y1 - y0 - 1) / 2
    return np.round(cx + rx * np.cos(angles)).astype(int).tolist(), np.round(cy + ry * np.sin(angles)).astype(int).tolist()


def write_fake_drinks(root: Path | str, n_train: int = 8, n_test: int = 4, seed: int = 0,
                      size: tuple[int, int] = FAKE_DRINKS_SIZE) -> Path:
    """Write `<root>/drinks/` in the real layout: JPEGs of `size` (H, W) named as upstream (train
    0000000.jpg..., test 0010000.jpg...), labels_{train,test}.csv with integer pixel boxes of the
    three drinks classes, and segmentation_{train,test}.json with their shapes as VIA polygons.
    Returns the folder."""
    folder = Path(root) / DRINKS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for split, first in (("train", 0), ("test", 10000)):
        n = n_train if split == "train" else n_test
        images, boxes, _ = render_split(split, n, (*size, 3), len(DRINKS_CLASSES) - 1, 3, seed)
        via = {}
        with (Path(root) / DRINKS_LABELS[split]).open("w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for i, (image, rows) in enumerate(zip(images, boxes)):
                name = f"{first + i:07d}.jpg"
                jpg = tf.io.encode_jpeg(image, quality=95).numpy()
                (folder / name).write_bytes(jpg)
                writer.writerows([name, *(int(v) for v in row)] for row in rows)
                regions = [{"shape_attributes": dict(zip(("name", "all_points_x", "all_points_y"), ("polygon", *outline(row)))),
                            "region_attributes": {"Name": str(int(row[4]))}} for row in rows]
                via[f"{name}{len(jpg)}"] = {"filename": name, "size": len(jpg), "regions": regions, "file_attributes": {}}
        document = {"_via_settings": {}, "_via_img_metadata": via, "_via_attributes": {}}
        (Path(root) / DRINKS_POLYGONS[split]).write_text(json.dumps(document))
    return folder
