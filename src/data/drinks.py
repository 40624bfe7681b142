"""The drinks dataset (book ch. 11 SSD, ch. 12 FCN): photos of bottled water, soda and juice cans
with a labelled box per object, as `BoxSplits` for the `boxes` input kind.

Files: `<data_dir>/drinks/`, the unpacked drinks.tar.gz: 1052 640x480 RGB JPEGs (train `0000000.jpg`
..., test `0010000.jpg` ...) and `labels_train.csv` / `labels_test.csv`, header
`frame,xmin,xmax,ymin,ymax,class_id`, one row per box in pixels (minmax order: xmin, xmax, ymin, ymax).

Label rows follow the book's `build_label_dictionary` (spec 11.A): a row without one field per column,
a box of zero (or negative) width or height, or one of class 0 (the background) is skipped, and all
skips of a load are counted in one warning line; an image left without boxes is dropped. What cannot
be guessed at is an error naming the file and row: a header without the six columns, a field that is
not a number, a class id outside ("background", "Water", "Soda", "Juice"), a frame that is not a file
name, a missing image.

Images are decoded and resized in tf.data, once at load, each resized before the next batch is
stacked into one preallocated uint8 array, so memory holds the dataset once at its loaded size.

Checksums (when `dataset.verify_checksums` is on): the two CSVs against their sha256, and the set of
jpgs against the published digest over the sorted `name\\0sha256(file)` of every jpg in the folder
(macOS `._*` files left out). Hashing all 142 MB takes about 0.3 s from the page cache, less than
decoding the images, and is cached per process (`store.file_digest`): it is done at every load,
so a replaced or truncated image is never trained on unnoticed.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import tensorflow as tf

from adl_runner.data.inputs.boxes import BoxSplits
from adl_runner.data.store import DRINKS_DIR, DRINKS_LABELS, DRINKS_MANUAL, DataStore, file_digest, one_line
from adl_runner.kernel.errors import ConfigError, DataError
from adl_runner.kernel.registry import DATASETS
from adl_runner.kernel.specs import DatasetSpec

log = logging.getLogger(__name__)

DRINKS_CLASSES = ("background", "Water", "Soda", "Juice")
"""The book's config.py classes: 0 is the background, never a box."""
CSV_COLUMNS = ("frame", "xmin", "xmax", "ymin", "ymax", "class_id")
JPG_SET_SHA256 = "256694742116c44a0ce38c64458d315c12cfb3761b312b4b143b9b7be0240469"
"""sha256 over the sorted `name + b"\\0" + sha256(file).digest()` of the 1052 jpgs (shared/datasets/README.md)."""
JPG_SET_SIZE = 1052
_DECODE_BATCH = 16
"""Images decoded per tf.data batch before they are copied into the dataset's array."""

Rows = dict[str, list[list[float]]]
"""Per frame (an image file name), its boxes as [xmin, xmax, ymin, ymax, class] rows."""


@dataclass
class DrinksOptions:
    """Options of the drinks dataset."""

    image_size: Optional[list[int]] = None
    """[height, width] every image is resized to once, at load (antialiased), its boxes scaled with it;
    None: the native 480x640 (the book), about 1 GB of uint8 in memory. CPU runs use a reduced size
    such as [120, 160] (a quarter per side); the SSD needs multiples of 16, e.g. [240, 320] or [128, 160]."""
    n_train: Optional[int] = None
    """Load only the first N training images (by file name) that have boxes; None: all 996."""
    n_test: Optional[int] = None
    """Load only the first N test images that have boxes; None: all 51."""


def image_size(opts: DrinksOptions) -> tuple[int, int] | None:
    """`opts.image_size` as (height, width), after checking it and the limits."""
    for key in ("n_train", "n_test"):
        value = getattr(opts, key)
        if value is not None and value < 1:
            raise ConfigError(f"dataset.options.{key} must be a positive integer or null (all), got {value}")
    if opts.image_size is None:
        return None
    size = [int(d) for d in opts.image_size]
    if len(size) != 2 or min(size) < 1:
        raise ConfigError(f"dataset.options.image_size must be [height, width] of positive sizes or null, got {list(opts.image_size)}")
    return size[0], size[1]


