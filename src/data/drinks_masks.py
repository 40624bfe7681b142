"""The drinks segmentation set (book ch. 12): the drinks photos with their VIA polygons filled into
class masks, as `MaskSplits` for the `masks` input kind.

Datasets: `drinks_segmentation` (background plus the three drinks classes, what the book's
`generate_gt_segmentation.py` produced) and `drinks_foreground` (background / drink, the binary
stand-in for Pattanayak's Carvana masks). Both keep every image the JSON lists, also one without
polygons (all background), in file-name order.

Files: `<data_dir>/drinks/segmentation_{train,test}.json` (VIA: `_via_img_metadata[key]` with
`filename` and `regions[*]`: `shape_attributes.all_points_x / all_points_y` and
`region_attributes.Name`, the class id 1..3) beside the jpgs.

A polygon is filled with its outline, as OpenCV's `fillPoly` does, and a later polygon paints over
an earlier one. A region that is not a polygon of at least three points is skipped, and the skips
of a load are counted in one warning line; a class id outside 1..3 is an error naming the file,
image and region.

Masks are class ids, uint8, never one-hot (1,051 one-hot 480x640x4 masks would be 1.2 GB). Each is
filled at its image's native size and resized at once to the images' `image_size`, nearest-neighbour
(a pixel's class is never averaged into another), so memory holds the masks at the loaded size
plus one native mask. Filling them all takes seconds, so each load's masks are cached, compressed,
in the runner's cache dir (`ADL_RUNNER_CACHE_DIR`), keyed by the JSON's sha256, the images' names
and native sizes, and the loaded size.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
from skimage.draw import polygon, polygon_perimeter

from adl_runner.data.drinks import (
    DRINKS_CLASSES,
    DrinksOptions,
    check_jpg_set,
    decode_images,
    image_size,
    jpeg_size,
    require_images,
)
from adl_runner.data.inputs.masks import MaskSplits
from adl_runner.data.store import DRINKS_DIR, DRINKS_POLYGONS, DataStore, file_digest, one_line
from adl_runner.kernel.cachedir import user_cache_dir
from adl_runner.kernel.errors import DataError
from adl_runner.kernel.files import write_atomic
from adl_runner.kernel.registry import DATASETS
from adl_runner.kernel.specs import DatasetSpec

log = logging.getLogger(__name__)

FOREGROUND_CLASSES = ("background", "drink")
Polygon = tuple[int, list[float], list[float]]
"""(class id, xs, ys) of one region, in the image's native pixels."""


def read_polygons(path: Path, relpath: str, skipped: Counter[str]) -> dict[str, list[Polygon]]:
    """Each image's polygons in a VIA JSON, by file name; skipped regions are counted into `skipped`."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["_via_img_metadata"].values()
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(one_line(f"{relpath} is not a VIA project JSON with _via_img_metadata ({exc!r}); "
                                 "replace it with a good copy")) from None
    polygons: dict[str, list[Polygon]] = {}
    for entry in entries:
        name = entry.get("filename", "") if isinstance(entry, dict) else ""
        if not name or Path(name).name != name:
            raise DataError(f"{relpath}: an entry's filename '{name}' is not an image file name in {DRINKS_DIR}/")
        polygons[name] = [p for i, region in enumerate(entry.get("regions") or [])
                          if (p := _polygon(region, f"{relpath}, {name} region {i}", skipped)) is not None]
    return polygons


def _polygon(region: dict, where: str, skipped: Counter[str]) -> Polygon | None:
    shape = region.get("shape_attributes") or {}
    xs, ys = shape.get("all_points_x") or [], shape.get("all_points_y") or []
    if shape.get("name") != "polygon" or len(xs) != len(ys):
        skipped["regions that are not polygons"] += 1
        return None
    if len(xs) < 3:
        skipped["polygons of fewer than three points"] += 1
        return None
    name = str((region.get("region_attributes") or {}).get("Name", ""))
    if name not in {str(k) for k in range(1, len(DRINKS_CLASSES))}:
        valid = ", ".join(f"{k} ({DRINKS_CLASSES[k]})" for k in range(1, len(DRINKS_CLASSES)))
        raise DataError(f"{where}: class '{name}' is not a drinks class; valid: {valid}")
    return int(name), xs, ys


def rasterise(polygons: list[Polygon], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) uint8 class ids: each polygon filled with its outline, later ones over earlier ones."""
    mask = np.zeros(shape, np.uint8)
    for cls, xs, ys in polygons:
        for fill in (polygon, polygon_perimeter):
            rows, cols = fill(ys, xs, shape)
            mask[rows, cols] = cls
    return mask


def nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`mask` resized to `size` (H, W) nearest-neighbour at pixel centres, as tf.image.resize(method="nearest")."""
    rows = ((np.arange(size[0]) + 0.5) * mask.shape[0] / size[0]).astype(int)
    cols = ((np.arange(size[1]) + 0.5) * mask.shape[1] / size[1]).astype(int)
    return mask[np.ix_(rows, cols)]


def cached_masks(digest: str, names: list[str], natives: np.ndarray, polygons: dict[str, list[Polygon]],
                 size: tuple[int, int]) -> np.ndarray:
    """(N, H, W) masks of `names` at `size`, from the cache when this JSON and these images were filled
    at this size before. Each mask is filled at its image's native size and resized at once, so memory
    holds one native mask at a time."""
    key = hashlib.sha256(json.dumps([digest, names, natives.tolist(), list(size)]).encode()).hexdigest()[:24]
    path = user_cache_dir() / "drinks_masks" / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path) as cached:
                return cached["masks"]
        except (OSError, ValueError, KeyError):
            log.warning("drinks: the mask cache %s is unreadable; filling the polygons again", path)
    masks = np.empty((len(names), *size), np.uint8)
    for i, (name, native) in enumerate(zip(names, natives)):
        masks[i] = nearest(rasterise(polygons[name], (int(native[0]), int(native[1]))), size)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: tmp.write_bytes(_npz_bytes(masks)))
    return masks


def _npz_bytes(masks: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, masks=masks)
    return buffer.getvalue()


def load_masks(store: DataStore, opts: DrinksOptions) -> MaskSplits:
    """The drinks images and their (N, H, W) class-id masks, both at `opts.image_size` (module docstring)."""
    size = image_size(opts)
    folder = store.root / DRINKS_DIR
    if store.verify:
        check_jpg_set(folder)
    skipped: dict[str, Counter[str]] = {}
    loaded = {}
    for split, relpath in DRINKS_POLYGONS.items():
        path = store.file(relpath)
        polygons = read_polygons(path, relpath, skipped.setdefault(Path(relpath).name, Counter()))
        names = sorted(polygons)[: opts.n_train if split == "train" else opts.n_test]
        require_images(store, names, relpath)
        if not names:
            raise DataError(f"{relpath} lists no image")
        target = size or jpeg_size(folder / names[0])
        images, natives = decode_images([folder / name for name in names], target, strict=size is None)
        loaded[split] = images, cached_masks(file_digest(path, "sha256"), names, natives, polygons, target)
    if any(skipped.values()):
        parts = [f"{name}: " + ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
                 for name, counts in skipped.items() if counts]
        log.warning("drinks: skipped %d polygon regions (%s)", sum(sum(c.values()) for c in skipped.values()), "; ".join(parts))
    (x_train, masks_train), (x_test, masks_test) = loaded["train"], loaded["test"]
    return MaskSplits(x_train, masks_train, x_test, masks_test, DRINKS_CLASSES)


@DATASETS.register("drinks_segmentation", DatasetSpec(options=DrinksOptions, source="masks"))
def load_drinks_segmentation(store: DataStore, opts: DrinksOptions) -> MaskSplits:
    """The drinks photos with background / Water / Soda / Juice masks (book ch. 12)."""
    return load_masks(store, opts)


@DATASETS.register("drinks_foreground", DatasetSpec(options=DrinksOptions, source="masks"))
def load_drinks_foreground(store: DataStore, opts: DrinksOptions) -> MaskSplits:
    """The drinks photos with background / drink masks: a binary foreground set (Pattanayak's Listing 6-4
    trains on Carvana's car masks, which are not available here)."""
    splits = load_masks(store, opts)
    return MaskSplits(splits.x_train, np.minimum(splits.masks_train, 1), splits.x_test, np.minimum(splits.masks_test, 1),
                      FOREGROUND_CLASSES)
