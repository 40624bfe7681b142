"""The Python API: `adl_runner.run` runs a job through the `run` entry point and returns its metrics
(errors raised, not printed), `adl_runner.load` gives a ready model of any checkpoint, and `import
adl_runner` stays cheap."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import adl_runner
from adl_runner.kernel.errors import CheckpointError, ConfigError, IncompatibleError

REPO = Path(__file__).resolve().parents[2]
QUIET = ("debug=smoke", "logger.tensorboard=false", "logger.plots=false", "trainer.evaluate_train=false")


@pytest.fixture
def data_env(fake_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_DATA_DIR", str(fake_data_dir))
    monkeypatch.setenv("RUNNER_VERIFY_CHECKSUMS", "false")


def test_run_returns_the_metrics_and_load_the_model(data_env: None, tmp_path: Path) -> None:
    run_dir = tmp_path / "mlp"
    metrics = adl_runner.run(["model=mlp", "dataset=mnist", *QUIET, f"hydra.run.dir={run_dir}"])
    assert metrics["status"] == "completed" and 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics == __import__("json").loads((run_dir / "metrics.json").read_text())
    model = adl_runner.load(run_dir)  # a run dir stands for its best checkpoint
    assert isinstance(model, keras.Model) and model.count_params() == metrics["params"]
    assert model.predict(np.zeros((2, 784), np.float32), verbose=0).shape == (2, 10)


def test_run_raises_the_runners_errors(data_env: None, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model"):
        adl_runner.run(["model=nope", f"hydra.run.dir={tmp_path / 'a'}"])
    with pytest.raises(IncompatibleError, match="yields boxes"):
        adl_runner.run(["model=mlp", "dataset=drinks", f"hydra.run.dir={tmp_path / 'b'}"])
    with pytest.raises(ConfigError, match="flag"):
        adl_runner.run(["-m", "model=mlp,cnn"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(CheckpointError, match="does not exist"):
        adl_runner.load(tmp_path / "missing.keras")


def test_load_finds_the_custom_classes_in_a_fresh_process(tmp_path: Path) -> None:
    """`keras.models.load_model` on a VAE fails with "Could not locate class 'VAE'"; `load` registers it."""
    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.runner.families import load_families

    load_families()
    entry = MODELS.get("vae_mlp")
    vae = entry.build(entry.spec.options(intermediate_dim=8, latent_dim=2), BuildContext(seed=0, input_shape=(16,), num_classes=10))
    vae.save(tmp_path / "vae.keras")
    code = ("import sys, adl_runner; print('tensorflow' in sys.modules); "
            f"model = adl_runner.load({str(tmp_path / 'vae.keras')!r}); print(type(model).__name__, model.latent_dim)")
    env = {**os.environ, "PYTHONPATH": str(REPO / ".pkg")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "VAE", "2"]  # importing adl_runner did not import TensorFlow
