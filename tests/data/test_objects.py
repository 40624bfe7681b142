"""Single-object crops (drinks_objects, synthetic_objects): the crop window, one example per labelled
object with its box inside the crop, seeded and prefix-stable, batched by the boxes kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adl_runner.data.drinks import DRINKS_CLASSES
from adl_runner.data.inputs import make_inputs
from adl_runner.data.objects import (
    DrinksObjectOptions,
    SyntheticObjectOptions,
    crop_window,
    load_drinks_objects,
    load_synthetic_objects,
)
from adl_runner.data.pipeline import PipelineOptions
from adl_runner.data.splits import held_out
from adl_runner.data.store import DataStore
from adl_runner.data.synthetic_boxes import write_fake_drinks
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import DATASETS


def test_the_window_holds_the_box_at_the_crops_aspect_and_stays_in_the_image() -> None:
    box = np.array([100, 140, 50, 130, 1], np.float32)  # 40 wide, 80 tall
    # the longer side at aspect 1 is the height: 80 x 1.5 = 120 square, the box at the free space's start
    assert crop_window(box, (480, 640), 1.0, 0.5, (0.0, 0.0)) == (100, 220, 50, 170)
    assert crop_window(box, (480, 640), 1.0, 0.5, (1.0, 1.0)) == (20, 140, 10, 130)
    # shifted inside the image at its border, clipped where larger than it
    assert crop_window(np.array([0, 30, 0, 20, 1]), (480, 640), 1.0, 1.0, (1.0, 1.0)) == (0, 60, 0, 60)
    assert crop_window(np.array([0, 60, 10, 40, 1]), (50, 64), 1.0, 1.0, (0.5, 0.5)) == (0, 64, 0, 50)


def test_synthetic_objects_give_one_box_per_crop_seeded_and_prefix_stable() -> None:
    opts = SyntheticObjectOptions(shape=[48, 64, 3], n_train=6, n_test=3, max_objects=3, image_size=[24, 32], seed=2)
    a, b = load_synthetic_objects(None, opts), load_synthetic_objects(None, opts)
    assert a.x_train.shape[1:] == (24, 32, 3) and len(a.x_train) == len(a.boxes_train) >= 6
    np.testing.assert_array_equal(a.x_train, b.x_train)
    for rows in (*a.boxes_train, *a.boxes_test):
        assert rows.shape == (1, 5) and 1 <= rows[0, 4] <= 3
        xmin, xmax, ymin, ymax = rows[0, :4]
        assert -1e-4 <= xmin < xmax <= 32 + 1e-4 and -1e-4 <= ymin < ymax <= 24 + 1e-4
    fewer = load_synthetic_objects(None, SyntheticObjectOptions(**{**vars(opts), "n_train": 3}))
    np.testing.assert_array_equal(fewer.x_train, a.x_train[: len(fewer.x_train)])
    other = load_synthetic_objects(None, SyntheticObjectOptions(**{**vars(opts), "margin": [0.8, 0.8]}))
    assert not np.array_equal(other.boxes_train[0], a.boxes_train[0])


def test_validation_holds_out_whole_photos_with_all_their_crops() -> None:
    crops = load_synthetic_objects(None, SyntheticObjectOptions(shape=[48, 64, 3], n_train=8, n_test=2, max_objects=3,
                                                                image_size=[24, 32]))
    photos = crops.groups
    assert len(photos) == len(crops.x_train) > 8 and sorted(set(photos)) == list(range(8))  # several crops a photo
    fit, validation = held_out(crops, 3)
    held = [i for i in range(len(photos)) if photos[i] in set(photos) - set(fit.groups)]
    assert len(set(photos) - set(fit.groups)) == 3 and len(validation.x_test) == len(held)  # 3 photos, every crop
    np.testing.assert_array_equal(validation.x_test, crops.x_train[held])
    assert len(fit.x_train) + len(held) == len(photos) and len(fit.groups) == len(fit.x_train)
    with pytest.raises(ConfigError, match=r"training split has 8 photos \(each with all of its crops\) \(valid: 1..7"):
        held_out(crops, 8)


def test_drinks_objects_crop_every_labelled_drink_of_the_drinks_loader(tmp_path: Path) -> None:
    write_fake_drinks(tmp_path, n_train=4, n_test=2, seed=3)
    objects = load_drinks_objects(DataStore(tmp_path, verify=False), DrinksObjectOptions(source_size=None, image_size=[32, 32]))
    n_rows = len((tmp_path / "drinks" / "labels_train.csv").read_text().splitlines()) - 1  # header
    assert len(objects.x_train) == n_rows and objects.class_names == DRINKS_CLASSES
    pipeline = make_inputs("boxes", objects, PipelineOptions(view="image", batch_size=4, seed=0))
    images, targets = next(iter(pipeline.train(0, 1)))
    assert images.shape == (4, 32, 32, 3) and targets["boxes"].shape == (4, 1, 4) and targets["classes"].shape == (4, 1)
    assert DATASETS.get("drinks_objects").spec.source == DATASETS.get("synthetic_objects").spec.source == "boxes"


@pytest.mark.parametrize(("options", "fragment"), [
    ({"image_size": [4, 32]}, "dataset.options.image_size must be [height, width] of at least 8 pixels each"),
    ({"margin": [0.5, 0.1]}, "dataset.options.margin must be [low, high] with 0 <= low <= high, got [0.5, 0.1]"),
])
def test_bad_crop_options_are_one_line_errors(options: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        load_synthetic_objects(None, SyntheticObjectOptions(**options))
