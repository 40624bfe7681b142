"""task=predict for each kind of fit family through the real `run` entry point: a classifier's labels
and probabilities (as its training batches were scaled), an autoencoder's reconstructions, a
generator's samples, and the bad inputs (one `error:` line each, no run dir left)."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

QUIET = ("debug=smoke", "logger.tensorboard=false", "logger.plots=false", "trainer.evaluate_train=false")


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory: pytest.TempPathFactory, fake_data_dir: Path) -> Path:
    """One MLP checkpoint for the module (its training is the slow part)."""
    from adl_runner.runner.cli import main

    run_dir = tmp_path_factory.mktemp("mlp") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNNER_DATA_DIR", str(fake_data_dir))
        patch.setenv("RUNNER_VERIFY_CHECKSUMS", "false")
        assert main(["model=mlp", "dataset=mnist", *QUIET, f"hydra.run.dir={run_dir}"]) == 0
    return run_dir


def test_a_classifier_labels_image_files_converted_to_its_input(run_cli, mlp_run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(photos / "a_colour.png")  # RGB, resized
    Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(photos / "b_gray.png")
    (photos / "notes.txt").write_text("not an image")
    result = run_cli("task=predict", f"ckpt={mlp_run}", f"image={photos}", run_dir=tmp_path / "predict")
    assert result.code == 0, result.err
    listed = json.loads((result.run_dir / "predictions.json").read_text())
    assert [Path(entry["image"]).name for entry in listed] == ["a_colour.png", "b_gray.png"]
    for entry in listed:
        assert sorted(entry["probabilities"]) == [str(d) for d in range(10)]
        assert sum(entry["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert entry["probability"] == max(entry["probabilities"].values())
        assert entry["class"] == str(entry["class_id"])
    assert (result.run_dir / "predictions.png").exists()
    metrics = result.metrics()
    assert metrics["kind"] == "classifier" and metrics["images"] == 2 and sum(metrics["predicted"].values()) == 2


def test_a_npy_batch_is_scaled_as_training_was(run_cli, mlp_run: Path, tmp_path: Path, fake_data_dir: Path) -> None:
    with np.load(fake_data_dir / "mnist" / "mnist.npz") as data:
        images = data["x_test"][:5]
    np.save(tmp_path / "batch.npy", images[..., None])
    result = run_cli("task=predict", f"ckpt={mlp_run}", f"image={tmp_path / 'batch.npy'}", run_dir=tmp_path / "predict")
    assert result.code == 0, result.err
    listed = json.loads((result.run_dir / "predictions.json").read_text())
    # What the trained model says of the same images flattened and scaled to [0, 1], as the pipeline feeds it:
    model = keras.saving.load_model(mlp_run / "checkpoints/best.keras")
    expected = model.predict(images.reshape(5, -1).astype(np.float32) / 255.0, verbose=0)
    got = np.array([[entry["probabilities"][str(d)] for d in range(10)] for entry in listed])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [entry["image"].rsplit("[", 1)[1] for entry in listed] == ["0]", "1]", "2]", "3]", "4]"]


def test_bad_images_are_one_line_each_and_leave_no_run_dir(run_cli, mlp_run: Path, tmp_path: Path) -> None:
    def predict(image: Path):
        return run_cli("task=predict", f"ckpt={mlp_run}", f"image={image}", run_dir=tmp_path / "refused")

    predict(tmp_path / "missing.png").assert_error("missing.png does not exist", no_run_dir=True)
    (tmp_path / "empty").mkdir()
    predict(tmp_path / "empty").assert_error("is a folder with no images", no_run_dir=True)
    np.save(tmp_path / "rgb.npy", np.zeros((2, 28, 28, 3), dtype=np.uint8))
    predict(tmp_path / "rgb.npy").assert_error("3 channel(s), the model takes 1", "28x28x1", no_run_dir=True)
    np.save(tmp_path / "floats.npy", np.zeros((2, 28, 28, 1), dtype=np.float32))
    predict(tmp_path / "floats.npy").assert_error("holds float32 2x28x28x1", "must be uint8", no_run_dir=True)
    run_cli("task=predict", f"ckpt={mlp_run}", run_dir=tmp_path / "refused").assert_error(
        "task=predict needs image=", no_run_dir=True)


@pytest.mark.slow  # a training of its own (about 20 s on 2 cores)
def test_an_autoencoder_writes_its_reconstructions(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=autoencoder", "dataset=synthetic", *QUIET, "dataset.train_limit=64",
                      "dataset.test_limit=32", run_dir=tmp_path / "ae")
    assert trained.code == 0, trained.err
    np.save(tmp_path / "batch.npy", np.full((3, 28, 28, 1), 200, dtype=np.uint8))
    result = run_cli("task=predict", f"ckpt={trained.run_dir}", f"image={tmp_path / 'batch.npy'}", run_dir=tmp_path / "p")
    assert result.code == 0, result.err
    decoded = np.load(result.run_dir / "reconstructions.npy")
    assert decoded.shape == (3, 28, 28, 1) and decoded.dtype == np.uint8
    assert (result.run_dir / "reconstructions.png").exists()
    assert result.metrics()["kind"] == "autoencoder"


@pytest.mark.slow  # a training of its own (about 20 s on 2 cores)
def test_a_generator_samples_and_refuses_images(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=dcgan", "dataset=synthetic", "dataset.options.shape=[8,8,1]", "dataset.options.n_train=64",
                      "dataset.options.n_test=16", "logger.tensorboard=false", "logger.plots=false",
                      "trainer.batch_size=8", "trainer.steps=2", "trainer.steps_per_epoch=2", run_dir=tmp_path / "gan")
    assert trained.code == 0, trained.err
    result = run_cli("task=predict", f"ckpt={trained.run_dir}", "sample.n=4", run_dir=tmp_path / "p")
    assert result.code == 0, result.err
    assert result.metrics()["kind"] == "generator" and result.metrics()["files"]
    assert all(Path(f).exists() for f in result.metrics()["files"])
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "digit.png")
    run_cli("task=predict", f"ckpt={trained.run_dir}", f"image={tmp_path / 'digit.png'}", run_dir=tmp_path / "r").assert_error(
        "generates images and takes none", no_run_dir=True)
