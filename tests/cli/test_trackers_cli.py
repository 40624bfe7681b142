"""The trackers through the real `run` entry point: TensorBoard for the fit loop (a GAN's grids and
both learning rates) and the episode loop (returns), MLflow against a local SQLite store, and the
logger list's bad input."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None
GAN = ("model=dcgan", "dataset=synthetic", "dataset.options.shape=[8,8,1]", "dataset.options.n_train=64",
       "dataset.options.n_test=16", "trainer.batch_size=8", "trainer.steps=2", "trainer.steps_per_epoch=1")
MLP = ("model=mlp", "debug=smoke")


def _events(run_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    events.Reload()
    return events


def test_tensorboard_gets_epoch_scalars_the_learning_rate_figures_and_settings(run_cli) -> None:
    result = run_cli(*MLP)  # the default logger list, also under debug=smoke
    assert result.code == 0, result.err
    events = _events(result.run_dir)
    steps = result.metrics()["steps_completed"]
    assert [e.step for e in events.Scalars("loss")] == [steps]  # at the training step
    assert [e.value for e in events.Scalars("learning_rate")] == [pytest.approx(1e-3)]
    assert events.Scalars("test_accuracy")[0].value == pytest.approx(result.metrics()["test_accuracy"])
    assert {"loss", "accuracy"} <= set(events.Tags()["images"])  # the run's figures
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")


@pytest.mark.slow  # about 15 s on 2 cores
def test_tensorboard_gets_a_gan_s_grids_and_both_learning_rates(run_cli) -> None:
    result = run_cli(*GAN)
    assert result.code == 0, result.err
    events = _events(result.run_dir)
    assert [e.step for e in events.Images("grids")] == [1, 2]  # one grid per interval, at its training step
    assert [e.step for e in events.Scalars("d_loss")] == [1, 2]
    assert [round(e.value, 8) for e in events.Scalars("learning_rate/discriminator")] == [2e-4, 2e-4]
    assert [round(e.value, 8) for e in events.Scalars("learning_rate/generator")] == [1e-4, 1e-4]
    assert events.Scalars("test_d_loss")[0].value == pytest.approx(result.metrics()["test_d_loss"])
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")


def test_tensorboard_gets_every_episode_s_return(run_cli) -> None:
    result = run_cli("model=q_learning", "env=qworld", "trainer.episodes=5", "trainer.verbose=none")
    assert result.code == 0, result.err
    rows = (result.run_dir / "history.csv").read_text().splitlines()[1:]
    returns = [float(row.split(",")[1]) for row in rows]
    events = _events(result.run_dir)
    assert [(e.step, e.value) for e in events.Scalars("return")] == list(zip(range(1, 6), returns))
    assert [e.step for e in events.Scalars("epsilon")][:5] == [1, 2, 3, 4, 5]
    assert "returns" in events.Tags()["images"]


def test_an_unknown_logger_in_the_list_is_refused(run_cli) -> None:
    run_cli(*MLP, "logger=[tensorboard,wandb]").assert_error("unknown logger 'wandb'", "mlflow, tensorboard", no_run_dir=True)


@pytest.mark.slow  # about 25 s: the store's first use creates its tables
@pytest.mark.skipif(not HAS_MLFLOW, reason="mlflow is an optional extra: pip install 'adl-runner[mlflow]'")
def test_mlflow_records_params_metrics_artifacts_and_the_model_in_a_local_store(run_cli, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    out = tmp_path / "outputs"
    result = run_cli(*MLP, "trainer.epochs=2", "logger=[tensorboard,mlflow]", f"paths.output_dir={out}",
                     run_dir=out / "mlp")
    assert result.code == 0, result.err
    assert (result.run_dir / "tensorboard").is_dir()  # both trackers at once
    record = json.loads((result.run_dir / "tracking.json").read_text())
    assert record["tracking_uri"] == f"sqlite:///{out}/mlflow.db"
    client = MlflowClient(record["tracking_uri"])
    run = client.get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "mlp"
    assert run.data.params["model.name"] == "mlp" and run.data.params["trainer.epochs"] == "2"
    assert run.data.tags["model"] == "mlp" and run.data.tags["data"] == "mnist"
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 2
    assert run.data.metrics["test_accuracy"] == pytest.approx(result.metrics()["test_accuracy"])
    files = {f.path for f in client.list_artifacts(run.info.run_id)} | {
        f.path for f in client.list_artifacts(run.info.run_id, "model")}
    assert {"loss.png", "config.yaml", "metrics.json", "history.csv", "model/best.keras"} <= files
    assert (out / "mlartifacts").is_dir()


@pytest.mark.skipif(not HAS_MLFLOW, reason="mlflow is an optional extra: pip install 'adl-runner[mlflow]'")
def test_an_mlflow_store_that_cannot_be_written_is_refused_before_training(run_cli, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run_cli(*MLP, "logger=mlflow", f"logger.mlflow.tracking_uri=sqlite:///{blocker}/mlflow.db").assert_error(
        f"logger.mlflow.tracking_uri=sqlite:///{blocker}/mlflow.db cannot be written", no_run_dir=True)


@pytest.mark.skipif(HAS_MLFLOW, reason="checks the message for a missing mlflow")
def test_logger_mlflow_without_the_extra_names_it(run_cli) -> None:
    run_cli(*MLP, "logger=mlflow").assert_error("logger=mlflow needs the mlflow package",
                                                "pip install 'adl-runner[mlflow]'", no_run_dir=True)

