"""The drinks loader on fake files in the real format (and, slow, on the real set), and the
synthetic_boxes dataset."""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from adl_runner.data.drinks import DRINKS_CLASSES, DrinksOptions, check_jpg_set, load_drinks
from adl_runner.data.store import DataStore
from adl_runner.data.synthetic_boxes import (
    PALETTE,
    SyntheticBoxOptions,
    class_names,
    load_synthetic_boxes,
    write_fake_drinks,
)
from adl_runner.kernel.errors import ConfigError, DataError
from adl_runner.kernel.registry import DATASETS

HEADER = "frame,xmin,xmax,ymin,ymax,class_id"


@pytest.fixture
def drinks(tmp_path: Path) -> Path:
    """A data root holding fake drinks: 6 train and 3 test 60x80 jpgs with their CSVs."""
    write_fake_drinks(tmp_path, n_train=6, n_test=3, seed=1)
    return tmp_path


def csv_rows(root: Path, split: str) -> list[list[str]]:
    with (root / "drinks" / f"labels_{split}.csv").open() as f:
        return list(csv.reader(f))[1:]


def append(root: Path, split: str, *lines: str) -> None:
    with (root / "drinks" / f"labels_{split}.csv").open("a") as f:
        f.write("".join(f"{line}\n" for line in lines))


def load(root: Path, **options) -> object:
    return load_drinks(DataStore(root, verify=False), DrinksOptions(**options))


def one_line(excinfo: pytest.ExceptionInfo) -> str:
    assert "\n" not in str(excinfo.value), "errors must be one line"
    return str(excinfo.value)


def test_drinks_is_registered_as_a_box_source_with_its_config() -> None:
    assert DATASETS.get("drinks").spec.source == DATASETS.get("synthetic_boxes").spec.source == "boxes"
    for name in ("drinks", "synthetic_boxes"):
        text = (Path(__file__).resolve().parents[2] / "conf" / "dataset" / f"{name}.yaml").read_text()
        assert f"name: {name}" in text


def test_images_and_boxes_are_what_the_csvs_say(drinks: Path) -> None:
    splits = load(drinks)
    assert splits.x_train.shape == (6, 60, 80, 3) and splits.x_test.shape == (3, 60, 80, 3)
    assert splits.x_train.dtype == np.uint8 and splits.class_names == DRINKS_CLASSES
    rows = csv_rows(drinks, "train")
    first = [[float(v) for v in row[1:]] for row in rows if row[0] == "0000000.jpg"]
    assert np.array_equal(splits.boxes_train[0], np.asarray(first, np.float32))
    assert sum(len(b) for b in splits.boxes_train) == len(rows)
    assert all(b.shape[1] == 5 and b.dtype == np.float32 and set(b[:, 4]) <= {1, 2, 3} for b in splits.boxes_test)


def test_image_size_resizes_once_and_scales_the_boxes(drinks: Path) -> None:
    native, half = load(drinks), load(drinks, image_size=[30, 40], n_train=2, n_test=1)
    assert half.x_train.shape == (2, 30, 40, 3) and half.x_test.shape == (1, 30, 40, 3)
    assert np.allclose(half.boxes_train[1], native.boxes_train[1] * [0.5, 0.5, 0.5, 0.5, 1])
    # antialiased: the half-size image is close to the mean of each 2x2 block of the native one
    blocks = native.x_train[1].reshape(30, 2, 40, 2, 3).mean(axis=(1, 3))
    assert np.abs(half.x_train[1].astype(float) - blocks).mean() < 4


