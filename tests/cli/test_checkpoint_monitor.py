"""A checkpoint monitor the run never logs (`trainer.checkpoint.monitor=val_acc`) is refused at the
end of the first epoch (or interval) in one line naming it and the metrics that are logged, with
`status: failed`, before anything of that epoch is written: the last good checkpoint stays. The
fit loop's families all go through one callback, whose logs differ: a classifier's, a GAN's
custom step (CycleGAN: d_loss, cycle_loss, ...), a VAE's (reconstruction and KL losses). Where the
family's evaluators measured nothing (the book GANs' `fid` judge on other images than MNIST's)
the monitor may be one of theirs: one warning line, and the run goes on without a best.keras."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SMOKE = ("debug=smoke", "logger.tensorboard=false", "logger.plots=false", "trainer.verbose=none")
MLP = ("model=mlp", "dataset=synthetic", "model.hidden_units=[16]", *SMOKE)
DCGAN = ("model=dcgan", "dataset=synthetic", "dataset.options.shape=[8,8,1]", "dataset.options.n_train=64",
         "dataset.options.n_test=16", "logger.tensorboard=false", "trainer.batch_size=8", "trainer.steps=2",
         "trainer.steps_per_epoch=1")
CYCLEGAN = ("model=cyclegan", "dataset=cifar10_gray2rgb", "dataset.train_limit=32", "dataset.test_limit=8",
            "model.grid_size=4", "logger.tensorboard=false", "trainer.batch_size=8", "trainer.steps=1",
            "trainer.steps_per_epoch=1")
VAE = ("model=vae_mlp", "dataset=synthetic", "dataset.options.n_train=64", "dataset.options.n_test=32", *SMOKE)


def _status(run_dir: Path) -> str:
    return json.loads((run_dir / "metrics.json").read_text())["status"]


@pytest.mark.parametrize(("args", "logged"), [
    pytest.param(MLP, "val_accuracy", id="fit"),
    pytest.param(CYCLEGAN, "cycle_loss", id="gan"),
    pytest.param(VAE, "kl_loss", id="vae", marks=pytest.mark.slow),  # a custom step like the GAN's
])
def test_a_monitor_never_logged_stops_the_first_epoch_naming_what_is_logged(run_cli, args, logged: str) -> None:
    result = run_cli(*args, "trainer.checkpoint.monitor=val_acc")
    line = result.assert_error("trainer.checkpoint.monitor='val_acc'", logged, "epoch 1")
    assert "val_acc," not in line.split("it logs", 1)[1]  # the list is what was logged, not the monitor
    assert _status(result.run_dir) == "failed"
    assert not list((result.run_dir / "checkpoints").glob("*.keras"))  # nothing of the refused epoch


def test_a_bad_monitor_on_resume_keeps_the_last_checkpoint_and_the_fixed_command_resumes(run_cli) -> None:
    first = run_cli(*MLP)
    assert first.code == 0, first.err
    checkpoints = first.run_dir / "checkpoints"
    kept = {name: (checkpoints / name).read_bytes() for name in ("last.keras", "best.keras", "state.json")}
    refused = run_cli(*MLP, "trainer.epochs=2", "trainer.checkpoint.monitor=val_acc")
    refused.assert_error("'val_acc'", "epoch 2", f"last good checkpoint: {checkpoints / 'last.keras'}")
    assert _status(refused.run_dir) == "failed"
    assert {name: (checkpoints / name).read_bytes() for name in kept} == kept
    assert not (checkpoints / "previous.keras").exists()
    fixed = run_cli(*MLP, "trainer.epochs=2")
    assert fixed.code == 0, fixed.err
    assert fixed.metrics()["resumed_from_epoch"] == 1 and fixed.metrics()["status"] == "completed"


def test_a_monitor_of_evaluators_that_measured_nothing_is_one_warning_and_the_run_goes_on(run_cli) -> None:
    """DCGAN's preset monitor is `fid`, which its MNIST judge does not measure on these 8x8 images."""
    result = run_cli(*DCGAN)
    assert result.code == 0, result.err
    assert "trainer.checkpoint.monitor='fid' is not logged by this run (its evaluators mnist_fid measured nothing" in result.out
    assert (result.run_dir / "checkpoints" / "last.keras").exists() and not (result.run_dir / "checkpoints" / "best.keras").exists()


def test_a_plateau_monitor_never_logged_stops_the_first_epoch_too(run_cli) -> None:
    result = run_cli(*MLP, "trainer.plateau.enabled=true", "trainer.plateau.monitor=val_acc")
    line = result.assert_error("trainer.plateau.monitor='val_acc'", "val_accuracy", "epoch 1")
    assert "val_acc," not in line.split("it logs", 1)[1]
    assert _status(result.run_dir) == "failed"
    assert not list((result.run_dir / "checkpoints").glob("*.keras"))
    assert run_cli(*MLP, "trainer.plateau.enabled=true", run_dir=result.run_dir.parent / "ok").code == 0  # val_loss, logged
