"""InfoGAN and StackedGAN through the real `run` entry point on small synthetic images: training by
steps (StackedGAN's encoder pre-training first), their sample controls, and StackedGAN's exact resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TINY = ("dataset=synthetic", "dataset.options.shape=[8,8,1]", "dataset.options.n_train=64",
        "dataset.options.n_test=16", "logger.tensorboard=false", "trainer.batch_size=8")
PRETRAIN_LINE = "stackedgan: pre-training the encoder"


@pytest.mark.slow  # ~60 s on 2 cores; tests/cli/test_gan_cli.py keeps the GAN machinery in the fast suite
def test_infogan_trains_and_samples_a_code_sweep_for_one_digit(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=infogan", *TINY, "trainer.steps=1", "trainer.steps_per_epoch=1", "logger.plots=false")
    assert trained.code == 0, trained.err
    metrics = trained.metrics()
    assert metrics["steps_completed"] == 1 and np.isfinite(metrics["train_g_mi_loss"])
    ckpt = f"ckpt={trained.run_dir}/checkpoints/last.keras"
    swept = run_cli("task=sample", ckpt, "sample.label=3", "sample.code1=-2:2", run_dir=tmp_path / "sweep")
    assert swept.code == 0, swept.err
    assert (tmp_path / "sweep" / "sample_label_3_code1_-2_to_2.png").exists()
    run_cli("task=sample", ckpt, "sample.code2=1:x", run_dir=tmp_path / "bad").assert_error(
        "sample.code2='1:x' does not parse", no_run_dir=True)
    run_cli("task=sample", ckpt, "sample.z0=0", run_dir=tmp_path / "z0").assert_error(
        "sample.z0", "StackedGAN", no_run_dir=True)


@pytest.mark.slow
def test_stackedgan_pretrains_its_encoder_then_trains_and_samples(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=stackedgan", *TINY, "model.encoder_epochs=1", "trainer.steps=2", "trainer.steps_per_epoch=1")
    assert trained.code == 0, trained.err
    assert (trained.run_dir / "run.log").read_text().count(PRETRAIN_LINE) == 1
    metrics = trained.metrics()
    assert metrics["steps_completed"] == 2 and 0.0 <= metrics["test_encoder_acc"] <= 1.0
    for name in ("grids/00001.png", "grids/00002.png", "grids.gif", "samples.png", "checkpoints/generator.keras",
                 "checkpoints/encoder.keras", "checkpoints/last.keras", "adv0_loss.png"):
        assert (trained.run_dir / name).exists(), name
    generator = f"ckpt={trained.run_dir}/checkpoints/generator.keras"
    drawn = run_cli("task=sample", generator, "sample.label=3", "sample.z0=-4:4", "sample.z1=0", run_dir=tmp_path / "z")
    assert drawn.code == 0, drawn.err
    assert (tmp_path / "z" / "sample_label_3_z1_0_z0_-4_to_4.png").exists()
    run_cli("task=sample", generator, "sample.label=12", run_dir=tmp_path / "twelve").assert_error(
        "sample.label=12", "0-9", no_run_dir=True)
    run_cli("task=sample", generator, "sample.z1=a:b", run_dir=tmp_path / "bad").assert_error(
        "sample.z1='a:b' does not parse", "-1:1", no_run_dir=True)


def _state(path: Path) -> list[np.ndarray]:
    from adl_runner.kernel.keras_state import seed_states
    from adl_runner.runner.tasks.common import load_checkpoint

    model = load_checkpoint(path)
    optimizers = (model.optimizer, model.d_optimizer, model.g1_optimizer, model.d1_optimizer)
    return [np.asarray(v) for v in model.weights + [v for o in optimizers for v in o.variables]] + [
        s for s in seed_states(model).values()]


@pytest.mark.slow
def test_a_resumed_stackedgan_matches_an_uninterrupted_one_without_pretraining_again(resume_pair) -> None:
    args = ("model=stackedgan", *TINY, "model.encoder_epochs=1", "trainer.steps_per_epoch=2",
            "trainer.deterministic=true", "logger.plots=false")
    resumed, straight_state, resumed_state = resume_pair(args, total=4, first=2)
    assert resumed.metrics()["resumed_from_epoch"] == 1
    assert (resumed.run_dir / "run.log").read_text().count(PRETRAIN_LINE) == 1  # only the first run's
    # Not bit-exact (unlike WGAN's test): after the reload a few weights differ by float round-off
    # (observed: 7e-9 absolute, 1.4e-5 relative), a cause not found yet; a wrong RNG state, optimizer
    # or a repeated pre-training moves them by orders of magnitude more.
    assert len(straight_state) == len(resumed_state)
    for a, b in zip(straight_state, resumed_state):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_a_stackedgan_killed_in_its_encoder_phase_resumes_the_phase_then_trains_as_an_uninterrupted_one(
        run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from adl_runner.runner.phases import PhaseCheckpoint

    args = ("model=stackedgan", *TINY, "model.encoder_epochs=2", "trainer.steps_per_epoch=2", "trainer.steps=2",
            "trainer.deterministic=true", "logger.plots=false")
    straight = run_cli(*args, run_dir=tmp_path / "straight")
    assert straight.code == 0, straight.err
    checkpoint = PhaseCheckpoint.on_epoch_end

    def killed_after_the_first_epoch(self, epoch: int, logs: dict | None = None) -> None:
        checkpoint(self, epoch, logs)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(PhaseCheckpoint, "on_epoch_end", killed_after_the_first_epoch)
        assert run_cli(*args, run_dir=tmp_path / "resumed").code == 130
    resumed = run_cli(*args, run_dir=tmp_path / "resumed")
    assert resumed.code == 0, resumed.err
    assert "phase encoder: resuming after epoch 1 of 2" in (resumed.run_dir / "run.log").read_text()
    for a, b in zip(_state(tmp_path / "straight/checkpoints/last.keras"), _state(tmp_path / "resumed/checkpoints/last.keras")):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)  # the round-off of the resume test above
