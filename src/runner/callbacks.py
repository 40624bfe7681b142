"""Keras callbacks of the fit loop: checkpoints for resume, the learning-rate control, NaN guard."""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from adl_runner.kernel.custom_step import ScaledOptimizers, scaled_optimizers
from adl_runner.kernel.errors import CheckpointError, ConfigError, RunnerError
from adl_runner.kernel.keras_state import save_model
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import LRScheduleConfig, PlateauConfig
from adl_runner.runner.stages import STAGES

log = logging.getLogger("runner")


class Checkpoints(keras.callbacks.Callback):
    """Saves `last.keras` every epoch and `best.keras` on improvement, atomically, with the state
    of every random generator in the model (dropout masks, sampling noise: `save_model`), which
    Keras itself does not save, so that a resumed run draws what the uninterrupted one would.

    The epoch to resume from is not stored beside the checkpoint but derived from the optimizer's
    step counter inside it, so a kill between two writes can never pair weights with a wrong epoch.
    `state.json` holds what only the callbacks know (best value so far, plateau state) and the
    interval its epochs count (`steps_per_epoch`), and under `previous` the same for the epoch
    before. `keep` > 0 also keeps that many step-numbered copies (`RunDir.keep_step_checkpoint`). Before each save the old `last.keras` becomes `previous.keras`: atomic writes stop a
    kill from corrupting a checkpoint, but not a bad disk or a copy gone wrong, and then resume
    falls back on it (`load_resumable`).

    A monitor the run never logs would train to the end without a `best.keras`; its names are
    known only in the first epoch's logs (a custom step's, the validation's, an evaluator's), so
    that is where it is refused (`check_monitor`).
    """

    def __init__(self, rundir: RunDir, monitor: str, mode: str, extra_state: list[keras.callbacks.Callback],
                 steps_per_epoch: int, keep: int = 0, configured: str | None = None,
                 unmeasured: Callable[[], Sequence[str]] = tuple) -> None:
        super().__init__()
        self.rundir = rundir
        self.configured = configured or monitor  # val_x, judged as x by a run without validation data
        self.unmeasured = unmeasured
        self.keep = keep
        self.steps_per_epoch = steps_per_epoch
        self.monitor = monitor
        self.better = np.greater if mode == "max" else np.less
        self.best = -math.inf if mode == "max" else math.inf
        self.best_epoch: int | None = None
        self.extra_state = extra_state
        self.started = time.time()
        self.earlier_seconds = 0.0  # training time of earlier, interrupted invocations
        self.last_state: dict[str, Any] | None = None
        self.monitor_seen = False

    def restore(self, state: dict) -> None:
        self.best = state.get("best", self.best)
        self.best_epoch = state.get("best_epoch")
        self.earlier_seconds = float(state.get("train_seconds", 0.0))
        for cb in self.extra_state:
            cb.set_state(state.get(type(cb).__name__, {}))  # type: ignore[attr-defined]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if not self.monitor_seen:
            self.check_monitor(logs, epoch)
        saving = time.time()
        self.rundir.save_last_checkpoint(lambda p: save_model(self.model, p))
        if self.keep:
            self.rundir.keep_step_checkpoint(int(self.model.optimizer.iterations.numpy()), self.keep)
        value = logs.get(self.monitor)
        if value is not None and self.better(value, self.best):
            self.best, self.best_epoch = float(value), epoch + 1
            self.rundir.write_atomic(
                self.rundir.best_checkpoint, lambda p: shutil.copyfile(self.rundir.last_checkpoint, p)
            )
        state = {
            "epochs_completed": epoch + 1,
            "steps_per_epoch": self.steps_per_epoch,
            "monitor": self.monitor,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "train_seconds": round(self.earlier_seconds + time.time() - self.started, 3),
        }
        state.update({type(cb).__name__: cb.get_state() for cb in self.extra_state})  # type: ignore[attr-defined]
        if self.last_state is not None:
            state["previous"] = self.last_state
        self.last_state = {k: v for k, v in state.items() if k != "previous"}
        self.rundir.write_json("checkpoints/state.json", state)
        STAGES.add("checkpoints", time.time() - saving)

    def check_monitor(self, logs: dict, epoch: int) -> None:
        """At the first epoch end of an invocation (an evaluator logs at least then, `QualityMonitor`):
        a monitor not among the logs ends the run as failed, before anything of this epoch is
        written, so the checkpoints and state.json on disk stay those of the last good epoch (a
        state saved under a wrong monitor would carry its best value into the corrected run).
        Where the family's evaluators measured nothing (`trainer.quality.every=0`, or data they do not
        apply to: a GAN's `fid` judge on other images than MNIST's) the monitor may be one of theirs:
        one warning line, and the run goes on without a best.keras."""
        self.refuse_unlogged_plateau_monitor(epoch)
        self.monitor_seen = self.monitor in logs
        if self.monitor_seen:
            return
        unmeasured = list(self.unmeasured())
        if unmeasured:
            self.monitor_seen = True  # said once
            log.warning("trainer.checkpoint.monitor='%s' is not logged by this run (its evaluators %s measured nothing "
                        "here); no best.keras will be written, last.keras is", self.configured, ", ".join(unmeasured))
            return
        judged = f" (judged as '{self.monitor}' without validation data)" if self.configured != self.monitor else ""
        line = (f"trainer.checkpoint.monitor='{self.configured}'{judged} is a metric this run never logs, so no "
                f"best.keras would ever be written; it logs {', '.join(sorted(logs))}; stopped at the end of epoch "
                f"{epoch + 1} before saving it (last good checkpoint: {last_good(self.rundir)})")
        self.rundir.mark_failed(line)
        raise ConfigError(line)


    def refuse_unlogged_plateau_monitor(self, epoch: int) -> None:
        """A `trainer.plateau.monitor` the learning-rate control never found in its epoch's logs would
        never lower the rate: the same one-line failure as an unlogged checkpoint monitor."""
        for callback in self.extra_state:
            missing = getattr(callback, "unlogged_monitor", None)
            if missing is not None:
                monitor, logged = missing
                line = (f"trainer.plateau.monitor='{monitor}' is a metric this run never logs before the learning "
                        f"rate is set, so the plateau would never lower it; it logs {', '.join(logged)}; stopped at "
                        f"the end of epoch {epoch + 1} before saving it (last good checkpoint: {last_good(self.rundir)})")
                self.rundir.mark_failed(line)
                raise ConfigError(line)


