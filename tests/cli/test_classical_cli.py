"""The classical segmentations through the real `run`: each on scikit-image's coins writes its
figures and metrics; `image=` takes a user's file; every bad input is one line, exit 2, no run dir."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FIGURES = ("segmented.png", "overlay.png", "histogram.png")


@pytest.mark.parametrize(
    ("overrides", "threshold"),
    [
        (("model=otsu",), 107.0),
        (("model=otsu", "model.variant=book"), 89.0),
        (("model=threshold_hist", "model.rule=valley"), 143.0),
        (("model=watershed",), 107.0),
        (("model=kmeans_segmentation",), None),
    ],
)
def test_each_method_on_coins_writes_its_figures_and_scores(run_cli, overrides: tuple[str, ...], threshold: float | None) -> None:
    result = run_cli(*overrides)
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["status"] == "completed" and metrics["segments"] >= 20
    assert metrics.get("threshold") == threshold
    assert 0.0 <= metrics["adapted_rand_error"] < 1.0
    summary = (result.run_dir / "summary.md").read_text()  # the end block of a no-training-loop run
    assert "| segments | " in summary and "| adapted_rand_error | " in summary and "`overlay.png`" in summary
    assert all((result.run_dir / name).is_file() for name in FIGURES)
    with Image.open(result.run_dir / "segmented.png") as segmented:
        assert segmented.size == (384, 303)  # the coins' own pixels
    assert not list((result.run_dir / "checkpoints").glob("*.keras"))


def test_image_is_any_file_and_a_grey_one_is_clustered_on_its_grey_level(run_cli, tmp_path: Path) -> None:
    rgb = np.zeros((24, 36, 3), dtype=np.uint8)
    rgb[:, 12:24] = (220, 40, 40)
    rgb[:, 24:] = (40, 40, 220)
    Image.fromarray(rgb).save(tmp_path / "bands.png")
    result = run_cli("model=kmeans_segmentation", f"image={tmp_path / 'bands.png'}")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["segments"] == 3 and metrics["clusters"] == 3 and "adapted_rand_error" not in metrics
    Image.fromarray(rgb[..., 0]).save(tmp_path / "grey.png")
    grey = run_cli("model=kmeans_segmentation", f"image={tmp_path / 'grey.png'}", run_dir=tmp_path / "grey")
    assert grey.code == 0 and "the image is greyscale; K-means clusters its grey level" in grey.err + grey.out
    assert json.loads((tmp_path / "grey" / "metrics.json").read_text())["clusters"] == 3  # grey levels 0, 40, 220
    run_cli("model=kmeans_segmentation", "model.k=4", f"image={tmp_path / 'grey.png'}", run_dir=tmp_path / "k4").assert_error(
        "k=4 is more than the image's 3 distinct feature vectors", no_run_dir=True)


def test_multi_otsu_splits_three_grey_levels_between_their_modes(run_cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(30, 51, (60, 90))
    grey[10:25, 10:30] = rng.integers(110, 131, (15, 20))  # one mid-grey patch
    grey[35:50, 50:80] = rng.integers(200, 221, (15, 30))  # one bright patch
    grey[35:50, 10:25] = rng.integers(200, 221, (15, 15))  # and another
    Image.fromarray(grey.astype(np.uint8)).save(tmp_path / "levels.png")
    result = run_cli("model=otsu", "model.classes=3", f"image={tmp_path / 'levels.png'}")
    assert result.code == 0, result.err
    metrics = result.metrics()
    low, high = metrics["thresholds"]
    assert 50 <= low < 110 and 130 <= high < 200 and "threshold" not in metrics  # in the gaps between the modes
    assert metrics["segments"] == 3  # the mid-grey patch and the two bright ones, each a class region
    with Image.open(result.run_dir / "segmented.png") as segmented:
        assert sorted(np.unique(np.asarray(segmented.convert("L")))) == [0, 127, 255]  # three classes, evenly spaced


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (("model=otsu", "image={missing}"), ("nope.png does not exist",)),
        (("model=watershed", "image={not_an_image}"), ("could not be read as an image",)),
        (("model=otsu", "image={folder}"), ("is a folder; model 'otsu' segments one image file",)),
        (("model=kmeans_segmentation", "model.k=1"), ("model.k must be >= 2, got 1",)),
        (("model=kmeans_segmentation", "model.k=116353"), ("k=116353 is more than the image's 116352 pixels",)),
        (("model=kmeans_segmentation", "model.features=xyz"), ("model.features must be rgb or rgb+xy, got 'xyz'",)),
        (("model=kmeans_segmentation", "model.impl=sklearn"), ("model.impl must be standard or book, got 'sklearn'",)),
        (("model=threshold_hist", "model.threshold=256"), ("model.threshold must be in [0, 255] (a grey level), got 256",)),
        (("model=threshold_hist", "model.threshold=-1"), ("got -1",)),
        (("model=threshold_hist", "model.rule=otsu"), ("model.rule must be fixed, midpoint or valley, got 'otsu'",)),
        (("model=otsu", "model.variant=sklearn"), ("model.variant must be standard or book, got 'sklearn'",)),
        (("model=otsu", "model.classes=1"), ("model.classes must be in [2, 5], got 1",)),
        (("model=otsu", "model.classes=3", "model.variant=book"), ("variant has one threshold (model.classes=2)",)),
        (("model=watershed", "model.objects=grey"), ("model.objects must be bright or dark, got 'grey'",)),
        (("model=otsu", "dataset=mnist"), ("model 'otsu' has no training loop and does not read dataset=",)),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_run_dir(run_cli, tmp_path: Path, overrides: tuple[str, ...],
                                                       fragments: tuple[str, ...]) -> None:
    (tmp_path / "bad.jpg").write_text("not an image")
    (tmp_path / "folder").mkdir()
    paths = {"missing": tmp_path / "nope.png", "not_an_image": tmp_path / "bad.jpg", "folder": tmp_path / "folder"}
    run_cli(*(o.format(**paths) for o in overrides)).assert_error(*fragments, no_run_dir=True)


def test_image_is_refused_where_nothing_reads_it(run_cli) -> None:
    run_cli("model=mlp", "dataset=mnist", "debug=smoke", "image=photo.jpg").assert_error(
        "image= is not read by task=train of model 'mlp'", "task=predict", "otsu", no_run_dir=True)
