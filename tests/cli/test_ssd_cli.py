"""SSD through the real `run` entry point on small generated and fake-drinks images: a few training
steps, task=evaluate and task=predict on `ckpt=<run dir>`, their bad inputs, and exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FAST = ("model=ssd", "model.backbone_n=1", "trainer.batch_size=4", "logger.tensorboard=false")
TINY = ("dataset=synthetic_boxes", "dataset.options.n_train=8", "dataset.options.n_test=4", "trainer.steps_per_epoch=2")
METRICS = ("miou", "precision", "recall", "map50", "map")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run dir (module-wide: one SSD training is the slow part of every test here)."""
    return tmp_path_factory.mktemp("ssd") / "train"


def test_ssd_trains_evaluates_and_predicts(run_cli, trained: Path, tmp_path: Path) -> None:
    result = run_cli(*FAST, *TINY, "trainer.epochs=1", run_dir=trained)  # with plots: the overlays are one
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert all(0.0 <= metrics[key] <= 1.0 for key in METRICS), metrics
    assert (trained / "detections.png").exists() and (trained / "checkpoints/best.keras").exists()

    evaluated = run_cli("task=evaluate", f"ckpt={trained}", run_dir=tmp_path / "evaluate")
    assert evaluated.code == 0, evaluated.err
    assert evaluated.metrics()["model"] == "ssd" and all(key in evaluated.metrics() for key in METRICS)

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, size in enumerate([(200, 150), (90, 120)]):  # any size: resized to the input, boxes scaled back
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(photos / f"p{i}.png")
    (photos / "notes.txt").write_text("not an image, and not looked at")
    # model.<key>= of the checkpoint's family without model=ssd: inference settings apply to the trained model
    predicted = run_cli("task=predict", f"ckpt={trained}", f"image={photos}", "model.class_threshold=0.05",
                        "model.soft_nms=true", run_dir=tmp_path / "predict")
    assert predicted.code == 0, predicted.err
    listed = json.loads((tmp_path / "predict/detections.json").read_text())
    assert [Path(entry["image"]).name for entry in listed] == ["p0.png", "p1.png"]
    assert (listed[0]["width"], listed[0]["height"]) == (200, 150)
    for entry in listed:
        for found in entry["detections"]:
            box = found["box"]
            assert 0 <= box["xmin"] <= box["xmax"] <= entry["width"] and 0 <= box["ymin"] <= box["ymax"] <= entry["height"]
            assert found["class"] in ("background", "red rectangle", "green ellipse", "blue rectangle") or found["class"]
    assert (tmp_path / "predict/p0_detections.png").exists() and (tmp_path / "predict/p1_detections.png").exists()
    assert predicted.metrics()["images"] == 2


def test_predict_refuses_bad_inputs_in_one_line(run_cli, trained: Path, tmp_path: Path) -> None:
    if not (trained / "checkpoints").exists():
        pytest.skip("needs the run of test_ssd_trains_evaluates_and_predicts")
    run_cli("task=predict", f"ckpt={trained}", f"image={tmp_path / 'none.jpg'}", run_dir=tmp_path / "a").assert_error(
        "image=", "none.jpg does not exist", no_run_dir=True)
    (tmp_path / "empty").mkdir()
    run_cli("task=predict", f"ckpt={trained}", f"image={tmp_path / 'empty'}", run_dir=tmp_path / "b").assert_error(
        "is a folder with no images", no_run_dir=True)
    (tmp_path / "fake.jpg").write_text("not a jpeg")
    run_cli("task=predict", f"ckpt={trained}", f"image={tmp_path / 'fake.jpg'}", run_dir=tmp_path / "c").assert_error(
        "fake.jpg could not be read as an image", no_run_dir=True)
    run_cli("task=predict", f"ckpt={trained}", run_dir=tmp_path / "d").assert_error("task=predict needs image=", no_run_dir=True)
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(photo)
    run_cli("task=predict", f"ckpt={trained}", f"image={photo}", "model.normalize=true", run_dir=tmp_path / "f").assert_error(
        "model.normalize=True cannot change the trained ssd", "its run has model.normalize=False",
        "takes model.class_threshold, model.iou_threshold, model.soft_nms, model.fn_rule", no_run_dir=True)


@pytest.mark.slow  # about 45 s: the export's trace, reload and check (tests/runner/test_serving.py has a faster one)
def test_ssd_exports_boxes_after_nms_that_match_its_own_detections(run_cli, trained: Path, tmp_path: Path) -> None:
    if not (trained / "checkpoints").exists():
        pytest.skip("needs the run of test_ssd_trains_evaluates_and_predicts")
    import tensorflow as tf

    out = tmp_path / "export"
    # a low class threshold: an SSD of two training steps keeps boxes to compare
    result = run_cli("task=export", f"ckpt={trained}", "model.class_threshold=0.05", "export.max_detections=10",
                     "export.batch=4", run_dir=out)
    assert result.code == 0, result.err
    record = json.loads((out / "export/ssd/1/export.json").read_text())
    assert record["largest_difference"] <= 1e-3 and record["max_abs_difference"]["serving_default"]["classes"] == 0.0
    assert record["endpoints"]["serving_default"]["outputs"]["boxes"]["shape"] == [None, 10, 4]
    size = record["endpoints"]["serving_default"]["inputs"]["images"]["shape"][1:]
    detections = tf.saved_model.load(str(out / "export/ssd/1")).signatures["serving_default"](
        images=tf.zeros([2, *size], tf.uint8))
    assert detections["boxes"].shape == (2, 10, 4) and detections["num_detections"].dtype == tf.int32
    run_cli("task=export", f"ckpt={trained}", "export.format=litert", run_dir=tmp_path / "litert").assert_error(
        "export.format=litert cannot serve model 'ssd'", "tf_saved_model, onnx", no_run_dir=True)


def test_ssd_refuses_a_labels_dataset_and_a_size_its_scales_cannot_take(run_cli, tmp_path: Path) -> None:
    run_cli(*FAST, "dataset=mnist", run_dir=tmp_path / "a").assert_error("model 'ssd' reads boxes", no_run_dir=True)
    run_cli(*FAST, "dataset=drinks", "dataset.options.image_size=[120,160]", run_dir=tmp_path / "b").assert_error(
        "multiples of 16", "got 120x160x3", no_run_dir=True)


@pytest.mark.slow  # two more short trainings
def test_an_interrupted_ssd_run_resumes_to_the_uninterrupted_weights(run_cli, tmp_path: Path) -> None:
    whole = run_cli(*FAST, *TINY, "trainer.epochs=2", "trainer.deterministic=true", run_dir=tmp_path / "whole")
    first = run_cli(*FAST, *TINY, "trainer.epochs=1", "trainer.deterministic=true", run_dir=tmp_path / "split")
    resumed = run_cli(*FAST, *TINY, "trainer.epochs=2", "trainer.deterministic=true", run_dir=tmp_path / "split")
    assert whole.code == first.code == resumed.code == 0, resumed.err
    a, b = whole.metrics(), resumed.metrics()
    for key in ("train_loss", "test_loss", *METRICS):
        assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), key
