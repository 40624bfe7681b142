"""Where a job's time goes: start-up (our imports, from the runner layer's first), composition (Hydra), set-up
(TensorFlow's import, resolving the job), then the job's own stages (data, build, pre-training,
train, evaluation, artifacts), each the wall time since the stage before it, plus the checkpoint
writes inside training. `run.json` records them under `stages` and the end summary prints them in
one line, so a slow job, or a benchmark's regression, points at its stage.

A lap clock, not a nesting of `with` blocks: a stage is closed by naming it once where it ends.
"""

from __future__ import annotations

import time

from adl_runner.runner import IMPORTED_AT


class Stages:
    """The current job's stage times, in seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last = IMPORTED_AT
        self.jobs = 0

    def entered_main(self) -> None:
        """`run` got control: what came before was start-up (the first call in this process; a
        later in-process call, as tests and `adl_runner.run` make, starts a fresh record)."""
        if self.jobs == 0 and not self.seconds:
            self.lap("start-up")
        else:
            self.seconds, self.last = {}, time.time()

    def job_started(self) -> None:
        """Hydra handed a job over: composition ends. A later job of the same process (a sweep)
        starts a fresh record."""
        if self.jobs:
            self.seconds = {}
        self.jobs += 1
        self.lap("composition")

    def lap(self, name: str) -> None:
        """The time since the last lap is stage `name`'s."""
        now = time.time()
        self.add(name, now - self.last)
        self.last = now

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def record(self) -> dict[str, float]:
        return {name: round(value, 3) for name, value in self.seconds.items()}

    def line(self) -> str:
        """`Time: start-up 2.1 s, composition 0.3 s, ..., train 40.2 s (checkpoints 1.9 s), ...`."""
        parts = [f"{name} {value:.1f} s" for name, value in self.seconds.items() if name != "checkpoints"]
        if "checkpoints" in self.seconds and "train" in self.seconds:
            at = next(i for i, part in enumerate(parts) if part.startswith("train "))
            parts[at] += f" (checkpoints {self.seconds['checkpoints']:.1f} s)"
        return "Time: " + ", ".join(parts)


STAGES = Stages()
"""This process's clock: one job at a time (a sweep's jobs run one after another in a process)."""