# -- labels ------------------------------------------------------------------------------------


def read_labels(path: Path, relpath: str, skipped: Counter[str]) -> tuple[Rows, set[str]]:
    """The boxes of each frame of a label CSV, and every frame it names; skipped rows are counted
    into `skipped` by reason, and a row that cannot be read is a DataError naming `relpath` and row."""
    rows: Rows = {}
    frames: set[str] = set()
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in CSV_COLUMNS if name not in header]
            if missing:
                raise DataError(f"{relpath} row 1: the header lacks {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}")
            at = [header.index(name) for name in CSV_COLUMNS]
            for row in reader:
                if not row:
                    continue  # a blank line holds no label
                if len(row) != len(header):
                    skipped[f"rows without {len(header)} fields"] += 1
                    continue
                frame, *numbers = (row[i].strip() for i in at)
                box = _box(frame, numbers, f"{relpath} row {reader.line_num}")
                frames.add(frame)
                if box[4] == 0:
                    skipped["boxes of class 0 (background)"] += 1
                elif box[1] <= box[0] or box[3] <= box[2]:
                    skipped["boxes of zero or negative width or height"] += 1
                else:
                    rows.setdefault(frame, []).append(box)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(one_line(f"{relpath} is not a readable CSV ({exc}); replace it with a good copy")) from None
    return rows, frames


def _box(frame: str, fields: list[str], where: str) -> list[float]:
    """One row's [xmin, xmax, ymin, ymax, class], or a DataError naming `where`."""
    if not frame or Path(frame).name != frame:
        raise DataError(f"{where}: frame '{frame}' is not an image file name in {DRINKS_DIR}/")
    values = []
    for name, text in zip(CSV_COLUMNS[1:], fields):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DataError(f"{where}: {name} '{text}' is not a number")
        values.append(value)
    if not values[4].is_integer() or not 0 <= values[4] < len(DRINKS_CLASSES):
        valid = ", ".join(f"{i} ({name})" for i, name in enumerate(DRINKS_CLASSES))
        raise DataError(f"{where}: class_id '{fields[4]}' is not a drinks class; valid: {valid}")
    return values


def read_split_labels(store: DataStore) -> dict[str, Rows]:
    """Each split's boxes per frame; the rows skipped and the images dropped are one warning line."""
    skipped: dict[str, Counter[str]] = {}
    labels: dict[str, Rows] = {}
    dropped = 0
    for split, relpath in DRINKS_LABELS.items():
        counts = skipped.setdefault(Path(relpath).name, Counter())
        labels[split], named = read_labels(store.file(relpath), relpath, counts)
        dropped += len(named - labels[split].keys())
        if not labels[split]:
            raise DataError(f"{relpath} holds no usable box ({sum(counts.values())} rows skipped)")
    if dropped or any(skipped.values()):
        parts = [f"{name}: " + ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
                 for name, counts in skipped.items() if counts]
        total = sum(sum(counts.values()) for counts in skipped.values())
        log.warning("drinks: skipped %d label rows (%s) and dropped %d images left without boxes",
                    total, "; ".join(parts) or "none", dropped)
    return labels


# -- images ------------------------------------------------------------------------------------


def require_images(store: DataStore, names: list[str], listed_in: str) -> None:
    """A DataError naming the first of `names` (images listed in the file `listed_in`) missing from
    the drinks folder, how many more are, and how to get the set."""
    missing = [name for name in names if not (store.root / DRINKS_DIR / name).is_file()]
    if missing:
        more = f", as are {len(missing) - 1} more of its images" if len(missing) > 1 else ""
        raise DataError(f"{DRINKS_DIR}/{missing[0]} (named in {listed_in}{more}) not found in {store.root}; "
                        + DRINKS_MANUAL.format(root=store.root))


def check_jpg_set(folder: Path) -> None:
    """A DataError unless the jpgs of `folder` are the published drinks set (module docstring)."""
    names = sorted(p.name for p in folder.glob("*.jpg") if not p.name.startswith("._"))
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + bytes.fromhex(file_digest(folder / name, "sha256")))
    if digest.hexdigest() != JPG_SET_SHA256:
        raise DataError(
            f"the {len(names)} jpgs in {folder} are not the drinks set ({JPG_SET_SIZE} jpgs whose sha256 over "
            f"sorted name\\0sha256(file) is {JPG_SET_SHA256}, got {digest.hexdigest()}); they were kept as they are: "
            "replace them with a good copy of drinks.tar.gz, or set dataset.verify_checksums=false to use them anyway")


