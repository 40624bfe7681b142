"""model=iic through the real `run` entry point: train, task=evaluate of its run dir, bad input, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FAST = ("model=iic", "dataset=mnist", "dataset.train_limit=64", "dataset.test_limit=48", "trainer.batch_size=16",
        "logger.tensorboard=false")


def test_iic_trains_scores_every_head_and_evaluates_its_run_dir(run_cli, tmp_path: Path) -> None:
    trained = run_cli(*FAST, "model.heads=2", "trainer.epochs=1", run_dir=tmp_path / "train")
    assert trained.code == 0, trained.err
    metrics = trained.metrics()
    heads = metrics["accuracy_per_head"]
    assert len(heads) == 2 and all(0.1 <= a <= 1.0 for a in heads), metrics  # >= 1/10: matching never does worse
    assert metrics["accuracy"] == max(heads) == metrics["best_accuracy"]
    assert metrics["accuracy_mean"] == pytest.approx(np.mean(heads)) and metrics["accuracy_std"] == pytest.approx(np.std(heads))
    assert 0.0 <= metrics["test_cluster_entropy"] <= np.log(10) + 1e-6 and np.isfinite(metrics["train_loss"])
    assert "accuracy_per_head" not in (tmp_path / "train/history.csv").read_text()
    assert all((tmp_path / "train" / f"confusion_head{i}.png").exists() for i in range(2))

    evaluated = run_cli("task=evaluate", f"ckpt={tmp_path / 'train'}", "dataset.test_limit=48", run_dir=tmp_path / "evaluate")
    assert evaluated.code == 0, evaluated.err
    assert evaluated.metrics()["accuracy_per_head"] == heads  # best.keras is the one epoch's weights
    assert (tmp_path / "evaluate/confusion_head1.png").exists()


@pytest.mark.parametrize(("override", "fragments"), [
    ("model.heads=0", ("model.heads must be >= 1, got 0",)),
    ("model.clusters=5", ("model.clusters=5 is below the dataset's 10 classes", "valid: clusters >= 10")),
    ("model.clusters=20", ("model.clusters=20 is more than the dataset's 10 classes", "model.overclustering=true")),
    # a dataset without class labels (boxes, masks, two unlabelled domains) is refused before loading anything
    ("dataset=synthetic_boxes", ("model 'iic' reads labels but dataset 'synthetic_boxes' yields boxes",)),
])
def test_bad_input_is_one_error_line(run_cli, tmp_path: Path, override: str, fragments: tuple[str, ...]) -> None:
    run_cli(*FAST, "trainer.epochs=1", "trainer.steps_per_epoch=1", override, run_dir=tmp_path / "bad").assert_error(
        *fragments)


@pytest.mark.slow  # three short trainings
def test_an_interrupted_iic_run_resumes_to_the_uninterrupted_weights(run_cli, checkpoint_tensors, tmp_path: Path) -> None:
    args = (*FAST, "trainer.steps_per_epoch=2", "trainer.deterministic=true")
    whole = run_cli(*args, "trainer.epochs=2", run_dir=tmp_path / "whole")
    first = run_cli(*args, "trainer.epochs=1", run_dir=tmp_path / "split")
    resumed = run_cli(*args, "trainer.epochs=2", run_dir=tmp_path / "split")
    assert whole.code == first.code == resumed.code == 0, resumed.err
    assert resumed.metrics()["resumed_from_epoch"] == 1
    a, b = whole.metrics(), resumed.metrics()
    for key in ("train_loss", "accuracy", "test_cluster_entropy"):
        assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), key
    for x, y in zip(checkpoint_tensors(tmp_path / "whole/checkpoints/last.keras"),
                    checkpoint_tensors(tmp_path / "split/checkpoints/last.keras"), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
