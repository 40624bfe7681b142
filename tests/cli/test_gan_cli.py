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


@pytest.mark.slow
def test_a_resumed_gan_ends_with_the_weights_of_an_uninterrupted_one(resume_pair) -> None:
    args = ("model=wgan", *TINY, "trainer.steps_per_epoch=2", "trainer.deterministic=true", "logger.plots=false")
    resumed, straight_state, resumed_state = resume_pair(args, total=4, first=2)
    assert "resuming from" in (resumed.run_dir / "run.log").read_text()
    assert resumed.metrics()["resumed_from_epoch"] == 1
    assert len(straight_state) == len(resumed_state)
    for a, b in zip(straight_state, resumed_state):
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
    # evaluate measures sample quality, which needs MNIST-shaped data (these are 8x8 synthetic images)
    run_cli("task=evaluate", f"ckpt={trained.run_dir}/checkpoints/last.keras", run_dir=tmp_path / "eval").assert_error(
        "'acgan'", "no sample-quality measure", "task=sample", no_run_dir=True)


def test_steps_that_do_not_fill_whole_intervals_are_refused(run_cli) -> None:
    run_cli("model=dcgan", *TINY, "trainer.steps=5", "trainer.steps_per_epoch=2").assert_error(
        "trainer.steps=5", "multiple", "trainer.steps=4", no_run_dir=True)


@pytest.mark.slow
def test_quality_numbers_are_logged_and_reported_on_mnist(run_cli, tmp_path: Path) -> None:
    result = run_cli("model=cgan", "dataset=mnist", "logger.tensorboard=false", "trainer.batch_size=16",
                     "trainer.steps=2", "trainer.steps_per_epoch=1", "trainer.quality.samples=40",
                     f"trainer.quality.cache_dir={tmp_path / 'judges'}")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["fid"] > 0 and 0.0 <= metrics["label_accuracy"] <= metrics["code_accuracy"] <= 1.0
    assert metrics["best_fid"] is not None  # fid is the checkpoint monitor of the GAN configs
    header = (result.run_dir / "history.csv").read_text().splitlines()[0].split(",")
    assert {"fid", "label_accuracy", "code_accuracy"} <= set(header)
    assert (tmp_path / "judges" / "mnist_cnn.keras").exists()  # trained once, cached
    evaluated = run_cli("task=evaluate", f"ckpt={result.run_dir}/checkpoints/last.keras", "trainer.quality.samples=40",
                        f"trainer.quality.cache_dir={tmp_path / 'judges'}", run_dir=tmp_path / "eval")
    assert evaluated.code == 0, evaluated.err
    numbers = evaluated.metrics()
    assert numbers["model"] == "cgan" and numbers["samples"] == 40
    assert numbers["fid"] == pytest.approx(metrics["fid"]) and numbers["label_accuracy"] == metrics["label_accuracy"]