def test_skipped_rows_and_dropped_images_are_one_warning(drinks: Path, caplog: pytest.LogCaptureFixture) -> None:
    before = load(drinks)
    append(drinks, "train", "0000001.jpg,1,2,3,4,1,extra", "0000001.jpg,5,5,1,9,2", "0000002.jpg,1,9,1,9,0",
           "0000002.jpg,9,1,1,9,3", "0000099.jpg,1,9,1,9,0", "")
    append(drinks, "test", "0010000.jpg,1,9,7,7,1")
    with caplog.at_level(logging.WARNING):
        after = load(drinks)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "drinks: skipped 6 label rows (labels_train.csv: 2 boxes of class 0 (background), 2 boxes of zero or "
        "negative width or height, 1 rows without 6 fields; labels_test.csv: 1 boxes of zero or negative width or "
        "height) and dropped 1 images left without boxes"]
    assert len(after.x_train) == len(before.x_train)  # 0000099.jpg had no box left: never looked for
    for b, a in zip(before.boxes_train + before.boxes_test, after.boxes_train + after.boxes_test):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("0000001.jpg,1,x2,3,4,1", "drinks/labels_train.csv row {row}: xmax 'x2' is not a number"),
        ("0000001.jpg,1,2,3,nan,1", "drinks/labels_train.csv row {row}: ymax 'nan' is not a number"),
        ("0000001.jpg,1,9,3,9,4", "drinks/labels_train.csv row {row}: class_id '4' is not a drinks class; valid: "
                                  "0 (background), 1 (Water), 2 (Soda), 3 (Juice)"),
        ("0000001.jpg,1,9,3,9,1.5", "class_id '1.5' is not a drinks class"),
        ("../etc/passwd,1,9,3,9,1", "row {row}: frame '../etc/passwd' is not an image file name in drinks/"),
    ],
)
def test_an_unreadable_row_is_a_one_line_error_naming_file_and_row(drinks: Path, line: str, fragment: str) -> None:
    row = len(csv_rows(drinks, "train")) + 2  # the header is row 1
    append(drinks, "train", line)
    with pytest.raises(DataError) as excinfo:
        load(drinks)
    assert fragment.format(row=row) in one_line(excinfo)


def test_a_header_without_a_column_is_refused(drinks: Path) -> None:
    path = drinks / "drinks" / "labels_test.csv"
    path.write_text(path.read_text().replace(HEADER, "frame,xmin,xmax,ymin,ymax,class"))
    with pytest.raises(DataError) as excinfo:
        load(drinks)
    assert one_line(excinfo) == f"drinks/labels_test.csv row 1: the header lacks class_id; expected {HEADER}"


def test_missing_files_are_named_with_where_to_get_the_set(drinks: Path) -> None:
    (drinks / "drinks" / "0000003.jpg").unlink()
    with pytest.raises(DataError) as excinfo:
        load(drinks)
    message = one_line(excinfo)
    assert message.startswith(f"drinks/0000003.jpg (named in drinks/labels_train.csv) not found in {drinks};")
    assert "https://bit.ly/adl2-ssd" in message and f"{drinks}/drinks/" in message
    assert load(drinks, n_train=3).x_train.shape[0] == 3  # the first three do not need it
    (drinks / "drinks" / "labels_train.csv").unlink()
    with pytest.raises(DataError) as excinfo:
        load(drinks)
    assert one_line(excinfo).startswith(f"drinks/labels_train.csv not found in {drinks}; the drinks dataset cannot be "
                                        f"downloaded automatically")


def test_unreadable_or_odd_sized_images_are_named(drinks: Path) -> None:
    write_fake_drinks(drinks / "other", n_train=1, n_test=1, size=(30, 40))
    (drinks / "other" / "drinks" / "0000000.jpg").replace(drinks / "drinks" / "0000002.jpg")
    with pytest.raises(DataError, match="0000002.jpg is 30x40 pixels, unlike 0000000.jpg \\(60x80\\); set dataset.options.image_size"):
        load(drinks)
    assert load(drinks, image_size=[60, 80]).x_train.shape == (6, 60, 80, 3)  # resized like the rest
    (drinks / "drinks" / "0000004.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError) as excinfo:
        load(drinks, image_size=[60, 80])
    assert "0000004.jpg is not a readable JPEG" in one_line(excinfo)


def test_verified_loads_check_the_label_files_and_the_jpg_set(drinks: Path) -> None:
    with pytest.raises(DataError, match="checksum mismatch for .*labels_train.csv"):
        load_drinks(DataStore(drinks), DrinksOptions())
    with pytest.raises(DataError) as excinfo:
        check_jpg_set(drinks / "drinks")
    assert "the 9 jpgs in" in one_line(excinfo) and "not the drinks set (1052 jpgs" in one_line(excinfo)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"image_size": [60]}, "image_size must be [height, width]"), ({"n_test": 0}, "n_test must be a positive integer"),
])
def test_bad_options_are_config_errors(drinks: Path, options: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("[", "\\[")):
        load(drinks, **options)


