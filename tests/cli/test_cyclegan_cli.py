"""CycleGAN through the real `run` entry point on the fake CIFAR-10 subset (gray -> colour): step
training with translation grids, both generators, resume, task=sample and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TINY = ("model=cyclegan", "dataset=cifar10_gray2rgb", "dataset.train_limit=32", "dataset.test_limit=8",
        "model.grid_size=4", "trainer.batch_size=4", "logger.tensorboard=false")


def test_cyclegan_trains_writes_its_grids_and_samples(run_cli, tmp_path: Path) -> None:
    result = run_cli(*TINY, "trainer.steps=2", "trainer.steps_per_epoch=1")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["steps_completed"] == 2 and metrics["params"] == 870_757 + 870_183 + 390_721 + 390_145
    for key in ("train_d_target_loss", "train_d_source_loss", "train_adv_loss", "train_cycle_loss"):
        assert np.isfinite(metrics[key]), key
    run = result.run_dir
    for name in ("grids/000001.png", "grids/000002.png", "grids.gif", "grids/translated_source/000002.png",
                 "grids/reconstructed_source/000002.png", "grids/reconstructed_target/000002.png",
                 "test_source.png", "test_target.png", "translated_target.png", "translated_source.png",
                 "checkpoints/g_target.keras", "checkpoints/g_source.keras", "checkpoints/last.keras"):
        assert (run / name).exists(), name

    from adl_runner.runner.tasks.common import load_checkpoint

    model = load_checkpoint(run / "checkpoints/last.keras")
    gray = np.asarray(model.grid_source)
    colour = np.asarray(model.grid_target)
    assert gray.shape == (4, 32, 32, 1) and colour.shape == (4, 32, 32, 3) and colour.std() > 0
    # The fixed source images are the luminance of the fixed target images: the first test images.
    np.testing.assert_allclose(gray[..., 0], colour @ np.array([0.299, 0.587, 0.114], np.float32), atol=1e-5)

    drawn = run_cli("task=sample", f"ckpt={run}/checkpoints/last.keras", "sample.n=4", run_dir=tmp_path / "drawn")
    assert drawn.code == 0, drawn.err
    for name in ("sample_source_to_target.png", "sample_target_to_source.png"):
        assert (tmp_path / "drawn" / name).exists(), name
    run_cli("task=sample", f"ckpt={run}/checkpoints/g_target.keras", run_dir=tmp_path / "lone").assert_error(
        "last.keras", no_run_dir=True)


def test_a_bad_discriminator_names_the_choices(run_cli) -> None:
    run_cli(*TINY, "model.discriminator=foo", "trainer.steps=1", "trainer.steps_per_epoch=1").assert_error(
        "model.discriminator", "model.discriminator must be patchgan or plain, got 'foo'", no_run_dir=True)


@pytest.mark.slow
def test_a_resumed_cyclegan_ends_with_the_weights_of_an_uninterrupted_one(resume_pair) -> None:
    args = (*TINY, "trainer.steps_per_epoch=1", "trainer.deterministic=true", "logger.plots=false")
    resumed, straight_state, resumed_state = resume_pair(args, total=2, first=1)
    assert resumed.metrics()["resumed_from_epoch"] == 1
    assert len(straight_state) == len(resumed_state)
    for a, b in zip(straight_state, resumed_state):
        np.testing.assert_array_equal(a, b)


def test_mnist_svhn_without_svhn_files_says_where_to_put_them(run_cli) -> None:
    run_cli("model=cyclegan", "dataset=mnist_svhn", "model.kernel_size=5").assert_error(
        "svhn/train_32x32.mat", "not found", no_run_dir=True)


@pytest.mark.slow
def test_cyclegan_translates_mnist32_to_svhn(run_cli, fake_data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import shutil

    from adl_runner.data.synthetic import write_svhn

    data = tmp_path / "data"
    shutil.copytree(fake_data_dir, data)
    write_svhn(data, n_train=32, n_test=8)
    monkeypatch.setenv("RUNNER_DATA_DIR", str(data))
    result = run_cli("model=cyclegan", "dataset=mnist_svhn", "model.kernel_size=5", "model.grid_size=4",
                     "trainer.batch_size=4", "logger.tensorboard=false", "trainer.steps=1", "trainer.steps_per_epoch=1")
    assert result.code == 0, result.err
    assert result.metrics()["params"] > 0 and (result.run_dir / "translated_target.png").exists()
