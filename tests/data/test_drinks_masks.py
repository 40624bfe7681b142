"""The drinks mask datasets on fake files in the real format (and, slow, on the real set), the polygon
filling, and the synthetic_shapes dataset."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from adl_runner.data.drinks import DRINKS_CLASSES, DrinksOptions
from adl_runner.data.drinks_masks import FOREGROUND_CLASSES, load_drinks_foreground, load_drinks_segmentation, rasterise
from adl_runner.data.store import DataStore
from adl_runner.data.synthetic_boxes import SyntheticShapeOptions, load_synthetic_boxes, load_synthetic_shapes, write_fake_drinks
from adl_runner.kernel.cachedir import CACHE_DIR_VARIABLE
from adl_runner.kernel.errors import DataError
from adl_runner.kernel.registry import DATASETS


@pytest.fixture
def drinks(tmp_path: Path) -> Path:
    """A data root holding fake drinks: 6 train and 3 test 60x80 jpgs with their CSVs and polygon JSONs."""
    write_fake_drinks(tmp_path / "data", n_train=6, n_test=3, seed=1)
    return tmp_path / "data"


def load(root: Path, **options) -> object:
    return load_drinks_segmentation(DataStore(root, verify=False), DrinksOptions(**options))


def edit_regions(root: Path, split: str, edit) -> None:
    path = root / "drinks" / f"segmentation_{split}.json"
    document = json.loads(path.read_text())
    edit(next(iter(document["_via_img_metadata"].values()))["regions"])
    path.write_text(json.dumps(document))


def test_the_mask_datasets_are_registered_as_mask_sources() -> None:
    for name in ("drinks_segmentation", "drinks_foreground", "synthetic_shapes"):
        assert DATASETS.get(name).spec.source == "masks"


def test_a_polygon_is_filled_with_its_outline_and_later_ones_paint_over() -> None:
    triangle = (2, [1, 5, 1], [1, 1, 5])  # a right triangle: (x, y) = (1, 1), (5, 1), (1, 5)
    mask = rasterise([triangle], (8, 8))
    expected = np.zeros((8, 8), np.uint8)
    for y in range(1, 6):
        expected[y, 1:7 - y] = 2  # the pixels on or below the hypotenuse x + y = 6
    assert np.array_equal(mask, expected)
    square = (3, [0, 2, 2, 0], [0, 0, 2, 2])
    over = rasterise([triangle, square], (8, 8))
    assert (over[:3, :3] == 3).all() and over[1, 4] == 2 and over[7, 7] == 0


def test_masks_hold_the_polygons_classes_at_the_image_size(drinks: Path) -> None:
    splits = load(drinks)
    assert splits.class_names == DRINKS_CLASSES
    assert splits.x_train.shape == (6, 60, 80, 3) and splits.masks_train.shape == (6, 60, 80)
    assert splits.masks_test.dtype == np.uint8 and set(np.unique(splits.masks_train)) <= {0, 1, 2, 3}
    # the shapes are drawn in their class colour: a masked pixel's colour is its class's
    boxes = load_synthetic_boxes(None, SyntheticShapeOptions(shape=[60, 80, 3], n_train=6, n_test=3, classes=3, seed=1))
    for image_boxes, mask in zip(boxes.boxes_train, splits.masks_train):
        for x0, x1, y0, y1, cls in image_boxes.astype(int):
            centre = mask[(y0 + y1) // 2, (x0 + x1) // 2]
            assert centre == cls
    half = load(drinks, image_size=[30, 40], n_train=2)
    assert half.masks_train.shape == (2, 30, 40)
    assert np.array_equal(half.masks_train[0], splits.masks_train[0][1::2, 1::2])  # nearest (pixel centres), never averaged


def test_masks_are_cached_and_the_cache_is_keyed_by_the_json(drinks: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "cache"))
    first = load(drinks)
    cached = sorted((tmp_path / "cache" / "drinks_masks").glob("*.npz"))
    assert len(cached) == 2  # one per split
    assert np.array_equal(load(drinks).masks_train, first.masks_train)
    edit_regions(drinks, "train", lambda regions: regions.clear())
    assert not load(drinks).masks_train[0].any()  # a changed JSON is filled again
    assert len(list((tmp_path / "cache" / "drinks_masks").glob("*.npz"))) == 3
    cached[0].write_bytes(b"spoilt")  # an unreadable cache file is filled again
    assert np.array_equal(load(drinks).masks_test, first.masks_test)


def test_foreground_is_one_class(drinks: Path) -> None:
    splits = load_drinks_foreground(DataStore(drinks, verify=False), DrinksOptions())
    assert splits.class_names == FOREGROUND_CLASSES
    assert np.array_equal(splits.masks_train, np.minimum(load(drinks).masks_train, 1))


def test_odd_regions_are_skipped_and_counted_in_one_warning(drinks: Path, caplog: pytest.LogCaptureFixture) -> None:
    def spoil(regions: list) -> None:
        regions.append({"shape_attributes": {"name": "polygon", "all_points_x": [1, 5], "all_points_y": [1, 5]},
                        "region_attributes": {"Name": "1"}})
        regions.append({"shape_attributes": {"name": "rect", "x": 1, "y": 1}, "region_attributes": {"Name": "1"}})

    edit_regions(drinks, "train", spoil)
    with caplog.at_level(logging.WARNING):
        load(drinks)
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert line == ("drinks: skipped 2 polygon regions (segmentation_train.json: 1 polygons of fewer than three points, "
                    "1 regions that are not polygons)")


@pytest.mark.parametrize(("spoil", "fragment"), [
    (lambda regions: regions[0]["region_attributes"].update(Name="7"),
     "drinks/segmentation_train.json, 0000000.jpg region 0: class '7' is not a drinks class; valid: 1 (Water), 2 (Soda), 3 (Juice)"),
    (lambda regions: regions[0]["region_attributes"].pop("Name"), "region 0: class '' is not a drinks class"),
])
def test_a_class_outside_the_list_is_one_error_line(drinks: Path, spoil, fragment: str) -> None:
    edit_regions(drinks, "train", spoil)
    with pytest.raises(DataError) as excinfo:
        load(drinks)
    assert fragment in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_unreadable_or_missing_files_are_named(drinks: Path) -> None:
    (drinks / "drinks" / "segmentation_test.json").write_text("{not json")
    with pytest.raises(DataError, match=r"drinks/segmentation_test.json is not a VIA project JSON"):
        load(drinks)
    (drinks / "drinks" / "segmentation_test.json").unlink()
    with pytest.raises(DataError, match=r"segmentation_test.json"):
        load(drinks)
    write_fake_drinks(drinks, n_train=6, n_test=3, seed=1)
    (drinks / "drinks" / "0000002.jpg").unlink()
    with pytest.raises(DataError, match=r"drinks/0000002.jpg \(named in drinks/segmentation_train.json\) not found"):
        load(drinks)


def test_synthetic_shapes_are_the_synthetic_boxes_images_with_their_masks() -> None:
    opts = SyntheticShapeOptions(shape=[32, 40, 3], n_train=4, n_test=2, seed=3)
    shapes, boxes = load_synthetic_shapes(None, opts), load_synthetic_boxes(None, opts)
    assert np.array_equal(shapes.x_train, boxes.x_train) and shapes.class_names == boxes.class_names
    for mask, rows in zip(shapes.masks_train, boxes.boxes_train):
        assert set(np.unique(mask)) == {0, *rows[:, 4].astype(int)}
    binary = load_synthetic_shapes(None, SyntheticShapeOptions(shape=[32, 40, 3], n_train=4, n_test=2, seed=3, foreground=True))
    assert binary.class_names == ("background", "object") and np.array_equal(binary.masks_train, np.minimum(shapes.masks_train, 1))


@pytest.mark.slow
def test_the_real_drinks_masks_at_a_reduced_size() -> None:
    """About 15 s the first time (every polygon filled at 480x640), then from the cache."""
    root = Path(os.environ.get("RUNNER_DATA_DIR", "data"))
    if not (root / "drinks" / "segmentation_train.json").is_file():
        pytest.skip(f"no drinks set in RUNNER_DATA_DIR ({root})")
    splits = load_drinks_segmentation(DataStore(root), DrinksOptions(image_size=[120, 160]))
    assert splits.masks_train.shape == (1000, 120, 160) and splits.masks_test.shape == (51, 120, 160)
    shares = np.bincount(splits.masks_train.ravel(), minlength=4) / splits.masks_train.size
    assert 0.85 < shares[0] < 0.9 and all(0.02 < s < 0.07 for s in shares[1:])