@pytest.mark.slow
def test_the_real_drinks_set_at_a_reduced_size(caplog: pytest.LogCaptureFixture) -> None:
    """About 4 s: every jpg hashed and decoded. The CSVs hold 2780 / 146 boxes, all kept."""
    root = Path(os.environ.get("RUNNER_DATA_DIR", "data"))
    if not (root / "drinks" / "labels_train.csv").is_file():
        pytest.skip(f"no drinks set in RUNNER_DATA_DIR ({root})")
    with caplog.at_level(logging.WARNING):
        splits = load_drinks(DataStore(root), DrinksOptions(image_size=[120, 160]))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # no row skipped
    assert splits.x_train.shape == (996, 120, 160, 3) and splits.x_test.shape == (51, 120, 160, 3)
    assert sum(len(b) for b in splits.boxes_train) == 2780 and sum(len(b) for b in splits.boxes_test) == 146
    assert max(len(b) for b in splits.boxes_train) == 3 and max(len(b) for b in splits.boxes_test) == 4
    every = np.concatenate(splits.boxes_train)
    assert np.bincount(every[:, 4].astype(int)).tolist() == [0, 923, 924, 933]
    assert every[:, :2].max() <= 160 and every[:, 2:4].max() <= 120


# -- synthetic_boxes -----------------------------------------------------------------------------


def test_synthetic_boxes_are_a_function_of_the_seed() -> None:
    opts = SyntheticBoxOptions(shape=[32, 40, 3], n_train=8, n_test=4, seed=3)
    a, b = load_synthetic_boxes(None, opts), load_synthetic_boxes(None, opts)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.x_test, b.x_test)
    assert all(np.array_equal(x, y) for x, y in zip(a.boxes_train + a.boxes_test, b.boxes_train + b.boxes_test))
    fewer = load_synthetic_boxes(None, SyntheticBoxOptions(shape=[32, 40, 3], n_train=3, n_test=4, seed=3))
    assert np.array_equal(fewer.x_train, a.x_train[:3])  # a smaller split is a prefix
    other = load_synthetic_boxes(None, SyntheticBoxOptions(shape=[32, 40, 3], n_train=8, n_test=4, seed=4))
    assert not np.array_equal(other.x_train, a.x_train)


def test_synthetic_boxes_frame_their_shapes() -> None:
    s = load_synthetic_boxes(None, SyntheticBoxOptions(shape=[48, 64, 3], n_train=32, n_test=4, classes=4))
    assert s.class_names == class_names(4) == ("background", "red rectangle", "green ellipse", "blue rectangle",
                                                "yellow ellipse")
    counts = [len(b) for b in s.boxes_train]
    assert min(counts) >= 1 and max(counts) <= 3
    colours = list(PALETTE.values())
    for image, boxes in zip(s.x_train, s.boxes_train):
        for x0, x1, y0, y1, cls in boxes.astype(int):
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 48 and 1 <= cls <= 4
            # an object's centre pixel has its class colour (overlaps never reach a centre)
            assert tuple(image[(y0 + y1) // 2, (x0 + x1) // 2]) == colours[cls - 1]
    gray = load_synthetic_boxes(None, SyntheticBoxOptions(shape=[32, 40, 1], n_train=2, n_test=1))
    assert gray.x_train.shape == (2, 32, 40, 1)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"shape": [32, 40, 2]}, "shape must be [H, W, C]"), ({"classes": 9}, "classes must be in 1..8"),
    ({"max_objects": 0}, "must be >= 1"),
])
def test_bad_synthetic_box_options_are_config_errors(options: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("[", "\\[")):
        load_synthetic_boxes(None, SyntheticBoxOptions(**options))
