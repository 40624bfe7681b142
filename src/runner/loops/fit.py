"""The fit loop: `model.fit` over tf.data with the runner's callbacks, resumable by epoch.

Every model family whose training is `fit` (classifiers today; autoencoders, VAEs, GANs with their
own `train_step` later) goes through here, so checkpoints, resume, schedules, logs and NaN
handling exist once.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import keras
import tensorflow as tf

from runner.callbacks import Checkpoints, LearningRateControl, StopOnNaN
from runner.rundir import RunDir
from runner.schema import TrainerConfig


@dataclass
class FitData:
    """What the loop needs from the data layer."""

    train: tf.data.Dataset
    steps_per_epoch: int
    validation: tf.data.Dataset | None


def progress_verbosity(setting: str) -> int:
    """Keras verbosity: a bar on a terminal, one line per epoch in logs, or nothing."""
    if setting == "auto":
        return 1 if sys.stdout.isatty() else 2
    return {"bar": 1, "line": 2, "none": 0}[setting]


def trim_history(rundir: RunDir, epochs_kept: int) -> None:
    """Drop history rows of epochs after the checkpoint we resume from.

    A kill after the CSV row of an epoch was written but before its checkpoint was saved leaves
    a row for an epoch that will be trained again.
    """
    path = rundir.file("history.csv")
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [line for line in lines[1:] if int(line.split(",", 1)[0]) < epochs_kept]
    if kept != lines:
        rundir.write_text("history.csv", "".join(kept))


def fit(
    model: keras.Model,
    data: FitData,
    trainer: TrainerConfig,
    rundir: RunDir,
    *,
    initial_epoch: int,
    base_lr: float,
    tensorboard: bool,
    resume_state: dict | None,
    extra_callbacks: list[keras.callbacks.Callback] = (),
) -> None:
    """Train from `initial_epoch` to `trainer.epochs`, checkpointing every epoch.
    `extra_callbacks` (progress grids, quality measurements) run before the CSV log and the
    checkpoint, so that what they add to the epoch's logs is recorded and can be monitored."""
    lr_control = (
        LearningRateControl(base_lr, trainer.lr_schedule, trainer.plateau)
        if trainer.lr_schedule.boundaries or trainer.plateau.enabled
        else None
    )
    monitor = trainer.checkpoint.monitor
    if data.validation is None and monitor.startswith("val_"):
        monitor = monitor[len("val_"):]  # no validation data: judge the best epoch on training metrics
    if initial_epoch > 0:
        trim_history(rundir, initial_epoch)
    checkpoints = Checkpoints(rundir, monitor, trainer.checkpoint.mode, [lr_control] if lr_control else [])
    if resume_state:
        checkpoints.restore(resume_state)
    # Order matters: the lr is logged before the CSV row is written, checkpoints come last so
    # that state.json includes this epoch's plateau bookkeeping.
    callbacks: list[keras.callbacks.Callback] = [StopOnNaN(rundir)]
    if lr_control is not None:
        callbacks.append(lr_control)
    callbacks.extend(extra_callbacks)
    callbacks.append(keras.callbacks.CSVLogger(str(rundir.file("history.csv")), append=initial_epoch > 0))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(rundir.file("tensorboard"))))
    callbacks.append(checkpoints)
    model.fit(
        data.train,
        epochs=trainer.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=data.steps_per_epoch,
        validation_data=data.validation,
        callbacks=callbacks,
        shuffle=False,  # the stream is already a seeded permutation per epoch
        verbose=progress_verbosity(trainer.verbose),
    )
