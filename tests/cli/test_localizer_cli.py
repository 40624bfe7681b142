"""The localizer through the real `run` entry point on synthetic_objects: a few training steps with
its metrics and best-by-IoU checkpoint, task=predict on a user's image, a bad alpha / beta, exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FAST = ("model=localizer", "dataset=synthetic_objects", "model.filters=[8,16]", "model.dense=16", "trainer.batch_size=8",
        "trainer.steps_per_epoch=2", "logger.tensorboard=false", "dataset.validation=8")


@pytest.mark.slow  # a training run and a predict run (about 10 s)
def test_localizer_trains_on_synthetic_objects_and_predicts(run_cli, tmp_path: Path) -> None:
    trained = tmp_path / "train"
    result = run_cli(*FAST, "trainer.epochs=2", "model.alpha=1", "model.beta=2", run_dir=trained)
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert all(0.0 <= metrics[key] <= 1.0 for key in ("accuracy", "f1", "box_iou", "val_box_iou", "val_accuracy"))
    assert "best_val_box_iou" in metrics and (trained / "checkpoints/best.keras").exists()
    assert (trained / "localizations.png").exists()

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 70, 3), dtype=np.uint8)).save(photo)
    predicted = run_cli("task=predict", f"ckpt={trained}", f"image={photo}", run_dir=tmp_path / "predict")
    assert predicted.code == 0, predicted.err
    (entry,) = json.loads((tmp_path / "predict/localizations.json").read_text())
    assert (entry["width"], entry["height"]) == (70, 50) and entry["class_id"] in (1, 2, 3)
    assert 0 <= entry["box"]["xmin"] <= entry["box"]["xmax"] <= 70 and (tmp_path / "predict/photo_localization.png").exists()


def test_the_preset_selects_on_50_held_out_photos_not_the_test_split(run_cli) -> None:
    # synthetic_objects has 32 photos: the preset's dataset.validation=50 counts photos, not crops
    args = [a for a in FAST if not a.startswith("dataset.validation")]
    run_cli(*args).assert_error("dataset.validation=50", "has 32 photos (each with all of its crops)", no_run_dir=True)


@pytest.mark.parametrize("override", ["model.alpha=-1", "model.beta=-0.5"])
def test_a_negative_loss_weight_is_one_error_line(run_cli, tmp_path: Path, override: str) -> None:
    key = override.split("=")[0]
    run_cli(*FAST, override, run_dir=tmp_path / "bad").assert_error(f"{key} must be >= 0", no_run_dir=True)


def test_the_localizer_refuses_a_labels_dataset(run_cli, tmp_path: Path) -> None:
    run_cli("model=localizer", "dataset=mnist", run_dir=tmp_path / "a").assert_error("model 'localizer' reads boxes", no_run_dir=True)


@pytest.mark.slow  # three short trainings
def test_an_interrupted_localizer_run_resumes_to_the_uninterrupted_weights(run_cli, tmp_path: Path, checkpoint_tensors) -> None:
    args = (*FAST, "trainer.deterministic=true", "logger.plots=false", "trainer.evaluate_train=false")
    whole = run_cli(*args, "trainer.epochs=2", run_dir=tmp_path / "whole")
    first = run_cli(*args, "trainer.epochs=1", run_dir=tmp_path / "split")
    resumed = run_cli(*args, "trainer.epochs=2", run_dir=tmp_path / "split")
    assert whole.code == first.code == resumed.code == 0, resumed.err
    assert resumed.metrics()["resumed_from_epoch"] == 1
    for a, b in zip(checkpoint_tensors(tmp_path / "whole/checkpoints/last.keras"),
                    checkpoint_tensors(tmp_path / "split/checkpoints/last.keras")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert whole.metrics()["box_iou"] == pytest.approx(resumed.metrics()["box_iou"], rel=1e-5, abs=1e-6)
