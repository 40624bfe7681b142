"""What every task shares: TensorFlow set-up, checkpoint loading, config provenance and the end of
a task (metrics.json, run.json, the final log lines)."""

from __future__ import annotations

import logging
import time
import zipfile
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf
import yaml

from adl_runner.data.store import DataStore
from adl_runner.kernel.errors import CheckpointError, RunnerError
from adl_runner.kernel.keras_state import restore_from_file
from adl_runner.kernel.provenance import run_info
from adl_runner.runner.families import load_families
from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import PIXEL_MEAN, RunDir
from adl_runner.runner.schema import DatasetConfig
from adl_runner.runner.stages import STAGES
from adl_runner.runner.summary import write_summary

log = logging.getLogger("runner")


def configure_tensorflow(job: Job) -> None:
    # Fresh layer names, settings (the dtype policy) and graph state for every job of a process. The
    # garbage collection that frees an earlier job's models only where one ran: with TensorFlow
    # loaded it costs 0.15 s of CPU, a tenth of a smoke job's own work.
    keras.backend.clear_session(free_memory=STAGES.jobs > 1)
    keras.utils.set_random_seed(job.seed)
    if job.trainer.deterministic:
        tf.config.experimental.enable_op_determinism()


RUN_DIR_CHECKPOINTS = ("best.keras", "last.keras")
"""What `ckpt=<run dir>` of a fit-loop run stands for: its best checkpoint, else its last."""


def required_checkpoint(job: Job, hint: str = "<run dir, or a .keras checkpoint in it>") -> Path:
    """The `ckpt=` of a task that needs one; a run dir stands for its checkpoint (RUN_DIR_CHECKPOINTS)."""
    if job.ckpt is None:
        raise RunnerError(f"task={job.task.value} needs ckpt={hint}")
    folder = job.ckpt / "checkpoints"
    if not folder.is_dir():
        return job.ckpt
    for name in RUN_DIR_CHECKPOINTS:
        if (folder / name).exists():
            return folder / name
    raise CheckpointError(f"run dir {job.ckpt} holds no checkpoint ({', '.join(RUN_DIR_CHECKPOINTS)} in checkpoints/); "
                          "was its training interrupted before the first one?")


def load_checkpoint(path: str | Path) -> keras.Model:
    """Load a .keras file in safe mode (no arbitrary code from lambdas) with its random generators'
    states (`kernel.keras_state`), or a one-line error."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; pass ckpt=<run dir>/checkpoints/best.keras or last.keras")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise CheckpointError(f"checkpoint {path} is not a Keras .keras file (a zip archive written by model.save)")
    load_families()  # families register their custom layers and models (e.g. the VAE) on import
    try:
        model = keras.saving.load_model(path, safe_mode=True)
        restore_from_file(model, path)  # the random generators' states (dropout, noise), if saved
        return model
    except Exception as exc:  # Keras raises many types for a damaged or foreign archive
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} could not be loaded as a Keras model: {first_line}") from None


def load_for_inference(job: Job, ckpt: Path) -> keras.Model:
    """`load_checkpoint`, then the family's `for_inference` hook with this command's model options."""
    model = load_checkpoint(ckpt)
    adapt = getattr(job.model.spec, "for_inference", None)
    if adapt is not None:
        adapt(model, job.model_options)
    return model


def restore_pixel_mean(pipeline: Any, ckpt: Path) -> None:
    """Make a pipeline that subtracts a pixel mean (dataset.subtract_pixel_mean) subtract the one
    the checkpoint's training did, saved beside it (`RunDir.pixel_mean_file`), not one recomputed
    from this command's split; a run saved before that file existed keeps the recomputed one."""
    saved = ckpt.parent / PIXEL_MEAN
    if getattr(pipeline, "pixel_mean", None) is None:
        return
    if saved.exists():
        pipeline.use_pixel_mean(np.load(saved))
    else:
        log.info("no %s beside %s: the pixel mean is recomputed from this command's training split", PIXEL_MEAN, ckpt)


def loaded_dataset(job: Job, dataset: DatasetConfig) -> Any:
    """The job's dataset loaded from its data dir (offline first, checksums as `dataset` says)."""
    store = DataStore(Path(job.data_dir), verify=dataset.verify_checksums, download=dataset.download)
    return job.dataset.build(store, job.dataset_options)


