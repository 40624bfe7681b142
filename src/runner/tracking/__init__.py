"""Experiment trackers: the `logger` list of the config (`logger=[tensorboard,mlflow]`).

`run_task` enters `tracking(job, rundir)` once per job, whatever the family and the task, and
every part of the runner that produces a number or a file reports it to `active()`, the job's
`Tracking`:

    fit loop       each epoch's (a step run's: interval's) logs and every optimizer's learning
                   rate, at the training step (tracking/fit.py `TrackEpochs`)
    episode loop   each episode's return, running mean, steps, success, epsilon and loss, at the
                   episode (loops/episodes.py)
    ArtifactWriter every figure, image grid and progress grid (GAN grids each interval,
                   reconstructions, latent plots) as an image; networks, tables and records as files
    run_task       the final metrics.json numbers, config.yaml and the other run files, the trained
                   model, and the status (finished, failed, killed)

A tracker records nothing until the task reports its first number or file, so a job refused
during its set-up leaves no tracker output behind; a store that cannot be written (MLflow) is
refused when the job starts, before any data is loaded.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Protocol, Sequence

from adl_runner.runner.rundir import RunDir

if TYPE_CHECKING:  # the job is only read; the artifact writer imports this module
    from adl_runner.runner.resolve import Job


class Tracker(Protocol):
    """One experiment tracker. Every method may be called before the tracker has started."""

    def metrics(self, values: Mapping[str, float], step: int) -> None: ...

    def image(self, tag: str, path: Path, folder: str, step: int) -> None:
        """A PNG the run wrote, at `folder` in the run dir; `tag` names the series it belongs to."""

    def file(self, path: Path, folder: str) -> None:
        """A file (or folder) the run wrote, at `folder` in the run dir."""

    def model(self, path: Path) -> None:
        """A trained model: a .keras file or an agent's checkpoint folder."""

    def close(self, status: str) -> None:
        """The job ended: `finished`, `failed` or `killed`."""


class Tracking:
    """The job's trackers as one, and the step the run is at (what images and final numbers are
    recorded at when their caller has no step of its own)."""

    def __init__(self, trackers: Sequence[Tracker] = (), root: Optional[Path] = None) -> None:
        self.trackers = list(trackers)
        self.root = root
        self.step = 0

    def metrics(self, values: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Record the numbers among `values` (None, text and flags are left out)."""
        if step is not None:
            self.step = step
        numbers = numeric(values)
        if numbers:
            for tracker in self.trackers:
                tracker.metrics(numbers, self.step)

    def image(self, tag: str, path: Path, step: Optional[int] = None) -> None:
        for tracker in self.trackers:
            tracker.image(tag, path, self._folder(path), self.step if step is None else step)

    def file(self, path: Path) -> None:
        for tracker in self.trackers:
            tracker.file(path, self._folder(path))

    def model(self, path: Path) -> None:
        for tracker in self.trackers:
            tracker.model(path)

    def finish(self, metrics: Mapping[str, Any], rundir: RunDir, trained: Optional[Path]) -> None:
        """The task's final numbers and run files, and the model it trained (None: it trained none)."""
        if not self.trackers:
            return
        self.metrics({key: value for key, value in metrics.items() if key not in HYPERPARAMETER_GROUPS})  # not `seed`
        for name in RUN_FILES:
            if rundir.file(name).exists():
                self.file(rundir.file(name))
        if trained is not None:
            self.model(trained)

    def close(self, status: str) -> None:
        for tracker in self.trackers:
            tracker.close(status)

    def _folder(self, path: Path) -> str:
        """Where `path` lies in the run dir ('' at its top): trackers that keep files keep that layout."""
        if self.root is None or not path.is_relative_to(self.root):
            return ""
        parent = path.parent.relative_to(self.root)
        return "" if parent == Path(".") else parent.as_posix()


RUN_FILES = ("config.yaml", "metrics.json", "history.csv", "summary.md", "model_summary.txt")
"""What every tracker that keeps files gets at the end of a job, when the task wrote it."""

_ACTIVE: ContextVar[Optional[Tracking]] = ContextVar("tracking", default=None)


def active() -> Tracking:
    """The trackers of the job running now (none outside a job)."""
    return _ACTIVE.get() or Tracking()


def numeric(values: Mapping[str, Any]) -> dict[str, float]:
    """The real numbers of `values` (a bool is a flag, not a metric)."""
    return {key: float(value) for key, value in values.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


def hyperparameters(config: Mapping[str, Any]) -> dict[str, Any]:
    """The job's settings as flat `group.key` values (bool, number or text; a list is its text):
    what TensorBoard's HParams dashboard and MLflow's params show. Paths and the loggers themselves
    are left out: they say where a run went, not what it was."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        else:
            flat[prefix] = value if isinstance(value, (bool, int, float, str)) else str(value)

    walk("", {key: value for key, value in config.items() if key in HYPERPARAMETER_GROUPS})
    return flat


HYPERPARAMETER_GROUPS = ("seed", "task", "model", "dataset", "optimizer", "trainer", "env")


def open_trackers(job: Job, rundir: RunDir) -> list[Tracker]:
    """The trackers `job.logger` lists, ready to record (an unwritable MLflow store is refused here)."""
    params = hyperparameters(job.config)
    trackers: list[Tracker] = []
    if job.logger.tensorboard is not None:
        from adl_runner.runner.tracking.tensorboard import TensorBoardTracker

        trackers.append(TensorBoardTracker(rundir.file("tensorboard"), params if job.logger.tensorboard.hparams else None))
    if job.logger.mlflow is not None:
        from adl_runner.runner.tracking.mlflow_store import open_mlflow

        trackers.append(open_mlflow(job.logger.mlflow, rundir, params, run_tags(job)))
    return trackers


def run_tags(job: Job) -> dict[str, str]:
    """What a run list filters by: the model, its data (dataset or env) and the task."""
    data = job.env.get("name") if job.env else job.dataset_config.name
    return {"model": job.model.name, "data": str(data), "task": job.task.value, "run_dir": str(job.run_dir)}


@contextlib.contextmanager
def tracking(trackers: Sequence[Tracker], rundir: RunDir) -> Iterator[Tracking]:
    """`trackers` (`open_trackers`) active while the job's task runs; closed with its status."""
    current = Tracking(trackers, rundir.path)
    token = _ACTIVE.set(current)
    status = "failed"
    try:
        yield current
        status = "finished"
    except KeyboardInterrupt:
        status = "killed"
        raise
    finally:
        _ACTIVE.reset(token)
        current.close(status)
