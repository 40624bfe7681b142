"""configure_tensorflow: every job gets a fresh Keras session; only a later job of a process pays
the garbage collection that frees the earlier one's models."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import keras
import pytest

from adl_runner.runner.stages import STAGES
from adl_runner.runner.tasks.common import configure_tensorflow

JOB = SimpleNamespace(seed=0, trainer=SimpleNamespace(deterministic=False))


def test_the_first_job_of_a_process_clears_the_session_without_collecting(monkeypatch: pytest.MonkeyPatch) -> None:
    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *args: collected.append(1) or 0)
    keras.layers.Dense(1)
    monkeypatch.setattr(STAGES, "jobs", 1)
    configure_tensorflow(JOB)  # type: ignore[arg-type]
    assert collected == []
    assert keras.layers.Dense(1).name == "dense"  # the name counter restarted: the session was cleared
    monkeypatch.setattr(STAGES, "jobs", 2)
    configure_tensorflow(JOB)  # type: ignore[arg-type]
    assert collected == [1]
