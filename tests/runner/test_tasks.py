"""The task registry and the frozen Job: one dispatch on the family's loop, no Hydra below the
entry point, and groups a family does not read refused."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import NoneSpec, RunContext
from adl_runner.runner.cli import CONF_DIR
from adl_runner.runner.resolve import resolve
from adl_runner.runner.tasks import run_task


def composed(*overrides: str) -> dict:
    """The config `run` would compose, as plain values; Hydra is cleared again afterwards."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="run"):
        cfg = compose("config", overrides=list(overrides))
    GlobalHydra.instance().clear()
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def test_a_task_runs_without_hydra(tmp_path: Path, fake_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_DATA_DIR", str(fake_data_dir))
    monkeypatch.setenv("RUNNER_VERIFY_CHECKSUMS", "false")
    config = composed("model=mlp", "debug=smoke", "logger.plots=false")
    assert not HydraConfig.initialized()
    job = resolve(config, run_dir=tmp_path / "run", overrides=["model=mlp"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.seed = 1  # type: ignore[misc]
    assert (job.task.value, job.loop, job.model.name, job.chose("model"), job.chose("dataset")) == (
        "train", "fit", "mlp", True, False)
    metrics = run_task(job)
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 1
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["model"] == "mlp"
    assert "name: mlp" in (tmp_path / "run" / "config.yaml").read_text()


@dataclass
class CountOptions:
    times: int = 2


def test_a_family_with_no_training_loop_runs_once(tmp_path: Path) -> None:
    calls: list[RunContext] = []

    def count(opts: CountOptions, ctx: RunContext) -> dict[str, float]:
        calls.append(ctx)
        return {"count": float(opts.times)}

    MODELS.register("test_count", NoneSpec(options=CountOptions))(count)
    try:
        config = {**composed(), "model": {"name": "test_count", "times": 3}}
        job = resolve(config, run_dir=tmp_path / "run")
        assert job.loop == "none"
        metrics = run_task(job)
        assert metrics["count"] == 3.0 and len(calls) == 1 and calls[0].seed == job.seed
        sample = resolve({**config, "task": "sample", "ckpt": str(tmp_path)}, run_dir=tmp_path / "sample")
        with pytest.raises(IncompatibleError, match=r"task=sample is not available for model 'test_count' \(none loop\); "
                                                    r"its tasks: train"):
            run_task(sample)
    finally:
        MODELS.unregister("test_count")


def test_groups_the_family_does_not_read_are_refused(tmp_path: Path) -> None:
    config = composed("model=dqn")
    with pytest.raises(ConfigError, match=r"model 'dqn' acts in an environment and does not read dataset= "
                                          r"\(it reads: env, optimizer, trainer, logger\); dataset= is read by: .*mlp"):
        resolve(config, run_dir=tmp_path, overrides=["model=dqn", "dataset=mnist"])
    tabular = composed("model=q_learning")  # it trains no network: its step size is model.alpha
    with pytest.raises(ConfigError, match="model 'q_learning' .* does not read optimizer.learning_rate="):
        resolve(tabular, run_dir=tmp_path, overrides=["model=q_learning", "optimizer.learning_rate=0.1"])
    assert resolve(config, run_dir=tmp_path, overrides=["model=dqn", "optimizer.learning_rate=0.01"]).loop == "episodes"
    reinforce = composed("model=reinforce")  # its actor trains with the optimizer group
    assert resolve(reinforce, run_dir=tmp_path, overrides=["model=reinforce", "optimizer.learning_rate=0.1"]).loop == "episodes"


def test_switching_a_presets_optimizer_names_what_it_keeps(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = composed("model=wgan", "optimizer=adam")
    with caplog.at_level("INFO", logger="runner"):
        job = resolve(config, run_dir=tmp_path, overrides=["model=wgan", "optimizer=adam"])
    assert job.optimizer.name == "adam" and job.optimizer_options.learning_rate == 5e-5
    (line,) = [r.getMessage() for r in caplog.records if "keeps the model preset" in r.getMessage()]
    assert line == ("optimizer=adam keeps the model preset's learning_rate=5e-05 (its default: 0.001); "
                    "set optimizer.<key>= to change them")
    caplog.clear()
    with caplog.at_level("INFO", logger="runner"):
        resolve(composed("model=wgan", "optimizer=adam", "optimizer.learning_rate=1e-4"), run_dir=tmp_path,
                overrides=["model=wgan", "optimizer=adam", "optimizer.learning_rate=1e-4"])
    assert not [r for r in caplog.records if "keeps the model preset" in r.getMessage()]


def test_sample_options_are_typed_by_the_family_that_registers_them(tmp_path: Path) -> None:
    overrides = ["model=infogan", "sample.code1=-2:2", "sample.n=4"]
    job = resolve(composed(*overrides), run_dir=tmp_path, overrides=overrides)
    assert type(job.sample).__name__ == "InfoGANSample" and (job.sample.code1, job.sample.n) == ("-2:2", 4)
    plain = resolve(composed("model=dcgan"), run_dir=tmp_path, overrides=["model=dcgan"]).sample
    assert type(plain).__name__ == "SampleConfig" and not hasattr(plain, "code1")
    with pytest.raises(ConfigError, match=r"sample.code1 is not a sample option of model 'dcgan'; valid: label, n, "
                                          r"grid, latent; sample.code1= is read by: infogan \(InfoGANSample\)"):
        resolve(composed("model=dcgan", "sample.code1=0"), run_dir=tmp_path, overrides=["model=dcgan", "sample.code1=0"])
    with pytest.raises(ConfigError, match=r"sample.n: Value 'many' of type 'str' could not be converted to Integer"):
        resolve(composed("model=dcgan", "sample.n=many"), run_dir=tmp_path, overrides=["model=dcgan", "sample.n=many"])
    with pytest.raises(ConfigError, match=r"sample.n must be in \[1, 10,000\] \(10,000 images make a figure of about 100 MP\), got 0"):
        resolve(composed("model=dcgan", "sample.n=0"), run_dir=tmp_path, overrides=["model=dcgan", "sample.n=0"])


def test_resume_treats_an_option_added_since_the_run_as_unset_only_when_it_is_unset() -> None:
    from adl_runner.runner.tasks.common import config_differences

    run = {"name": "drinks", "options": {"image_size": [48, 64]}}
    added_off = {"name": "drinks", "rho": None, "options": {"image_size": [48, 64], "crop": {"size": None}}}
    assert config_differences(run, added_off, "dataset") == []
    added_on = {**added_off, "rho": 0.5}
    assert config_differences(run, added_on, "dataset") == ["dataset.rho: (not set) (the run) vs 0.5 (this command)"]
