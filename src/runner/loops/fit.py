"""The fit loop: `model.fit` over tf.data with the runner's callbacks, resumable by epoch.

Every model family whose training is `fit` (classifiers today; autoencoders, VAEs, GANs with their
own `train_step` later) goes through here, so checkpoints, resume, schedules, logs and NaN
handling exist once.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from adl_runner.kernel.custom_step import scaled_optimizers
from adl_runner.kernel.errors import RunnerError
from adl_runner.kernel.keras_state import save_model
from adl_runner.runner.callbacks import (
    Checkpoints,
    LearningRateControl,
    LossDiverged,
    StopOnNaN,
    load_resumable,
    lower_learning_rate,
    renumbered_state,
    state_for_epoch,
)
from adl_runner.runner.loops.evaluate import Validation
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import TrainerConfig

log = logging.getLogger("runner")


@dataclass
class FitData:
    """What the loop needs from the data layer."""

    train: tf.data.Dataset
    steps_per_epoch: int
    validation: tf.data.Dataset | None
    train_from: Callable[[int], tf.data.Dataset] | None = None
    """The training stream starting at a given epoch: what a NaN roll-back replays from
    (None: this family cannot roll back, and `nan_policy=recover` stops like `stop`)."""


@dataclass
class FitOutcome:
    """The model at the end of training (a roll-back replaces the object) and how often it rolled back."""

    model: keras.Model
    nan_recoveries: int


def progress_verbosity(setting: str) -> int:
    """Keras verbosity: a bar on a terminal, one line per epoch in logs, or nothing."""
    if setting == "auto":
        return 1 if sys.stdout.isatty() else 2
    return {"bar": 1, "line": 2, "none": 0}[setting]


def _history_lines(rundir: RunDir) -> list[str]:
    """history.csv's lines (header first; none when there is no file), every row checked to start
    with its epoch number."""
    path = rundir.file("history.csv")
    if not path.exists():
        return []
    lines = path.read_text().splitlines(keepends=True)
    for number, line in enumerate(lines[1:], start=2):
        if not line.split(",", 1)[0].strip().isdigit():
            # A row we cannot date would be kept, dropped or renumbered blindly; the file is left as it is.
            raise RunnerError(
                f"{path} line {number} is not a history row (it should start with an epoch number, "
                f"got {line.strip()[:40]!r}); repair or move the file away, then re-run to resume"
            )
    return lines


def _epoch_of(line: str) -> int:
    return int(line.split(",", 1)[0])


def trim_history(rundir: RunDir, epochs_kept: int) -> None:
    """Drop history rows of epochs after the checkpoint we resume from.

    A kill after the CSV row of an epoch was written but before its checkpoint was saved leaves
    a row for an epoch that will be trained again.
    """
    lines = _history_lines(rundir)
    kept = lines[:1] + [line for line in lines[1:] if _epoch_of(line) < epochs_kept]
    if kept != lines:
        rundir.write_text("history.csv", "".join(kept))


def renumber_history(rundir: RunDir, ratio: int) -> None:
    """Number history.csv's rows in epochs `ratio` times shorter: a row keeps the step it ended at."""
    lines = _history_lines(rundir)
    rows = [f"{(_epoch_of(line) + 1) * ratio - 1},{line.split(',', 1)[1]}" for line in lines[1:]]
    if rows:
        rundir.write_text("history.csv", "".join(lines[:1] + rows))


def continued_trainer(rundir: RunDir, trainer: TrainerConfig, steps_done: int) -> TrainerConfig:
    """The trainer config that continues `rundir`'s step run from its checkpoint after `steps_done`
    steps, at an interval that divides the run's own (`TrainerConfig.continued_after`).

    When the interval shrinks, the run's epoch-numbered records (state.json, history.csv) are
    renumbered in the new epochs, so that one run's epochs stay one unit. state.json is rewritten
    first: a kill between the two writes can leave history.csv in the old unit, never renumbered
    twice. A run without its interval in state.json (written before it was recorded) continues
    after `steps_done`, a multiple of it, and keeps its records as they are.
    """
    state = rundir.read_json("checkpoints/state.json") or {}
    recorded = state.get("steps_per_epoch")
    continued = trainer.continued_after(recorded or steps_done)
    if recorded and continued.steps is not None and continued.steps_per_epoch != recorded:
        ratio = recorded // continued.steps_per_epoch
        rundir.write_json("checkpoints/state.json", renumbered_state(state, ratio))
        renumber_history(rundir, ratio)
    return continued


