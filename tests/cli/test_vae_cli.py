"""The chapter 8 VAEs through the real `run` entry point, on synthetic data: train, resume,
figures, task=sample, and the sample task's bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SMOKE = ("dataset=synthetic", "debug=smoke", "logger.tensorboard=false", "dataset.options.n_train=64", "dataset.options.n_test=32")
LOSSES = ("test_loss", "test_reconstruction_loss", "test_kl_loss")


def assert_trained(result, params: int, figures: tuple[str, ...]) -> dict:
    assert result.code == 0, result.err
    metrics = result.metrics()
    for key in (*LOSSES, "train_loss", "val_kl_loss", "params", "wall_time_s"):
        assert metrics[key] is not None, key
    assert metrics["params"] == params
    assert metrics["best_val_loss"] == pytest.approx(min(metrics["val_loss"], metrics["best_val_loss"]))
    for name in (*figures, "checkpoints/best.keras", "loss.png", "kl_loss.png"):
        assert (result.run_dir / name).exists(), name
    return metrics


def test_vae_mlp_trains_resumes_and_samples(run_cli, tmp_path: Path) -> None:
    first = run_cli("model=vae_mlp", *SMOKE)
    assert_trained(first, 807_700, ("vae_mean.png", "digits_over_latent.png"))
    resumed = run_cli("model=vae_mlp", *SMOKE, "trainer.epochs=2")
    metrics = assert_trained(resumed, 807_700, ())
    assert (metrics["resumed_from_epoch"], metrics["epochs_completed"]) == (1, 2)

    ckpt = f"ckpt={resumed.run_dir / 'checkpoints/best.keras'}"
    drawn = run_cli("task=sample", ckpt, "sample.grid=4", run_dir=tmp_path / "sample")
    assert drawn.code == 0, drawn.err
    assert (drawn.run_dir / "sample_grid.png").exists()
    labelled = run_cli("task=sample", ckpt, "sample.label=3", run_dir=tmp_path / "labelled")
    labelled.assert_error("sample.label=3 needs a conditional model", "leave sample.label out")
    assert not labelled.run_dir.exists()


def test_cvae_trains_and_samples_one_label(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=cvae", *SMOKE)
    figures = ("vae_mean.png", *(f"digits_over_latent_label_{d}.png" for d in range(10)))
    assert_trained(trained, 174_437, figures)
    ckpt = f"ckpt={trained.run_dir / 'checkpoints/best.keras'}"
    drawn = run_cli("task=sample", ckpt, "sample.label=3", "sample.grid=5", run_dir=tmp_path / "sample")
    assert drawn.code == 0, drawn.err
    assert [Path(p).name for p in drawn.metrics()["files"]] == ["sample_grid_label_3.png"]
    out_of_range = run_cli("task=sample", ckpt, "sample.label=10", run_dir=tmp_path / "bad")
    out_of_range.assert_error("sample.label=10 is out of range", "valid: 0..9")
    assert not out_of_range.run_dir.exists()
    evaluated = run_cli("task=evaluate", ckpt, run_dir=tmp_path / "eval")
    assert evaluated.code == 0, evaluated.err
    assert all(key in evaluated.metrics() for key in LOSSES)


@pytest.mark.parametrize(
    ("model", "extra", "params", "figures"),
    [
        ("vae_cnn", ("model.reconstruction=bce",), 134_165, ("vae_mean.png", "digits_over_latent.png")),
        ("beta_vae", ("model.beta=10",), 174_437, ("latent_traversal_z0.png", "latent_traversal_z1.png")),
    ],
)
def test_other_vaes_train(run_cli, model: str, extra: tuple[str, ...], params: int, figures: tuple[str, ...]) -> None:
    result = run_cli(f"model={model}", *SMOKE, *extra)
    assert_trained(result, params, figures)
    if model == "beta_vae":
        kl = json.loads((result.run_dir / "latent_kl.json").read_text())
        assert len(kl["mean_kl_per_dim"]) == 2 and all(v >= 0 for v in kl["mean_kl_per_dim"])