def jpeg_size(path: Path) -> tuple[int, int]:
    """(height, width) of a JPEG, from its header."""
    height, width, _ = tf.image.extract_jpeg_shape(tf.io.read_file(str(path))).numpy()
    return int(height), int(width)


def decode_images(paths: list[Path], size: tuple[int, int], strict: bool) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, 3) uint8 images resized to `size` (H, W), and each file's own (height, width), (N, 2).
    `strict`: every image must already have `size` (native loading), else a DataError names one that does not."""

    def load(path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        native = tf.shape(image)[:2]
        resized = lambda: tf.saturate_cast(tf.round(tf.image.resize(image, size, antialias=True)), tf.uint8)  # noqa: E731
        image = tf.cond(tf.reduce_all(native == size), lambda: image, resized)
        return tf.ensure_shape(image, (*size, 3)), native

    files = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    batches = files.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(_DECODE_BATCH).prefetch(1)
    images = np.empty((len(paths), *size, 3), np.uint8)
    natives = np.empty((len(paths), 2), np.int64)
    start = 0
    try:
        for batch, shapes in batches.as_numpy_iterator():
            images[start:start + len(batch)], natives[start:start + len(batch)] = batch, shapes
            start += len(batch)
    except tf.errors.OpError as exc:
        raise _unreadable(paths, exc) from None
    odd = np.flatnonzero((natives != size).any(axis=1))
    if strict and len(odd):
        h, w = natives[odd[0]]
        raise DataError(f"{paths[odd[0]]} is {h}x{w} pixels, unlike {paths[0].name} ({size[0]}x{size[1]}); "
                        f"set dataset.options.image_size=[height,width] to resize them all")
    return images, natives


def _unreadable(paths: list[Path], exc: tf.errors.OpError) -> DataError:
    """The DataError naming the first of `paths` that does not decode (found one by one: only after a failure)."""
    for path in paths:
        try:
            tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3)
        except tf.errors.OpError as bad:
            return DataError(one_line(f"{path} is not a readable JPEG ({bad.message}); replace it with a good copy"))
    return DataError(one_line(f"the drinks images could not be decoded: {exc.message}"))


def scaled_boxes(rows: list[list[float]], native: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(k, 5) float32 rows with xmin, xmax scaled from the `native` (height, width) to `size` and ymin, ymax too."""
    boxes = np.asarray(rows, np.float32)
    scale = np.array([size[1] / native[1]] * 2 + [size[0] / native[0]] * 2 + [1.0], np.float32)
    return boxes * scale


# -- the registered dataset ---------------------------------------------------------------------


@DATASETS.register("drinks", DatasetSpec(options=DrinksOptions, source="boxes"))
def load_drinks(store: DataStore, opts: DrinksOptions) -> BoxSplits:
    """The drinks set as `BoxSplits`: uint8 images and per image (k, 5) rows xmin, xmax, ymin, ymax, class."""
    size = image_size(opts)
    labels = read_split_labels(store)
    folder = store.root / DRINKS_DIR
    limits = {"train": opts.n_train, "test": opts.n_test}
    frames = {split: sorted(rows)[: limits[split]] for split, rows in labels.items()}
    for split, names in frames.items():
        require_images(store, names, DRINKS_LABELS[split])
    if store.verify:
        check_jpg_set(folder)
    target = size or jpeg_size(folder / frames["train"][0])
    loaded = {}
    for split, names in frames.items():
        images, natives = decode_images([folder / name for name in names], target, strict=size is None)
        loaded[split] = images, [scaled_boxes(labels[split][name], native, target) for name, native in zip(names, natives)]
    (x_train, boxes_train), (x_test, boxes_test) = loaded["train"], loaded["test"]
    return BoxSplits(x_train, boxes_train, x_test, boxes_test, DRINKS_CLASSES)