def last_good(rundir: RunDir) -> Path | str:
    """The checkpoint a stopped run keeps, for its error line."""
    return rundir.last_checkpoint if rundir.last_checkpoint.exists() else "none yet"


def state_for_epoch(state: dict[str, Any] | None, epochs_done: int) -> dict[str, Any] | None:
    """The callbacks' state that belongs to a checkpoint after `epochs_done` epochs: the latest
    one, or the `previous` one when resume fell back on previous.keras."""
    if not state:
        return state
    previous = state.get("previous")
    if state.get("epochs_completed") != epochs_done and previous and previous.get("epochs_completed") == epochs_done:
        return previous
    return state


def renumbered_state(state: dict[str, Any], ratio: int) -> dict[str, Any]:
    """`state` with its epoch counts in epochs `ratio` times shorter (a continued step run's new
    interval, `TrainerConfig.continued_after`)."""
    renumbered = dict(state)
    for key in ("epochs_completed", "best_epoch"):
        if renumbered.get(key) is not None:
            renumbered[key] = renumbered[key] * ratio
    if renumbered.get("steps_per_epoch"):
        renumbered["steps_per_epoch"] //= ratio
    if renumbered.get("previous"):
        renumbered["previous"] = renumbered_state(renumbered["previous"], ratio)
    return renumbered