def fit(
    model: keras.Model,
    data: FitData,
    trainer: TrainerConfig,
    rundir: RunDir,
    *,
    initial_epoch: int,
    base_lr: float,
    resume_state: dict | None,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
    load: Callable[[Path], keras.Model] | None = None,
    unmeasured: Callable[[], Sequence[str]] = tuple,
) -> FitOutcome:
    """Train from `initial_epoch` to `trainer.epochs`, checkpointing every epoch.

    `extra_callbacks` (progress grids, quality measurements) run before the CSV log and the
    checkpoint, so that what they add to the epoch's logs is recorded and can be monitored.

    With `trainer.nan_policy=recover` (and `load`, the checkpoint loader, and `data.train_from`),
    a NaN/Inf loss (or one above `trainer.loss_bound`) rolls the model back to the last good checkpoint, lowers the learning rate by
    `nan_recovery.lr_factor` (every optimizer's, at its scale: `scaled_optimizers`) and trains on from
    there, at most `nan_recovery.max_trials` times. `unmeasured()`: the family's evaluators that
    reported nothing this epoch (`Checkpoints.check_monitor`).
    Like TF Model Garden's recovery trials, divergence is judged per invocation and the roll-back
    goes to a checkpoint on disk, not to weights in memory; unlike it, the learning rate is lowered,
    since replaying the same seeded batches at the same rate would diverge the same way.
    """
    lr_control = (
        LearningRateControl(base_lr, trainer.lr_schedule, trainer.plateau)
        if trainer.lr_schedule.boundaries or trainer.plateau.enabled
        else None
    )
    monitor = trainer.checkpoint.monitor
    if data.validation is None and monitor.startswith("val_"):
        monitor = monitor[len("val_"):]  # no validation data: judge the best epoch on training metrics
    checkpoints = Checkpoints(rundir, monitor, trainer.checkpoint.mode, [lr_control] if lr_control else [],
                              data.steps_per_epoch, trainer.checkpoint.keep, trainer.checkpoint.monitor, unmeasured)
    if resume_state:
        checkpoints.restore(state_for_epoch(resume_state, initial_epoch))
    recover = trainer.nan_policy == "recover" and load is not None and data.train_from is not None
    if recover or lr_control is not None:
        scaled_optimizers(model)  # refuses an optimizer it cannot set now, not at an epoch start or roll-back
    if recover and not rundir.resume_candidates():
        # Epoch 1 may diverge too: keep the starting weights as the checkpoint to roll back to.
        rundir.write_atomic(rundir.last_checkpoint, lambda p: save_model(model, p))
    train = data.train
    recoveries = 0
    lowered: float | None = None  # the rate (or schedule scale) after the latest roll-back
    while True:
        if initial_epoch > 0:
            trim_history(rundir, initial_epoch)
        try:
            _fit_once(model, train, data, trainer, rundir, initial_epoch, lr_control, checkpoints, extra_callbacks)
            return FitOutcome(model, recoveries)
        except LossDiverged as exc:
            if not recover:
                raise
            if recoveries >= trainer.nan_recovery.max_trials:
                raise LossDiverged(
                    f"{exc} (gave up after {recoveries} roll-backs with nan_recovery.lr_factor="
                    f"{trainer.nan_recovery.lr_factor:g}; raise trainer.nan_recovery.max_trials or lower "
                    f"optimizer.learning_rate)",
                    exc.epoch,
                    exc.step,
                    exc.what,
                ) from None
            recoveries += 1
            assert load is not None and data.train_from is not None  # checked by `recover`
            model, path = load_resumable(rundir, load)
            steps = data.steps_per_epoch
            initial_epoch = int(model.optimizer.iterations.numpy()) // steps
            lowered = lower_learning_rate(model, trainer.nan_recovery.lr_factor, lr_control, lowered)
            log.warning(
                "loss diverged at epoch %d, step %d (%s); roll-back %d of %d to %s (epoch %d), learning rate now %s",
                exc.epoch + 1, exc.step + 1, exc.what, recoveries, trainer.nan_recovery.max_trials, path.name,
                initial_epoch, f"x{lowered:g} of the schedule" if lr_control is not None else f"{lowered:g}",
            )
            train = data.train_from(initial_epoch)


def build_before_tracing(model: keras.Model, batches: tf.data.Dataset) -> None:
    """Create the optimizer's and the compiled metrics' variables of a model that trains with Keras'
    own `train_step`, from the batches' specs, before `fit` traces its train function.

    Without a distribution strategy Keras creates them inside that first trace, and a
    `tf.function` that created variables is traced a second time: one whole trace of the train
    step (about 0.2 s CPU for the MLP, more for deeper networks) per job. Keras builds them this
    way itself under a strategy (`_maybe_symbolic_build`); the variables are the same zeros, so
    the training is bit-identical (tests/runner/test_build_before_tracing.py). A family with its
    own `train_step` is left as it is: its optimizers may serve other variables than the model's.
    """
    symbolic_build = getattr(model, "_symbolic_build", None)  # Keras-private; without it, only the retrace stays
    if type(model).train_step is not keras.Model.train_step or symbolic_build is None or model.optimizer is None:
        return
    with model.distribute_strategy.scope():
        symbolic_build(data_batch=batches.element_spec)


def _fit_once(
    model: keras.Model,
    train: tf.data.Dataset,
    data: FitData,
    trainer: TrainerConfig,
    rundir: RunDir,
    initial_epoch: int,
    lr_control: LearningRateControl | None,
    checkpoints: Checkpoints,
    extra_callbacks: Sequence[keras.callbacks.Callback],
) -> None:
    # Order matters: the lr is logged before the CSV row is written, checkpoints come last so
    # that state.json includes this epoch's plateau bookkeeping.
    # Validation first, as Keras' own validation runs before any callback's epoch end.
    callbacks: list[keras.callbacks.Callback] = [Validation(data.validation)] if data.validation is not None else []
    callbacks.append(StopOnNaN(rundir, trainer.loss_bound))
    if lr_control is not None:
        callbacks.append(lr_control)
    callbacks.extend(extra_callbacks)
    callbacks.append(keras.callbacks.CSVLogger(str(rundir.file("history.csv")), append=initial_epoch > 0))
    callbacks.append(checkpoints)
    build_before_tracing(model, train)
    model.fit(
        train,
        epochs=trainer.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=data.steps_per_epoch,
        callbacks=callbacks,
        shuffle=False,  # the stream is already a seeded permutation per epoch
        verbose=progress_verbosity(trainer.verbose),
    )
