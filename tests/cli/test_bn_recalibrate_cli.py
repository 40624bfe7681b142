"""`evaluate.bn_recalibrate=<batches>` through the real `run` entry point, on a tiny IIC checkpoint:
the end of training and task=evaluate score with the same re-estimated BatchNorm statistics, and
the checkpoint is not rewritten."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

TINY = ("dataset.train_limit=64", "dataset.test_limit=48", "trainer.batch_size=16")
"""64 training images in 4 batches of 16."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _trained(run_cli, tmp_path: Path, *extra: str) -> Path:
    """A 2-step IIC run of one epoch (best.keras holds its final weights)."""
    trained = run_cli("model=iic", *TINY, "trainer.epochs=1", "trainer.steps_per_epoch=2", "logger.tensorboard=false",
                      "logger.plots=false", *extra, run_dir=tmp_path / "train")
    assert trained.code == 0, trained.err
    return tmp_path / "train"


def _evaluated(run_cli, run: Path, out: Path, *extra: str):
    result = run_cli("task=evaluate", f"ckpt={run}", *TINY, "logger.plots=false", *extra, run_dir=out)
    assert result.code == 0, result.err
    return result


def test_training_and_evaluate_score_with_the_same_recalibrated_statistics(run_cli, tmp_path: Path) -> None:
    run = _trained(run_cli, tmp_path, "evaluate.bn_recalibrate=2")
    before = _digest(run / "checkpoints/best.keras")
    again = _evaluated(run_cli, run, tmp_path / "recal", "evaluate.bn_recalibrate=2")
    assert "re-estimating the BatchNorm statistics of 4 layers from 2 of the 4 training batches" in again.out
    trained = (run / "metrics.json").read_text()
    for key in ("test_cluster_entropy", "accuracy"):
        assert again.metrics()[key] == pytest.approx(json.loads(trained)[key], rel=1e-5), key
    assert _digest(run / "checkpoints/best.keras") == before
    assert "bn_recalibrate: 2" in (tmp_path / "recal/config.yaml").read_text()


@pytest.mark.slow  # a training and two evaluations
def test_recalibrated_scores_differ_from_the_moving_averages_of_a_short_run(run_cli, tmp_path: Path) -> None:
    run = _trained(run_cli, tmp_path)
    plain = _evaluated(run_cli, run, tmp_path / "plain").metrics()
    recal = _evaluated(run_cli, run, tmp_path / "recal", "evaluate.bn_recalibrate=4").metrics()
    # two steps leave the moving averages near their initial 0 and 1: the clusters' shares differ
    assert plain["test_cluster_entropy"] != pytest.approx(recal["test_cluster_entropy"], rel=1e-3)


@pytest.mark.parametrize(("args", "fragments"), [
    (("model=iic", "evaluate.bn_recalibrate=-1"), ("evaluate.bn_recalibrate must be >= 0, got -1",)),
    (("model=iic", "evaluate.bn_recalibrate=5"),
     ("evaluate.bn_recalibrate=5 is more than the training split's 4 batches (64 examples); valid: 0..4",)),
    (("model=mlp", "evaluate.bn_recalibrate=1"), ("model 'mlp' has no (trainable) BatchNormalization layer",)),
    (("model=q_learning", "env=qworld", "evaluate.bn_recalibrate=1"),
     ("evaluate.bn_recalibrate=1 applies to the scoring of a fit-loop model", "leave it at 0")),
])
def test_a_recalibration_that_cannot_happen_is_one_error_line(run_cli, tmp_path: Path, args: tuple[str, ...],
                                                               fragments: tuple[str, ...]) -> None:
    data = TINY if "env=qworld" not in args else ()
    run_cli(*args, *data, "trainer.epochs=1", run_dir=tmp_path / "bad").assert_error(*fragments, no_run_dir=True)
