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

Masks are class ids, uint8, never one-hot (1,051 one-hot 480x640x4 masks would be 1.2 GB). Filling
them at the native 480x640 takes seconds, so each load's masks are cached, compressed, in the
runner's cache dir (`ADL_RUNNER_CACHE_DIR`), keyed by the JSON's sha256 and the images' names and
sizes; they are resized with the images (`image_size`), nearest-neighbour, so a pixel's class is
never averaged into another.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import tensorflow as tf
from skimage.draw import polygon, polygon_perimeter

from adl_runner.data.drinks import DRINKS_CLASSES, DrinksOptions, check_jpg_set, decode_images, image_size, jpeg_size
from adl_runner.data.inputs.masks import MaskSplits
from adl_runner.data.store import DRINKS_DIR, DRINKS_MANUAL, DRINKS_POLYGONS, DataStore, file_digest, one_line
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


def _cached_masks(digest: str, names: list[str], natives: np.ndarray, polygons: dict[str, list[Polygon]]) -> np.ndarray:
    """(N, H, W) native-size masks of `names`, from the cache when this JSON and these images were filled before."""
    key = hashlib.sha256(json.dumps([digest, names, natives.tolist()]).encode()).hexdigest()[:24]
    path = user_cache_dir() / "drinks_masks" / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path) as cached:
                return cached["masks"]
        except (OSError, ValueError, KeyError):
            log.warning("drinks: the mask cache %s is unreadable; filling the polygons again", path)
    if len({tuple(n) for n in natives}) > 1:
        raise DataError(f"the drinks images differ in size ({natives[0][0]}x{natives[0][1]} and others); "
                        "set dataset.options.image_size=[height,width] to resize them all")
    size = (int(natives[0][0]), int(natives[0][1]))
    masks = np.stack([rasterise(polygons[name], size) for name in names]) if names else np.zeros((0, *size), np.uint8)
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
        missing = [name for name in names if not (folder / name).is_file()]
        if missing:
            more = f", as are {len(missing) - 1} more of its images" if len(missing) > 1 else ""
            raise DataError(f"{DRINKS_DIR}/{missing[0]} (named in {relpath}{more}) not found in {store.root}; "
                            + DRINKS_MANUAL.format(root=store.root))
        if not names:
            raise DataError(f"{relpath} lists no image")
        target = size or jpeg_size(folder / names[0])
        images, natives = decode_images([folder / name for name in names], target, strict=size is None)
        masks = _cached_masks(file_digest(path, "sha256"), names, natives, polygons)
        if masks.shape[1:] != target:
            masks = tf.image.resize(masks[..., None], target, method="nearest")[..., 0].numpy()
        loaded[split] = images, masks
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
