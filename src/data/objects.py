"""Single-object crops for classification + localisation (Pattanayak ch. 6 section 3, which assumes
one object per image): `drinks_objects`, one crop per labelled drink of the drinks set, and
`synthetic_objects`, the same on `synthetic_boxes`, for tests. Both are `BoxSplits` with exactly one
box row per example, so the `boxes` input kind batches them as `(image, {"boxes": (B, 1, 4),
"classes": (B, 1)})`, the box in minmax pixels of the crop.

The crop (`crop_window`): a window of the crop's aspect ratio whose longer side is the object's box
stretched to that aspect times 1 + m, m drawn uniformly from `margin`, placed so that the box sits at
a uniformly drawn position inside it (not always centred), then shifted inside the image and, where
it is larger than the image, clipped to it (the resize then stretches it a little). The box is
always wholly inside its crop (a box reaching past its photo, as one drinks row with ymin -1 does,
is first clipped to the photo). The draws of object j of image i are a function of (seed, split, i,
j) alone, so the same seed gives the same crops and a smaller n_train a prefix of them. Each crop is
resized (antialiased) to `image_size`, its box scaled with it.

Validation (`dataset.validation=N`) holds out N whole training photos with all of their crops
(`BoxSplits.groups`): crops of one photo share its background and lighting, and often overlap, so
holding out single crops would validate on near-copies of training examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import tensorflow as tf

from adl_runner.data.drinks import DrinksOptions, load_drinks
from adl_runner.data.inputs.boxes import BoxSplits
from adl_runner.data.store import DataStore
from adl_runner.data.synthetic_boxes import SyntheticBoxOptions, load_synthetic_boxes
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import DATASETS
from adl_runner.kernel.specs import DatasetSpec

_SPLIT_IDS = {"train": 0, "test": 1}


@dataclass
class CropOptions:
    """How each object is cropped (module docstring)."""

    image_size: list[int] = field(default_factory=lambda: [96, 96])
    """[height, width] of every crop (the model's input)."""
    margin: list[float] = field(default_factory=lambda: [0.1, 0.5])
    """[low, high]: the crop's longer side is the box's (at the crop's aspect ratio) times 1 + m,
    m uniform in [low, high]; [m, m] fixes it."""
    seed: int = 0
    """Seeds the margins and positions of the crops (and, for synthetic_objects, the images)."""


def check_crop(opts: CropOptions) -> tuple[tuple[int, int], tuple[float, float]]:
    """(height, width) and (low, high) margin of `opts`, or a ConfigError naming the bad one."""
    size = [int(d) for d in opts.image_size]
    if len(size) != 2 or min(size) < 8:
        raise ConfigError(f"dataset.options.image_size must be [height, width] of at least 8 pixels each, got {list(opts.image_size)}")
    margin = [float(m) for m in opts.margin]
    if len(margin) != 2 or not 0.0 <= margin[0] <= margin[1]:
        raise ConfigError(f"dataset.options.margin must be [low, high] with 0 <= low <= high, got {list(opts.margin)}")
    return (size[0], size[1]), (margin[0], margin[1])


def crop_window(box: np.ndarray, image_hw: tuple[int, int], aspect: float, margin: float,
                position: tuple[float, float]) -> tuple[int, int, int, int]:
    """The crop (x0, x1, y0, y1), integer pixels, right and bottom exclusive, around the minmax `box`
    (xmin, xmax, ymin, ymax) of an image of `image_hw`: aspect ratio `aspect` (height / width),
    longer side the box's times 1 + `margin`, the box at fractions `position` (x, y) of the free
    space, shifted inside the image and clipped to it (module docstring)."""
    height, width = image_hw
    xmin, xmax, ymin, ymax = (float(v) for v in box[:4])
    base = max(xmax - xmin, (ymax - ymin) / aspect) * (1.0 + margin)
    crop_w, crop_h = min(base, width), min(base * aspect, height)
    left = min(max(xmin - position[0] * (crop_w - (xmax - xmin)), 0.0), width - crop_w)
    top = min(max(ymin - position[1] * (crop_h - (ymax - ymin)), 0.0), height - crop_h)
    x0, y0 = max(math.floor(left), 0), max(math.floor(top), 0)
    x1, y1 = min(math.ceil(left + crop_w), width), min(math.ceil(top + crop_h), height)
    return min(x0, math.floor(xmin)), max(x1, math.ceil(xmax)), min(y0, math.floor(ymin)), max(y1, math.ceil(ymax))


def split_crops(images: np.ndarray, boxes: list[np.ndarray], split: str, size: tuple[int, int],
                margin: tuple[float, float], seed: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """One (H, W, C) uint8 crop of `size` per box row of a split, its (1, 5) row (the box in the
    crop's pixels, and its class), and the index of the photo it was cut from."""
    crops, rows, photos = [], [], []
    for i, (image, image_boxes) in enumerate(zip(images, boxes)):
        bounds = np.array([image.shape[1]] * 2 + [image.shape[0]] * 2, np.float32)
        for j, row in enumerate(np.reshape(image_boxes, (-1, 5))):
            row = np.concatenate([np.clip(row[:4], 0, bounds), row[4:]])
            rng = np.random.default_rng([seed, _SPLIT_IDS[split], i, j])
            m, px, py = rng.uniform(*margin), rng.uniform(), rng.uniform()
            x0, x1, y0, y1 = crop_window(row, image.shape[:2], size[0] / size[1], m, (px, py))
            crop = tf.image.resize(image[y0:y1, x0:x1], size, antialias=True)
            crops.append(tf.saturate_cast(tf.round(crop), tf.uint8).numpy())
            photos.append(i)
            sx, sy = size[1] / (x1 - x0), size[0] / (y1 - y0)
            rows.append(np.array([[(row[0] - x0) * sx, (row[1] - x0) * sx, (row[2] - y0) * sy, (row[3] - y0) * sy,
                                   row[4]]], np.float32))
    if not crops:
        raise ConfigError(f"the {split} split has no labelled object to crop")
    return np.stack(crops), rows, np.array(photos)


def object_crops(splits: BoxSplits, opts: CropOptions) -> BoxSplits:
    """`splits` as one example per labelled object (module docstring), each training crop grouped
    with the others of its photo, so that `dataset.validation` holds out whole photos."""
    size, margin = check_crop(opts)
    x_train, boxes_train, photos = split_crops(splits.x_train, list(splits.boxes_train), "train", size, margin, opts.seed)
    x_test, boxes_test, _ = split_crops(splits.x_test, list(splits.boxes_test), "test", size, margin, opts.seed)
    return BoxSplits(x_train, boxes_train, x_test, boxes_test, splits.class_names, groups=photos)


# -- the registered datasets --------------------------------------------------------------------


@dataclass
class DrinksObjectOptions(CropOptions):
    """Options of drinks_objects: where the drinks images come from, and how objects are cropped."""

    source_size: Optional[list[int]] = field(default_factory=lambda: [240, 320])
    """[height, width] the drinks photos are resized to before cropping (the drinks dataset's
    image_size): half the native 480x640 keeps 240 MB in memory instead of 1 GB and still gives a
    median object of about 40x86 pixels, enough for 96x96 crops; null: native."""
    n_train: Optional[int] = None
    """Crop only the first N training photos (by file name); None: all 996 (2780 objects)."""
    n_test: Optional[int] = None
    """Crop only the first N test photos; None: all 51 (146 objects)."""


@DATASETS.register("drinks_objects", DatasetSpec(options=DrinksObjectOptions, source="boxes"))
def load_drinks_objects(store: DataStore, opts: DrinksObjectOptions) -> BoxSplits:
    """One crop per labelled drink (Water, Soda, Juice) of the drinks set, with its box."""
    check_crop(opts)  # before loading a gigabyte of photos
    photos = load_drinks(store, DrinksOptions(image_size=opts.source_size, n_train=opts.n_train, n_test=opts.n_test))
    return object_crops(photos, opts)


@dataclass
class SyntheticObjectOptions(SyntheticBoxOptions, CropOptions):
    """Options of synthetic_objects: synthetic_boxes' images (`shape`, `classes`, ...), and the crops."""


@DATASETS.register("synthetic_objects", DatasetSpec(options=SyntheticObjectOptions, source="boxes"))
def load_synthetic_objects(store: DataStore, opts: SyntheticObjectOptions) -> BoxSplits:
    """One crop per generated shape of synthetic_boxes, with its box: for smoke runs and tests of localisers."""
    check_crop(opts)
    return object_crops(load_synthetic_boxes(store, opts), opts)
