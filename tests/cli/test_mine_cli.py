"""MINE through the real `run`: the Gaussians and the MNIST encoder, a rho sweep, exact resume and
the bad inputs' one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SMOKE = ("debug=smoke", "trainer.quality.every=1")


def test_mine_on_the_gaussians_reports_its_estimate_beside_the_exact_and_histogram_values(run_cli) -> None:
    result = run_cli("model=mine", "dataset.rho=-0.5", *SMOKE)
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["mi_true"] == pytest.approx(0.143841, abs=1e-6)
    assert np.isfinite(metrics["mi_estimate"]) and np.isfinite(metrics["mi_histogram"])
    assert metrics["steps_completed"] == 4 and metrics["trainable_params"] == 81
    assert (result.run_dir / "mi_per_step.png").exists()


@pytest.mark.slow
def test_mine_encoder_trains_and_scores_its_linear_probe(run_cli) -> None:
    result = run_cli("model=mine_encoder", "dataset=mnist", "model.latent_dim=4", "model.hidden_units=8",
                     "dataset.train_limit=64", "dataset.test_limit=32", "model.probe_epochs=1", *SMOKE)
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert 0.0 <= metrics["accuracy"] <= 1.0 and np.isfinite(metrics["mi_estimate"])
    assert metrics["test_pairs"] == 0  # evaluation batches are single images
    book = run_cli("task=evaluate", f"ckpt={result.run_dir}", "model.book_compat=true", "model.probe_epochs=1",
                   run_dir=result.run_dir.parent / "book")
    assert book.code == 0, book.err
    assert 0.0 <= book.metrics()["accuracy"] <= 1.0
    refused = run_cli("task=evaluate", f"ckpt={result.run_dir}", "model.latent_dim=8", run_dir=result.run_dir.parent / "x")
    refused.assert_error("model.latent_dim=8 cannot change a trained MINE encoder (its model.latent_dim is 4)")


@pytest.mark.slow
def test_a_rho_sweep_runs_one_job_per_value(run_cli, tmp_path: Path) -> None:
    result = run_cli("-m", "model=mine", "dataset=gaussian", "dataset.rho=-0.8,0.5", "debug=smoke",
                     f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert result.code == 0, result.err
    jobs = sorted((tmp_path / "sweep").glob("[0-9]*/metrics.json"))
    assert len(jobs) == 2


@pytest.mark.slow
def test_a_resumed_mine_run_ends_with_the_weights_of_an_uninterrupted_one(resume_pair) -> None:
    args = ("model=mine", "debug=smoke", "trainer.steps_per_epoch=2",
            "trainer.deterministic=true", "logger.plots=false")
    resumed, straight_state, resumed_state = resume_pair(args, total=4, first=2)
    assert resumed.metrics()["resumed_from_epoch"] == 1
    assert len(straight_state) == len(resumed_state)
    for a, b in zip(straight_state, resumed_state):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("args", "fragments"), [
    (("model=mine", "dataset.rho=1.0"), ("dataset.rho must be in (-1, 1)", "got 1.0")),
    (("model=mine", "dataset.rho=-1.5"), ("dataset.rho must be in (-1, 1)", "got -1.5")),
    (("model=mlp", "dataset.rho=0.5"), ("dataset.options.rho is not an option of dataset 'mnist'",)),
    (("model=mine_encoder", "model.latent_dim=0"), ("model.latent_dim must be >= 1, got 0",)),
])
def test_bad_rho_and_latent_dim_are_one_error_line(run_cli, args, fragments) -> None:
    run_cli(*args, "debug=smoke").assert_error(*fragments, no_run_dir=True)
