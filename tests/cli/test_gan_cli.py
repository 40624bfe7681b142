"""The GANs through the real `run` entry point on small synthetic images: step-based training with
progress grids and a GIF, exact resume, task=sample and its bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TINY = ("dataset=synthetic", "dataset.options.shape=[8,8,1]", "dataset.options.n_train=64",
        "dataset.options.n_test=16", "logger.tensorboard=false", "trainer.batch_size=8")


# One variant in the fast suite; the rest (30-60 s each on 2 cores) run with `make test-full`.
SLOW_VARIANTS = [pytest.param(m, marks=pytest.mark.slow) for m in ("lsgan", "wgan", "cgan", "acgan", "gan_mlp")]


@pytest.mark.parametrize("model", ["dcgan", *SLOW_VARIANTS])
def test_each_gan_trains_by_steps_and_writes_its_grids(run_cli, model: str) -> None:
    result = run_cli(f"model={model}", *TINY, "trainer.steps=2", "trainer.steps_per_epoch=1")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["steps_completed"] == 2
    assert metrics["params"] > 0 and metrics["wall_time_s"] > 0
    assert np.isfinite(metrics["train_d_loss"]) and np.isfinite(metrics["train_g_loss"])
    for name in ("grids/00001.png", "grids/00002.png", "grids.gif", "samples.png",
                 "checkpoints/generator.keras", "checkpoints/last.keras", "d_loss.png"):
        assert (result.run_dir / name).exists(), name


def _weights(path: Path) -> list[np.ndarray]:
    from runner.tasks import load_checkpoint

    model = load_checkpoint(path)
    return [np.asarray(v) for v in model.weights + model.optimizer.variables + model.d_optimizer.variables]


@pytest.mark.slow
def test_a_resumed_gan_ends_with_the_weights_of_an_uninterrupted_one(run_cli, tmp_path: Path) -> None:
    args = ("model=wgan", *TINY, "trainer.steps_per_epoch=2", "trainer.deterministic=true", "logger.plots=false")
    straight = run_cli(*args, "trainer.steps=4", run_dir=tmp_path / "straight")
    assert straight.code == 0, straight.err
    first = run_cli(*args, "trainer.steps=2", run_dir=tmp_path / "resumed")
    assert first.code == 0, first.err
    resumed = run_cli(*args, "trainer.steps=4", run_dir=tmp_path / "resumed")
    assert resumed.code == 0, resumed.err
    assert "resuming from" in resumed.err + resumed.out or (tmp_path / "resumed" / "run.log").read_text().count("resuming from")
    assert resumed.metrics()["resumed_from_epoch"] == 1 and resumed.metrics()["steps_completed"] == 4
    for a, b in zip(_weights(tmp_path / "straight/checkpoints/last.keras"), _weights(tmp_path / "resumed/checkpoints/last.keras")):
        np.testing.assert_array_equal(a, b)


def test_sample_draws_a_digit_and_refuses_bad_controls(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=acgan", *TINY, "trainer.steps=1", "trainer.steps_per_epoch=1")
    assert trained.code == 0, trained.err
    generator = f"ckpt={trained.run_dir}/checkpoints/generator.keras"
    drawn = run_cli("task=sample", generator, "sample.label=7", run_dir=tmp_path / "seven")
    assert drawn.code == 0, drawn.err
    assert (tmp_path / "seven" / "sample_label_7.png").exists()
    whole = run_cli("task=sample", f"ckpt={trained.run_dir}/checkpoints/last.keras", run_dir=tmp_path / "whole")
    assert whole.code == 0, whole.err
    run_cli("task=sample", generator, "sample.label=10", run_dir=tmp_path / "ten").assert_error(
        "sample.label=10", "0-9", no_run_dir=True)
    run_cli("task=sample", generator, "sample.code1=-2:2", run_dir=tmp_path / "code").assert_error(
        "sample.code1", "InfoGAN", no_run_dir=True)


def test_steps_that_do_not_fill_whole_intervals_are_refused(run_cli) -> None:
    run_cli("model=dcgan", *TINY, "trainer.steps=5", "trainer.steps_per_epoch=2").assert_error(
        "trainer.steps=5", "multiple", "trainer.steps=4", no_run_dir=True)