def write_config(rundir: RunDir, job: Job) -> None:
    rundir.write_text("config.yaml", job.config_yaml)


def check_resumable(rundir: RunDir, job: Job, keys: Sequence[str]) -> None:
    """Refuse to resume, in the same dir, a run whose `keys` config (groups, or dotted keys such as
    `trainer.batch_size`) differs from this job's, naming each differing key with both values."""
    saved_path = rundir.file("config.yaml")
    if not saved_path.exists():
        return
    saved = yaml.safe_load(saved_path.read_text()) or {}
    for key in keys:
        if "." in key and _at(saved, key) is _MISSING:
            continue  # a run written before this key existed ran at its default
        changed = config_differences(_at(saved, key), _at(job.config, key), key)
        if changed:
            listed = "; ".join(changed[:_SHOWN]) + (f"; and {len(changed) - _SHOWN} more" if len(changed) > _SHOWN else "")
            raise RunnerError(
                f"run dir {rundir.path} holds a run with a different {key} config ({listed}); "
                f"re-run with its own config to resume (only a larger budget, trainer.epochs, steps or "
                f"episodes, continues a run), or choose a new hydra.run.dir"
            )


def _at(config: dict[str, Any], key: str) -> Any:
    """The value at a dotted `key` (`trainer.precision`), or _MISSING."""
    for part in key.split("."):
        config = config.get(part, _MISSING) if isinstance(config, dict) else _MISSING
    return config


_SHOWN = 5
"""Differing keys named by a resume refusal (another model differs in many)."""
_MISSING = object()


def config_differences(run: Any, command: Any, key: str) -> list[str]:
    """`key.sub: <the run's value> (the run) vs <this command's> (this command)` for each leaf where
    two configs differ."""
    if isinstance(run, dict) and isinstance(command, dict):
        return [line for sub in dict.fromkeys([*run, *command])
                for line in config_differences(run.get(sub, _MISSING), command.get(sub, _MISSING), f"{key}.{sub}")]
    if run is _MISSING and _unset(command):
        return []  # an option added after the run was written, left off here: the run ran without it too
    return [] if run == command else [f"{key}: {_shown(run)} (the run) vs {_shown(command)} (this command)"]


def _unset(value: Any) -> bool:
    """Whether `value` is None, or a group whose every leaf is None."""
    if isinstance(value, dict):
        return all(_unset(sub) for sub in value.values())
    return value is None


def _shown(value: Any) -> str:
    return "(not set)" if value is _MISSING else str(value)


def already_done(rundir: RunDir, done: dict[str, Any] | None, unit: str, budget: int) -> bool:
    """Whether `done` (the run dir's metrics.json) is a completed run of at least `budget` `unit`
    (epochs, steps or episodes), said in one log line. A lower budget than was trained is no
    error: training cannot be undone, and the run dir keeps what it holds."""
    if not done or done.get("status") != "completed":
        return False
    completed = int(done.get(f"{unit}_completed", 0))
    if completed < budget:
        return False
    if completed == budget:
        log.info("%s already holds this completed run; nothing to do", rundir.path)
    else:
        log.info("%s already holds %d %s, more than trainer.%s=%d; nothing to do (a budget below what is done "
                 "does not undo training)", rundir.path, completed, unit, unit, budget)
    return True


def finish(rundir: RunDir, job: Job, started: float, metrics: dict[str, Any]) -> dict[str, Any]:
    """Write metrics.json and run.json, then summary.md, and print the end summary (runner.summary)."""
    STAGES.lap("artifacts")
    finished = time.time()
    metrics["wall_time_s"] = round(finished - started, 3)
    rundir.write_json("metrics.json", metrics)
    rundir.write_json("run.json", run_info(job.seed, started, finished, {"task": metrics["task"], "stages": STAGES.record()}))
    split = metrics.get("split", "test")  # what the final evaluation measured
    if metrics.get(f"{split}_accuracy") is not None:
        print(f"{split.capitalize()} accuracy: {100 * metrics[f'{split}_accuracy']:.1f}%")  # the book's line
    print(write_summary(rundir, metrics))
    print(STAGES.line())
    return metrics
