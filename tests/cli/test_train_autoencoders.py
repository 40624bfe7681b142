"""The chapter 3 autoencoders through the real `run` entry point, on small synthetic data: training,
metrics, artifacts, resume, task=sample, and the bad inputs of the issue (one line, exit code 2)."""

from __future__ import annotations

from pathlib import Path

# debug=smoke on even fewer examples: these tests check the plumbing, not learning.
SMOKE = ("debug=smoke", "logger.tensorboard=false", "dataset.train_limit=64", "dataset.test_limit=32",
         "trainer.evaluate_train=false")
COLOUR_32 = ("dataset=synthetic", "dataset.options.shape=[32,32,3]")


def assert_trained(result, params: int, pngs: set[str]) -> dict:
    assert result.code == 0, result.err
    metrics = result.metrics()
    for key in ("test_loss", "train_loss", "val_loss", "params", "wall_time_s"):
        assert metrics[key] is not None, key
    assert metrics["params"] == params
    assert "test_accuracy" not in metrics
    assert pngs <= {p.name for p in result.run_dir.glob("*.png")}, sorted(p.name for p in result.run_dir.glob("*.png"))
    assert (result.run_dir / "checkpoints/best.keras").exists()
    return metrics


def test_autoencoder_16_dim_trains_resumes_and_samples(run_cli, tmp_path: Path) -> None:
    args = ("model=autoencoder", "dataset=synthetic", *SMOKE)
    first = run_cli(*args)
    metrics = assert_trained(first, 178_001, {"input_and_decoded.png", "latent_pca.png", "loss.png"})
    assert metrics["best_val_loss"] == metrics["val_loss"]  # best checkpoint on val_loss
    assert not (first.run_dir / "digits_over_latent.png").exists()
    assert "digits_over_latent.png skipped: the latent manifold needs a 2-dim latent, this one has 16" in (
        first.run_dir / "run.log").read_text()

    second = run_cli(*args, "trainer.epochs=2")
    assert second.code == 0, second.err
    assert (second.metrics()["resumed_from_epoch"], second.metrics()["epochs_completed"]) == (1, 2)

    sampled = run_cli("task=sample", f"ckpt={first.run_dir / 'checkpoints/best.keras'}", "sample.n=4",
                      run_dir=tmp_path / "sample")
    assert sampled.code == 0, sampled.err
    assert (sampled.run_dir / "samples.png").exists()


def test_autoencoder_2_dim_scatter_manifold_and_sampling(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=autoencoder", "model.latent_dim=2", "dataset=synthetic", *SMOKE)
    assert_trained(trained, 90_179, {"input_and_decoded.png", "latent_2dim.png", "digits_over_latent.png"})
    ckpt = f"ckpt={trained.run_dir / 'checkpoints/best.keras'}"

    one = run_cli("task=sample", ckpt, "sample.latent=[0.5,-1.0]", run_dir=tmp_path / "one")
    assert one.code == 0, one.err
    assert [Path(f).name for f in one.metrics()["files"]] == ["sample_latent.png"]
    grid = run_cli("task=sample", ckpt, "sample.grid=4", run_dir=tmp_path / "grid")
    assert grid.code == 0, grid.err
    assert (grid.run_dir / "digits_over_latent.png").exists()

    labelled = run_cli("task=sample", ckpt, "sample.label=3", run_dir=tmp_path / "labelled")
    labelled.assert_error("sample.label needs a conditional model; 'autoencoder' is unconditional", no_run_dir=True)
    wrong = run_cli("task=sample", ckpt, "sample.latent=[1.0,2.0,3.0]", run_dir=tmp_path / "wrong")
    wrong.assert_error("sample.latent has 3 value(s)", "2-dim latent", "needs 2 values", no_run_dir=True)


def test_denoising_autoencoder(run_cli) -> None:
    result = run_cli("model=dae", "dataset=synthetic", "dataset.sigma=0.5", *SMOKE)
    metrics = assert_trained(result, 178_001, {"corrupted_and_denoised.png", "input_and_decoded.png", "latent_pca.png"})
    assert metrics["model"] == "autoencoder"


def test_colorization_autoencoder(run_cli) -> None:
    result = run_cli("model=colorization", *COLOUR_32, "dataset.gray_input=true", *SMOKE)
    metrics = assert_trained(result, 3_431_811, {"test_color.png", "test_gray.png", "colorized.png"})
    assert metrics["model"] == "colorization"
    assert "learning_rate" in (result.run_dir / "history.csv").read_text()  # the plateau control ran


def test_colorization_on_a_grayscale_dataset(run_cli) -> None:
    result = run_cli("model=colorization", "dataset=mnist", *SMOKE)
    result.assert_error("dataset 'mnist'", "gray-to-colour inputs need RGB images", no_run_dir=True)


def test_colorization_without_gray_inputs(run_cli) -> None:
    result = run_cli("model=colorization", *COLOUR_32, "dataset.gray_input=false", *SMOKE)
    result.assert_error("model 'colorization' cannot run on dataset 'synthetic'", "1-channel gray inputs", no_run_dir=True)


def test_autoencoder_on_sides_that_two_stride_2_convs_cannot_halve(run_cli) -> None:
    result = run_cli("model=autoencoder", "dataset=synthetic", "dataset.options.shape=[30,30,1]", *SMOKE)
    result.assert_error("model 'autoencoder' cannot run on dataset 'synthetic'", "multiples of 4", no_run_dir=True)
