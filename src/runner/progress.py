"""Where a run is in its whole budget, for a person watching it: one line when it starts (what
runs, for how long, and where its files go, so `grids/` can be opened while a GAN trains), one line
after each epoch or interval with the position in the run and an ETA for the rest of it, and a
line naming each long phase (evaluation, sample-quality measures) before it starts.

Keras' own bar shows the current epoch; these lines show the run. They go to the runner's log,
which Hydra prints and keeps in the run dir's log file.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import keras

log = logging.getLogger("runner")


def duration(seconds: float) -> str:
    """`1h02m`, `4m05s`, `12s`: the most telling two units."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def eta(done: int, total: int, elapsed: float, done_before: int = 0) -> str:
    """`ETA 4m05s` for the `total - done` units left at this invocation's pace (its `done -
    done_before` units took `elapsed` seconds); `ETA ?` before any unit is timed."""
    timed = done - done_before
    if timed <= 0:
        return "ETA ?"
    return f"ETA {duration(elapsed / timed * max(0, total - done))}"


def start_line(task: str, model: str, data: str, budget: str, run_dir: Any) -> str:
    return f"{task} {model} on {data}: {budget}; run dir {run_dir}"


class RunProgress(keras.callbacks.Callback):
    """After each epoch: `epoch 3/80 (step 1500/40000), 41s per epoch, ETA 53m18s`."""

    def __init__(self, epochs: int, steps_per_epoch: int, step_based: bool) -> None:
        super().__init__()
        self.epochs, self.steps_per_epoch, self.step_based = epochs, steps_per_epoch, step_based
        self.started = time.monotonic()
        self.first_epoch: int | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.first_epoch is None:
            self.first_epoch, self.started = epoch, time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        done, elapsed = epoch + 1, time.monotonic() - self.started
        timed = done - (self.first_epoch or 0)
        where = f"epoch {done}/{self.epochs}"
        if self.step_based:
            where = f"step {done * self.steps_per_epoch}/{self.epochs * self.steps_per_epoch} (interval {done}/{self.epochs})"
        log.info("%s, %s per %s, %s", where, duration(elapsed / max(1, timed)), "interval" if self.step_based else "epoch",
                 eta(done, self.epochs, elapsed, self.first_epoch or 0))
