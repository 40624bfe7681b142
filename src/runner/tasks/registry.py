"""The task registry: (training loop, task name) -> the function doing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adl_runner.kernel.errors import IncompatibleError
from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir

TaskFn = Callable[[Job, RunDir], dict[str, Any]]
_TASKS: dict[tuple[str, str], TaskFn] = {}


def task(loop: str, name: str) -> Callable[[TaskFn], TaskFn]:
    """Decorator: `fn` does task `name` for the families of `loop`."""

    def add(fn: TaskFn) -> TaskFn:
        if (loop, name) in _TASKS:
            raise ValueError(f"task {name} of the {loop} loop is registered twice")
        _TASKS[(loop, name)] = fn
        return fn

    return add


def tasks_of(loop: str) -> list[str]:
    """The tasks the families of `loop` can do."""
    return [name for (each, name) in _TASKS if each == loop]


def task_for(job: Job) -> TaskFn:
    """The function doing `job.task` for the job's family, or a one-line error naming its tasks."""
    fn = _TASKS.get((job.loop, job.task.value))
    if fn is None:
        raise IncompatibleError(
            f"task={job.task.value} is not available for model '{job.model.name}' ({job.loop} loop); "
            f"its tasks: {', '.join(tasks_of(job.loop))}")
    return fn
