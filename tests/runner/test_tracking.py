"""The trackers (runner.tracking): the `logger` list, the fan-out to every tracker in the run dir's
layout, what the artifact writer forwards, and TensorBoard's event files as TensorBoard reads them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from adl_runner.kernel.errors import ConfigError
from adl_runner.runner.artifacts import ArtifactWriter
from adl_runner.runner.cli import CONF_DIR
from adl_runner.runner.resolve import typed_trackers
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import LoggerConfig, MLflowConfig, TensorBoardConfig
from adl_runner.runner.tracking import Tracking, active, hyperparameters, tracking
from adl_runner.runner.tracking.tensorboard import TensorBoardTracker


class Recorder:
    """A tracker that keeps what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.status: str | None = None

    def metrics(self, values, step):
        self.calls.append(("metrics", dict(values), step))

    def image(self, tag, path, folder, step):
        self.calls.append(("image", tag, Path(path).name, folder, step))

    def file(self, path, folder):
        self.calls.append(("file", Path(path).name, folder))

    def model(self, path):
        self.calls.append(("model", Path(path).name))

    def close(self, status):
        self.status = status


def _trackers(*overrides: str) -> LoggerConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    return typed_trackers(OmegaConf.to_object(cfg).logger)


@pytest.mark.parametrize("overrides, tensorboard, mlflow", [
    ((), True, False),                               # the default list: [tensorboard]
    (("logger=[tensorboard,mlflow]",), True, True),
    (("+logger=mlflow",), True, True),               # adds to the default list
    (("logger=mlflow",), False, True),
    (("logger=[]",), False, False),
    (("logger.tensorboard=false",), False, False),   # the older switch still works
])
def test_the_logger_list_chooses_the_trackers(overrides, tensorboard: bool, mlflow: bool) -> None:
    logger = _trackers(*overrides)
    assert isinstance(logger.tensorboard, TensorBoardConfig) == tensorboard
    assert isinstance(logger.mlflow, MLflowConfig) == mlflow
    assert logger.plots and logger.summary


def test_mlflow_defaults_to_a_sqlite_store_beside_the_run_dirs() -> None:
    logger = _trackers("logger=mlflow", "paths.output_dir=/data/out", "logger.mlflow.experiment=mine")
    assert logger.mlflow.tracking_uri == "sqlite:////data/out/mlflow.db"
    assert logger.mlflow.artifact_location == "/data/out/mlartifacts"
    assert logger.mlflow.experiment == "mine"


def test_bad_tracker_settings_are_one_line() -> None:
    with pytest.raises(ConfigError, match="logger.tensorboard expects true, false or its settings"):
        typed_trackers(LoggerConfig(tensorboard="yes"))
    with pytest.raises(ConfigError, match="logger.tensorboard"):
        typed_trackers(LoggerConfig(tensorboard={"hparam": True}))
    assert typed_trackers(LoggerConfig(tensorboard=True)).tensorboard == TensorBoardConfig()


def test_tracking_sends_numbers_only_and_keeps_the_run_dir_layout(tmp_path: Path) -> None:
    recorder = Recorder()
    tracked = Tracking([recorder], tmp_path)
    tracked.metrics({"loss": 0.5, "epochs": 3, "status": "completed", "solved": True, "best": None}, step=7)
    tracked.image("grids", tmp_path / "grids" / "00007.png")
    tracked.file(tmp_path / "metrics.json")
    assert recorder.calls == [("metrics", {"loss": 0.5, "epochs": 3.0}, 7),
                              ("image", "grids", "00007.png", "grids", 7), ("file", "metrics.json", "")]


