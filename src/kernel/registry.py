"""Name -> builder registries for models, datasets and environments, with "did you mean" errors.

Families register themselves with a decorator at import time; the runner looks them up by the
`name` key of their config. The runner never imports a family by name: its `load_families()`
imports every module of the `models` and `data` packages once, so adding a model is one new module
plus one YAML file.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from adl_runner.kernel.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def did_you_mean(name: str, choices: list[str]) -> str:
    """A ' (did you mean 'x'?)' suffix for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_name_message(kind: str, name: str, choices: list[str]) -> str:
    """The one-line error for a name that is not among `choices`."""
    valid = ", ".join(sorted(choices)) or "(none registered)"
    return f"unknown {kind} '{name}'{did_you_mean(name, choices)}; valid: {valid}"


@dataclass(frozen=True)
class Entry(Generic[F]):
    """One registered builder and what the runner needs to know to call it."""

    name: str
    build: F
    meta: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[F]):
    """A named collection of builders of one kind (model, dataset, ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[F]] = {}

    def register(self, name: str, **meta: Any) -> Callable[[F], F]:
        """Decorator: register `fn` under `name`; `meta` is free-form data for the runner."""

        def add(fn: F) -> F:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = Entry(name, fn, dict(meta))
            return fn

        return add

    def get(self, name: str) -> Entry[F]:
        """The entry for `name`; a ConfigError with the valid names and a suggestion otherwise."""
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(unknown_name_message(self.kind, name, self.names())) from None

    def names(self) -> list[str]:
        return sorted(self._entries)


MODELS: Registry[Callable[..., Any]] = Registry("model")
DATASETS: Registry[Callable[..., Any]] = Registry("dataset")
ENVS: Registry[Callable[..., Any]] = Registry("env")  # registered by data/envs/
