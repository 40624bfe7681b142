"""MLflow (`logger=mlflow`, the optional extra `mlflow`): one MLflow run per job, by default in a
SQLite store beside the run dirs (`sqlite:///<paths.output_dir>/mlflow.db`, no server, no login;
MLflow's file store is deprecated), its files under `<paths.output_dir>/mlartifacts`.

The job's settings are its params, the numbers its metrics (each epoch or interval at the training
step, each episode at its number, the final ones at the last step), the run dir's figures, grids,
records and the trained model its artifacts, in the run dir's layout. `tracking.json` in the run
dir names the MLflow run, so a resumed job goes on in the same MLflow run. Metrics are sent in
batches (every `FLUSH_SECONDS`, or `FLUSH_METRICS` of them): a long episode loop does not wait on
the database every episode. MLflow's usage telemetry is off unless MLFLOW_DISABLE_TELEMETRY is set.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import unquote

from adl_runner.kernel.errors import ConfigError
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import MLflowConfig

FLUSH_SECONDS = 10.0
FLUSH_METRICS = 1000  # MLflow's most metrics per batch
PARAMS_PER_BATCH = 100  # MLflow's most params per batch
PARAM_LENGTH = 6000  # MLflow's longest param value
RUN_RECORD = "tracking.json"
STATUS = {"finished": "FINISHED", "failed": "FAILED", "killed": "KILLED"}


def open_mlflow(options: MLflowConfig, rundir: RunDir, params: Mapping[str, Any], tags: Mapping[str, str]) -> MLflowTracker:
    """The job's MLflow tracker, its store written once to prove it can be (else one ConfigError line)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError("logger=mlflow needs the mlflow package: pip install 'adl-runner[mlflow]' "
                          "(or leave mlflow out of the logger list)") from None
    for name in ("alembic", "mlflow"):  # the store's schema migrations log a line per step at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    uri = absolute_sqlite(options.tracking_uri)
    try:
        client = MlflowClient(uri)
        experiment = client.get_experiment_by_name(options.experiment)
        if experiment is None:
            location = Path(options.artifact_location).absolute().as_uri() if options.artifact_location else None
            experiment_id = client.create_experiment(options.experiment, artifact_location=location)
        else:
            experiment_id = experiment.experiment_id
        client.set_experiment_tag(experiment_id, "adl_runner.last_job", str(rundir.path))  # proves the store is writable
    except Exception as exc:  # MLflow and SQLAlchemy raise many types for a store they cannot open or write
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"logger.mlflow.tracking_uri={options.tracking_uri} cannot be written ({reason[:200]}); "
                          "give a writable store, e.g. sqlite:///<a writable folder>/mlflow.db") from None
    return MLflowTracker(client, experiment_id, uri, options, rundir, params, tags)


def absolute_sqlite(uri: str) -> str:
    """A `sqlite:///relative/path.db` URI made absolute (one store, whatever the working directory
    later), its folder created; any other URI as it is."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return uri
    path = Path(unquote(uri[len(prefix):])).absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        raise ConfigError(f"logger.mlflow.tracking_uri={uri} cannot be written ({reason}: {path.parent}); "
                          "give a writable store, e.g. sqlite:///<a writable folder>/mlflow.db") from None
    return prefix + str(path)


class MLflowTracker:
    def __init__(self, client: Any, experiment_id: str, uri: str, options: MLflowConfig, rundir: RunDir,
                 params: Mapping[str, Any], tags: Mapping[str, str]) -> None:
        self._client = client
        self._experiment_id = experiment_id
        self._uri = uri
        self._options = options
        self._rundir = rundir
        self._params = params
        self._tags = tags
        self._run_id: str | None = None
        self._pending: list[Any] = []
        self._flushed = time.monotonic()

    def _started(self) -> str:
        """The MLflow run: the one this run dir recorded (a resumed job), else a new one with the params."""
        if self._run_id is not None:
            return self._run_id
        from mlflow.entities import Param

        recorded = self._rundir.read_json(RUN_RECORD) or {}
        if recorded.get("tracking_uri") == self._uri and self._exists(recorded.get("run_id")):
            self._run_id = str(recorded["run_id"])
            self._client.update_run(self._run_id, status="RUNNING")
            return self._run_id
        run = self._client.create_run(self._experiment_id, tags=dict(self._tags), run_name=self._rundir.path.name)
        self._run_id = run.info.run_id
        params = [Param(key, str(value)[:PARAM_LENGTH]) for key, value in self._params.items()]
        for first in range(0, len(params), PARAMS_PER_BATCH):
            self._client.log_batch(self._run_id, params=params[first:first + PARAMS_PER_BATCH])
        self._rundir.write_json(RUN_RECORD, {"tracking_uri": self._uri, "experiment_id": self._experiment_id,
                                             "run_id": self._run_id})
        return self._run_id

    def _exists(self, run_id: Any) -> bool:
        if not run_id:
            return False
        try:
            self._client.get_run(str(run_id))
            return True
        except Exception:  # MlflowException: the store no longer holds it (a new or cleaned database)
            return False

    def metrics(self, values: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        self._started()
        now = int(time.time() * 1000)
        self._pending.extend(Metric(key, value, now, step) for key, value in values.items())
        if len(self._pending) >= FLUSH_METRICS or time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:FLUSH_METRICS], self._pending[FLUSH_METRICS:]
            self._client.log_batch(self._started(), metrics=batch)
        self._flushed = time.monotonic()

    def image(self, tag: str, path: Path, folder: str, step: int) -> None:
        self.file(path, folder)

    def file(self, path: Path, folder: str) -> None:
        self._client.log_artifact(self._started(), str(path), folder or None)

    def model(self, path: Path) -> None:
        if not self._options.log_model:
            return
        if path.is_dir():
            self._client.log_artifacts(self._started(), str(path), "model")
        else:
            self._client.log_artifact(self._started(), str(path), "model")

    def close(self, status: str) -> None:
        if self._run_id is None:
            return
        self._flush()
        self._client.set_terminated(self._run_id, STATUS[status])