def test_the_artifact_writer_reports_to_the_job_s_trackers(tmp_path: Path) -> None:
    recorder, rundir = Recorder(), RunDir(tmp_path)
    with tracking([recorder], rundir):
        out = ArtifactWriter(rundir)
        out.progress_grid(40, np.zeros((4, 8, 8)), cols=2)
        out.progress_grid(40, np.zeros((4, 8, 8)), cols=2, series="fixed")
        out.image_grid("samples", np.zeros((4, 8, 8)), cols=2)
        out.record("predictions", {"a": 1})
        out.network("generator", keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    assert active().trackers == []  # none once the job is over
    assert recorder.calls == [("image", "grids", "00040.png", "grids", 40), ("image", "grids/fixed", "00040.png", "grids/fixed", 40),
                              ("image", "samples", "samples.png", "", 0), ("file", "predictions.json", ""),
                              ("model", "generator.keras")]
    assert recorder.status == "finished"
    failed = Recorder()
    with pytest.raises(ConfigError), tracking([failed], rundir):
        raise ConfigError("stopped")
    assert failed.status == "failed"


def test_hyperparameters_are_flat_settings_without_paths_or_loggers() -> None:
    config = {"seed": 1, "model": {"name": "mlp", "hidden_units": [256, 256]}, "trainer": {"caps": {"steps": None}},
              "paths": {"output_dir": "/x"}, "logger": {"plots": True}}
    assert hyperparameters(config) == {"seed": 1, "model.name": "mlp", "model.hidden_units": "[256, 256]",
                                       "trainer.caps.steps": "None"}


def test_tensorboard_gets_scalars_images_and_hyperparameters(tmp_path: Path) -> None:
    logdir = tmp_path / "tensorboard"
    tracker = TensorBoardTracker(logdir, {"model.name": "dcgan", "seed": 1})
    assert not logdir.exists()  # nothing until the first record: a refused job leaves no event file
    png = tmp_path / "grid.png"
    Image.fromarray(np.zeros((6, 10, 3), dtype=np.uint8)).save(png)
    tracker.metrics({"loss": 0.25, "learning_rate/generator": 1e-4}, step=500)
    tracker.image("grids", png, "grids", step=500)
    tracker.metrics({"loss": 0.125}, step=1000)
    tracker.close("finished")
    events = EventAccumulator(str(logdir), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(500, 0.25), (1000, 0.125)]
    assert [(e.step, e.value) for e in events.Scalars("learning_rate/generator")] == [(500, pytest.approx(1e-4))]
    assert [(e.step, e.width, e.height) for e in events.Images("grids")] == [(500, 10, 6)]
    started = HParamsPluginData.FromString(events.PluginTagToContent("hparams")["_hparams_/session_start_info"])
    assert started.session_start_info.hparams["model.name"].string_value == "dcgan"
    assert started.session_start_info.hparams["seed"].number_value == 1


@pytest.mark.slow  # about 20 s: the store's first use creates its tables (MLflow's alembic migrations)
@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None,
                    reason="mlflow is an optional extra: pip install 'adl-runner[mlflow]'")
def test_mlflow_records_a_run_in_a_local_sqlite_store_and_a_resumed_job_goes_on_in_it(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from adl_runner.runner.tracking.mlflow_store import open_mlflow

    options = MLflowConfig(tracking_uri=f"sqlite:///{tmp_path}/store/mlflow.db", experiment="tests",
                           artifact_location=str(tmp_path / "mlartifacts"))
    rundir = RunDir(tmp_path / "job")
    rundir.path.mkdir()
    (rundir.path / "loss.png").write_bytes(b"png")
    (rundir.path / "best.keras").write_bytes(b"zip")
    tracker = open_mlflow(options, rundir, {"model.name": "mlp", "seed": 1}, {"model": "mlp"})
    tracker.metrics({"loss": 0.5}, step=1)
    tracker.image("curves", rundir.path / "loss.png", "curves", step=1)
    tracker.model(rundir.path / "best.keras")
    tracker.close("killed")
    again = open_mlflow(options, rundir, {"model.name": "mlp", "seed": 1}, {"model": "mlp"})  # the job resumed
    again.metrics({"loss": 0.25}, step=2)
    again.close("finished")

    client = MlflowClient(options.tracking_uri)
    (run,) = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "job"
    assert run.data.params == {"model.name": "mlp", "seed": "1"} and run.data.tags["model"] == "mlp"
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")] == [(1, 0.5), (2, 0.25)]
    files = {f.path for f in client.list_artifacts(run.info.run_id, "curves")} | {
        f.path for f in client.list_artifacts(run.info.run_id, "model")}
    assert files == {"curves/loss.png", "model/best.keras"}
    assert (tmp_path / "mlartifacts").is_dir()
