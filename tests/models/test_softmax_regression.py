"""Pattanayak's softmax regression (Listings 6-6a/b): 7,850 parameters, logits out, the book's
sigmoid cross-entropy, step-numbered checkpoints (max_to_keep) and the restore by task=evaluate."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest

from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext
from adl_runner.runner.families import load_families

SHORT = ("model=softmax_regression", "dataset.train_limit=256", "dataset.test_limit=64", "trainer.steps=3",
         "trainer.steps_per_epoch=1", "trainer.batch_size=32", "trainer.checkpoint.keep=2", "logger.plots=false",
         "logger.tensorboard=false", "trainer.evaluate_train=false", "trainer.validate=false", "trainer.quality.every=0")


def test_the_book_network_has_7850_parameters_and_outputs_logits() -> None:
    load_families()
    entry = MODELS.get("softmax_regression")
    model = entry.build(entry.spec.options(), BuildContext(0, (784,), 10))
    assert model.count_params() == 7850
    assert model.layers[-1].activation is keras.activations.linear
    assert isinstance(entry.spec.loss, keras.losses.BinaryCrossentropy) and entry.spec.loss.from_logits


def test_keep_step_checkpoint_deletes_all_but_the_newest(tmp_path: Path) -> None:
    from adl_runner.runner.rundir import RunDir

    rundir = RunDir(tmp_path)
    for step in (100, 200, 1000, 300):  # numeric order, not the order of the names
        rundir.last_checkpoint.parent.mkdir(exist_ok=True)
        rundir.last_checkpoint.write_text(str(step))
        rundir.keep_step_checkpoint(step, keep=2)
    kept = sorted(rundir.checkpoints.glob("step-*.keras"))
    assert [p.name for p in kept] == ["step-1000.keras", "step-300.keras"] and kept[1].read_text() == "300"


@pytest.mark.slow
def test_checkpoints_keep_the_newest_steps_and_restore_in_evaluate(run_cli, tmp_path: Path) -> None:
    trained = run_cli(*SHORT, run_dir=tmp_path / "train")
    assert trained.code == 0, trained.err
    assert sorted(p.name for p in (trained.run_dir / "checkpoints").glob("step-*.keras")) == ["step-2.keras", "step-3.keras"]
    restored = run_cli("task=evaluate", f"ckpt={trained.run_dir / 'checkpoints' / 'step-3.keras'}", run_dir=tmp_path / "eval")
    assert restored.code == 0, restored.err
    metrics = restored.metrics()
    assert metrics["test_accuracy"] == pytest.approx(trained.metrics()["test_accuracy"])
    assert 0.0 <= metrics["test_batch_accuracy"] <= 1.0 and metrics["test_batch_accuracy_std"] >= 0.0


def test_keep_must_not_be_negative(run_cli) -> None:
    run_cli(*SHORT[:1], "trainer.checkpoint.keep=-1").assert_error("trainer.checkpoint.keep must be in [0, 1,000], got -1", no_run_dir=True)