def load_resumable(rundir: RunDir, load: Callable[[Path], keras.Model]) -> tuple[keras.Model, Path]:
    """The newest checkpoint of `rundir` that loads: last.keras, else previous.keras.

    A checkpoint that fails to load is reported in one log line and renamed aside (kept, never
    deleted: the next save would otherwise overwrite the evidence). If none loads, the run dir is
    left exactly as found and the error names every file tried.
    """
    failed: list[tuple[Path, str]] = []
    for path in rundir.resume_candidates():
        try:
            model = load(path)
        except CheckpointError as exc:
            failed.append((path, str(exc)))
            continue
        for bad, reason in failed:
            kept = rundir.set_aside(bad)
            log.warning("corrupt checkpoint skipped: %s; kept as %s; resuming from %s", reason, kept.name, path.name)
        return model, path
    tried = "; ".join(reason for _, reason in failed) or f"no checkpoint in {rundir.checkpoints}"
    raise CheckpointError(
        f"cannot resume: {tried}; no earlier good checkpoint (files kept); "
        f"move {rundir.checkpoints} away to start over, or choose a new hydra.run.dir"
    )


class LearningRateControl(keras.callbacks.Callback):
    """The book's step schedule and ReduceLROnPlateau in one place.

    lr(epoch) = base x schedule factor(epoch) x plateau multiplier. With `book_compat`, the
    multiplier is reset at every epoch start, as the book's callback order [checkpoint, reducer,
    scheduler] did: the scheduler overwrote each reduction before any step used it.
    Every optimizer of the model runs at its scale x lr(epoch) (`scaled_optimizers`: a GAN's G at
    `g_lr_scale` x D's), so a reduction or a roll-back lowers them all and keeps their ratios; the
    plateau's `min_lr` bounds lr(epoch), the rate of the scale-1 optimizers.
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
        self.scale = 1.0  # lowered by NaN recovery; unlike the plateau multiplier never reset
        self.unlogged_monitor: tuple[str, list[str]] | None = None

    def schedule_factor(self, epoch: int) -> float:
        passed = sum(1 for boundary in self.schedule.boundaries if epoch > boundary)
        return float(self.schedule.factors[passed])

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.plateau is not None and self.plateau.book_compat:
            self.multiplier = 1.0
        lr = self.current_lr(epoch)
        for optimizer, scale in scaled_optimizers(self.model).values():
            optimizer.learning_rate = scale * lr

    def current_lr(self, epoch: int) -> float:
        lr = self.base_lr * self.scale * self.schedule_factor(epoch) * self.multiplier
        return max(lr, self.plateau.min_lr) if self.plateau is not None and self.multiplier < 1 else lr

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        logs["learning_rate"] = base_rate(scaled_optimizers(self.model))
        if self.plateau is None:
            return
        value = logs.get(self.plateau.monitor)
        if value is None:
            # Refused by `Checkpoints` at this epoch's end, before anything of it is saved.
            self.unlogged_monitor = (self.plateau.monitor, sorted(logs))
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
        return {"multiplier": self.multiplier, "wait": self.wait, "cooldown_left": self.cooldown_left, "best": self.best,
                "scale": self.scale}

    def set_state(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)


class LossDiverged(RunnerError):
    """The loss became NaN or infinite, or rose above `trainer.loss_bound`; carries where, so that
    the fit loop can roll back."""

    def __init__(self, message: str, epoch: int, step: int, what: str = "") -> None:
        super().__init__(message)
        self.epoch, self.step = epoch, step
        self.what = what  # the loss, its value and the bound it crossed, for the roll-back's log line


class StopOnNaN(keras.callbacks.Callback):
    """A NaN or infinite loss, or one above `bound` (`trainer.loss_bound`, as TF Model Garden's
    `loss_upper_bound`; None: no bound), ends `fit` at once with the epoch and step, before the
    epoch's checkpoint could save the broken weights. Every logged loss is watched (`loss`, or a
    GAN's `d_loss` and `g_loss`); what Keras logs per step is the epoch's running mean. The fit
    loop then stops or recovers (`trainer.nan_policy`); uncaught, `LossDiverged` is an ordinary
    one-line error."""

    def __init__(self, rundir: RunDir, bound: float | None = None) -> None:
        super().__init__()
        self.rundir = rundir
        self.bound = bound
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            if name == "loss" or name.endswith("_loss"):
                self._check(name, float(value), batch)

    def _check(self, name: str, loss: float, batch: int) -> None:
        if math.isfinite(loss) and (self.bound is None or loss <= self.bound):
            return
        kept = last_good(self.rundir)
        if math.isfinite(loss):
            what, advice = f"{name} = {loss:.6g} rose above trainer.loss_bound={self.bound:g}", ", raise trainer.loss_bound"
        else:
            what, advice = f"{name} became {loss}", ""
        raise LossDiverged(
            f"{what} at epoch {self.epoch + 1}, step {batch + 1}; stopped (last good checkpoint: {kept}); "
            f"lower optimizer.learning_rate{advice}, check the data, or set trainer.nan_policy=recover",
            self.epoch,
            batch,
            what,
        )


def lower_learning_rate(
    model: keras.Model, factor: float, control: LearningRateControl | None, before: float | None = None
) -> float:
    """Lower the learning rate the next epoch will use by `factor`; returns the new value: the
    schedule's scale with the runner's schedule/plateau control, else the configured rate (the
    initial rate of a Keras decay schedule), which every optimizer of the model runs at its scale
    of (`scaled_optimizers`).

    `before` is the value this returned at the previous roll-back of this invocation: the
    checkpoint just reloaded may predate that roll-back and hold the original rate, and a second
    roll-back must go lower than the first, not back to the same rate.
    With the runner's control the factor goes into its persistent `scale` (saved in state.json;
    it sets the optimizers' rates every epoch). Otherwise the optimizers' own rates are set, which
    the next checkpoint saves; a decay schedule is rebuilt from its config with a lower initial rate.
    """
    if control is not None:
        control.scale = (control.scale if before is None else before) * factor
        return control.scale
    optimizers = scaled_optimizers(model)
    lowered = (base_rate(optimizers) if before is None else before) * factor
    for optimizer, scale in optimizers.values():
        _set_initial_rate(optimizer, scale * lowered)
    return lowered


def base_rate(optimizers: ScaledOptimizers) -> float:
    """The configured learning rate the optimizers run at their scales of (the initial rate of a
    decay schedule), read from the first of them."""
    optimizer, scale = next(iter(optimizers.values()))
    current = optimizer._learning_rate  # the variable or the schedule, whichever it was built with
    if isinstance(current, keras.optimizers.schedules.LearningRateSchedule):
        return float(_schedule_config(current)["initial_learning_rate"]) / scale
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate)) / scale


def _set_initial_rate(optimizer: keras.optimizers.Optimizer, rate: float) -> None:
    current = optimizer._learning_rate
    if isinstance(current, keras.optimizers.schedules.LearningRateSchedule):
        config = _schedule_config(current)
        config["initial_learning_rate"] = rate
        optimizer.learning_rate = type(current).from_config(config)
    else:
        optimizer.learning_rate = rate


def _schedule_config(schedule: keras.optimizers.schedules.LearningRateSchedule) -> dict[str, Any]:
    config = schedule.get_config()
    if "initial_learning_rate" not in config:
        raise ConfigError(f"trainer.nan_policy=recover cannot lower a {type(schedule).__name__} learning rate; "
                          f"use trainer.nan_policy=stop with this optimizer")
    return config


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

    def __init__(self, measure: Callable[[keras.Model], dict[str, Any]], every: int, last_epoch: int) -> None:
        super().__init__()
        self.measure = measure
        self.every = every
        self.last_epoch = last_epoch
        self.first = True
        self.latest: dict[str, Any] = {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.first or (epoch + 1) % self.every == 0 or epoch + 1 == self.last_epoch:
            self.first = False
            self.latest = self.measure(self.model)
            if logs is not None:  # history.csv and the monitors take numbers; lists (per head) go to metrics.json only
                logs.update({key: value for key, value in self.latest.items() if not isinstance(value, list)})
