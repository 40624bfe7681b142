"""FCN through the real `run` entry point on small generated masks (synthetic_shapes at 32x32,
ResNet11v2 via model.backbone_n=1): training with the segmentation evaluator, task=evaluate and
task=predict on `ckpt=<run dir>`, a size the pyramid cannot take, and exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FAST = ("model=fcn", "model.backbone_n=1", "logger.tensorboard=false")
TINY = ("dataset=synthetic_shapes", "dataset.options.shape=[32,32,3]", "dataset.options.n_train=12",
        "dataset.options.n_test=4", "dataset.validation=4")
METRICS = ("miou", "pixel_accuracy", "mean_iou")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run dir (module-wide: one FCN training is the slow part of every test here)."""
    return tmp_path_factory.mktemp("fcn") / "train"


def test_fcn_trains_evaluates_and_predicts(run_cli, trained: Path, tmp_path: Path) -> None:
    result = run_cli(*FAST, *TINY, "trainer.epochs=1", run_dir=trained)
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert all(0.0 <= metrics[key] <= 1.0 for key in (*METRICS, "val_miou", "test_miou")), metrics
    assert metrics["test_miou"] == pytest.approx(metrics["miou"], abs=1e-6)  # the Keras metric is the evaluator's
    assert metrics["best_val_miou"] == metrics["val_miou"] and "dice" not in metrics  # 4 classes: no Dice
    assert (trained / "segmentation.png").exists() and (trained / "checkpoints/best.keras").exists()

    evaluated = run_cli("task=evaluate", f"ckpt={trained}", run_dir=tmp_path / "evaluate")
    assert evaluated.code == 0, evaluated.err
    assert evaluated.metrics()["model"] == "fcn" and all(key in evaluated.metrics() for key in METRICS)
    # an architecture option with a checkpoint is refused, not silently ignored
    run_cli("task=evaluate", f"ckpt={trained}", "model.layers=2", run_dir=tmp_path / "layers").assert_error(
        "model.layers=2 cannot change the trained fcn", "its run has model.layers=3", no_run_dir=True)

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, (width, height) in enumerate([(50, 40), (30, 70)]):  # any size: resized to the input, the mask back
        pixels = np.random.default_rng(i).integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(photos / f"p{i}.png")
    run_cli("task=predict", f"ckpt={trained}", "model.backbone_n=6", f"image={photos}", run_dir=tmp_path / "n").assert_error(
        "model.backbone_n=6", "its run has model.backbone_n=1", no_run_dir=True)
    predicted = run_cli("task=predict", f"ckpt={trained}", f"image={photos}", run_dir=tmp_path / "predict")
    assert predicted.code == 0, predicted.err
    listed = json.loads((tmp_path / "predict/segmentation.json").read_text())
    assert [Path(entry["image"]).name for entry in listed] == ["p0.png", "p1.png"]
    for entry, size in zip(listed, [(50, 40), (30, 70)]):
        assert (entry["width"], entry["height"]) == size
        assert [c["class"] for c in entry["classes"]] == ["background", "red rectangle", "green ellipse", "blue rectangle"]
        assert sum(c["share"] for c in entry["classes"]) == pytest.approx(1.0, abs=1e-3)
        for kind in ("mask", "overlay"):
            with Image.open(tmp_path / "predict" / f"{Path(entry['image']).stem}_{kind}.png") as image:
                assert image.size == size
    assert predicted.metrics()["images"] == predicted.metrics()["masks"] == 2


def test_fcn_refuses_a_size_its_pyramid_cannot_take_and_a_labels_dataset(run_cli, tmp_path: Path) -> None:
    run_cli(*FAST, *TINY, "dataset.options.shape=[48,48,3]", run_dir=tmp_path / "a").assert_error(
        "multiples of 32", "got 48x48x3", no_run_dir=True)
    run_cli(*FAST, "dataset=mnist", run_dir=tmp_path / "b").assert_error("model 'fcn' reads masks", no_run_dir=True)


@pytest.mark.slow  # two more short trainings
def test_an_interrupted_fcn_run_resumes_to_the_uninterrupted_weights(run_cli, tmp_path: Path) -> None:
    whole = run_cli(*FAST, *TINY, "trainer.epochs=2", "trainer.deterministic=true", run_dir=tmp_path / "whole")
    first = run_cli(*FAST, *TINY, "trainer.epochs=1", "trainer.deterministic=true", run_dir=tmp_path / "split")
    resumed = run_cli(*FAST, *TINY, "trainer.epochs=2", "trainer.deterministic=true", run_dir=tmp_path / "split")
    assert whole.code == first.code == resumed.code == 0, resumed.err
    assert resumed.metrics()["resumed_from_epoch"] == 1
    a, b = whole.metrics(), resumed.metrics()
    for key in ("train_loss", "test_loss", "val_miou", *METRICS):
        assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), key
