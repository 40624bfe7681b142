"""Keras callbacks of the fit loop: checkpoints for resume, the learning-rate control, NaN guard."""

from __future__ import annotations

import math
import shutil
import time
from typing import Any, Callable

import keras
import numpy as np

from runner.errors import RunnerError
from runner.rundir import RunDir
from runner.schema import LRScheduleConfig, PlateauConfig


class Checkpoints(keras.callbacks.Callback):
    """Saves `last.keras` every epoch and `best.keras` on improvement, atomically.

    The epoch to resume from is not stored beside the checkpoint but derived from the optimizer's
    step counter inside it, so a kill between two writes can never pair weights with a wrong epoch.
    `state.json` holds what only the callbacks know (best value so far, plateau state).
    """

    def __init__(self, rundir: RunDir, monitor: str, mode: str, extra_state: list[keras.callbacks.Callback]) -> None:
        super().__init__()
        self.rundir = rundir
        self.monitor = monitor
        self.better = np.greater if mode == "max" else np.less
        self.best = -math.inf if mode == "max" else math.inf
        self.best_epoch: int | None = None
        self.extra_state = extra_state
        self.started = time.time()
        self.earlier_seconds = 0.0  # training time of earlier, interrupted invocations

    def restore(self, state: dict) -> None:
        self.best = state.get("best", self.best)
        self.best_epoch = state.get("best_epoch")
        self.earlier_seconds = float(state.get("train_seconds", 0.0))
        for cb in self.extra_state:
            cb.set_state(state.get(type(cb).__name__, {}))  # type: ignore[attr-defined]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.rundir.write_atomic(self.rundir.last_checkpoint, lambda p: self.model.save(p))
        value = logs.get(self.monitor)
        if value is not None and self.better(value, self.best):
            self.best, self.best_epoch = float(value), epoch + 1
            self.rundir.write_atomic(
                self.rundir.best_checkpoint, lambda p: shutil.copyfile(self.rundir.last_checkpoint, p)
            )
        state = {
            "epochs_completed": epoch + 1,
            "monitor": self.monitor,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "train_seconds": round(self.earlier_seconds + time.time() - self.started, 3),
        }
        state.update({type(cb).__name__: cb.get_state() for cb in self.extra_state})  # type: ignore[attr-defined]
        self.rundir.write_json("checkpoints/state.json", state)


class LearningRateControl(keras.callbacks.Callback):
    """The book's step schedule and ReduceLROnPlateau in one place.

    lr(epoch) = base x schedule factor(epoch) x plateau multiplier. With `book_compat`, the
    multiplier is reset at every epoch start, as the book's callback order [checkpoint, reducer,
    scheduler] did: the scheduler overwrote each reduction before any step used it.
    """

    def __init__(self, base_lr: float, schedule: LRScheduleConfig, plateau: PlateauConfig) -> None:
        super().__init__()
        self.base_lr = base_lr
        self.schedule = schedule
        self.plateau = plateau if plateau.enabled else None
        self.multiplier = 1.0
        self.wait = 0
        self.cooldown_left = 0
        self.best = math.inf

    def schedule_factor(self, epoch: int) -> float:
        passed = sum(1 for boundary in self.schedule.boundaries if epoch > boundary)
        return float(self.schedule.factors[passed])

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.plateau is not None and self.plateau.book_compat:
            self.multiplier = 1.0
        self.model.optimizer.learning_rate = self.current_lr(epoch)

    def current_lr(self, epoch: int) -> float:
        lr = self.base_lr * self.schedule_factor(epoch) * self.multiplier
        return max(lr, self.plateau.min_lr) if self.plateau is not None and self.multiplier < 1 else lr

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        if self.plateau is None:
            return
        value = logs.get(self.plateau.monitor)
        if value is None:
            return
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if value < self.best:
            self.best, self.wait = float(value), 0
        elif self.cooldown_left == 0:
            self.wait += 1
            if self.wait >= self.plateau.patience:
                self.multiplier *= self.plateau.factor
                self.cooldown_left, self.wait = self.plateau.cooldown, 0

    def get_state(self) -> dict:
        return {"multiplier": self.multiplier, "wait": self.wait, "cooldown_left": self.cooldown_left, "best": self.best}

    def set_state(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)


class StopOnNaN(keras.callbacks.Callback):
    """A NaN or infinite loss ends the run with the epoch and step, keeping the last good checkpoint.

    Every logged loss is watched (`loss`, or a GAN's `d_loss` and `g_loss`)."""

    def __init__(self, rundir: RunDir) -> None:
        super().__init__()
        self.rundir = rundir
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            if name == "loss" or name.endswith("_loss"):
                self._check(name, float(value), batch)

    def _check(self, name: str, loss: float, batch: int) -> None:
        if not math.isfinite(loss):
            kept = self.rundir.last_checkpoint if self.rundir.last_checkpoint.exists() else "none yet"
            raise RunnerError(
                f"{name} became {loss} at epoch {self.epoch + 1}, step {batch + 1}; stopped "
                f"(last good checkpoint: {kept}); lower optimizer.learning_rate or check the data"
            )


class Snapshots(keras.callbacks.Callback):
    """Calls a family's `snapshot(model, out, step)` at the end of every epoch (= checkpoint
    interval of a step-based run), with the number of training steps done."""

    def __init__(self, snapshot: Callable[[keras.Model, Any, int], Any], out: Any, steps_per_epoch: int) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.out = out
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.snapshot(self.model, self.out, (epoch + 1) * self.steps_per_epoch)


class QualityMonitor(keras.callbacks.Callback):
    """Adds a family's sample-quality numbers (`measure(model) -> {name: value}`) to the epoch logs,
    so that history.csv, the checkpoint monitor (e.g. `fid`) and metrics.json see them.

    Measured at the first epoch end of every invocation (the CSV logger takes its columns from the
    first logs it sees, also when a run resumes), every `every` epochs, and at the last epoch.
    """

    def __init__(self, measure: Callable[[keras.Model], dict[str, float]], every: int, last_epoch: int) -> None:
        super().__init__()
        self.measure = measure
        self.every = every
        self.last_epoch = last_epoch
        self.first = True
        self.latest: dict[str, float] = {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.first or (epoch + 1) % self.every == 0 or epoch + 1 == self.last_epoch:
            self.first = False
            self.latest = self.measure(self.model)
            if logs is not None:
                logs.update(self.latest)
