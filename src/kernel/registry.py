"""Name -> builder registries for models, datasets and environments, with "did you mean" errors.

Families register themselves with a decorator at import time; the runner looks them up by the
`name` key of their config. The runner never imports a family by name: a registry may be given an
index of which module registers each name (`Registry.index`, the runner's generated
`family_index`), and `get` imports that module on first use, so a job imports the families it
names and no others, while `names()` still lists every one. `load_families()` imports them all.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.specs import DatasetSpec, EnvSpec, EpisodeSpec, FamilySpec, FitSpec, NoneSpec

F = TypeVar("F", bound=Callable[..., Any])
S = TypeVar("S")


def abbreviates(short: str, name: str) -> bool:
    """Whether `short` is a common shortening of `name`: the initials of its words (lr:
    learning_rate), which no spelling distance finds, or its start (at least 2 letters)."""
    initials = "".join(word[0] for word in name.split("_") if word)
    return len(short) >= 2 and short != name and (short == initials or name.startswith(short))


def closest(name: str, choices: list[str]) -> str | None:
    """The choice `name` abbreviates (the most similar, if several), else the closest spelling, or
    None when none is close."""
    shortened = [choice for choice in choices if abbreviates(name, choice)]
    close = difflib.get_close_matches(name, shortened, n=1, cutoff=0.0) or difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return close[0] if close else None


def did_you_mean(name: str, choices: list[str]) -> str:
    """A ' (did you mean 'x'?)' suffix for the `closest` choice, or '' when none is close."""
    match = closest(name, choices)
    return f" (did you mean '{match}'?)" if match else ""


def unknown_name_message(kind: str, name: str, choices: list[str]) -> str:
    """The one-line error for a name that is not among `choices`."""
    valid = ", ".join(sorted(choices)) or "(none registered)"
    return f"unknown {kind} '{name}'{did_you_mean(name, choices)}; valid: {valid}"


@dataclass(frozen=True)
class Entry(Generic[F, S]):
    """One registered builder and its typed spec (what the runner needs to know to call it)."""

    name: str
    build: F
    spec: S


class Registry(Generic[F, S]):
    """A named collection of builders of one kind (model, dataset, ...), each with a spec of one
    of the registry's spec types."""

    def __init__(self, kind: str, specs: tuple[type, ...]) -> None:
        self.kind = kind
        self._spec_types = specs
        self._entries: dict[str, Entry[F, S]] = {}
        self._modules: dict[str, str] = {}

    def register(self, name: str, spec: S) -> Callable[[F], F]:
        """Decorator: register `fn` under `name` with its `spec` (checked now, at import)."""
        if not isinstance(spec, self._spec_types):
            valid = " or ".join(t.__name__ for t in self._spec_types)
            raise TypeError(f"{self.kind} '{name}' must be registered with a {valid}, got {type(spec).__name__}")

        def add(fn: F) -> F:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = Entry(name, fn, spec)
            return fn

        return add

    def unregister(self, name: str) -> None:
        """Remove `name` (tests that register a throw-away family)."""
        self._entries.pop(name, None)

    def index(self, modules: dict[str, str]) -> None:
        """Name -> the module that registers it: `get` imports it on first use, `names` lists it."""
        self._modules = dict(modules)

    def get(self, name: str) -> Entry[F, S]:
        """The entry for `name` (importing its module from the index if it is not registered yet);
        a ConfigError with the valid names and a suggestion otherwise."""
        if name not in self._entries and name in self._modules:
            importlib.import_module(self._modules[name])
            if name not in self._entries:  # a developer's error: tests/runner/test_family_index.py
                raise LookupError(f"{self.kind} '{name}': its indexed module {self._modules[name]} does not register "
                                  "it; regenerate the family index (python -m adl_runner.runner.families)")
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(unknown_name_message(self.kind, name, self.names())) from None

    def names(self) -> list[str]:
        """Every name registered or indexed (an indexed module need not be imported yet)."""
        return sorted(self._entries.keys() | self._modules.keys())

    def registered(self) -> dict[str, Entry[F, S]]:
        """The entries registered so far (imported), by name."""
        return dict(self._entries)


MODELS: Registry[Callable[..., Any], FamilySpec] = Registry("model", (FitSpec, EpisodeSpec, NoneSpec))
DATASETS: Registry[Callable[..., Any], DatasetSpec] = Registry("dataset", (DatasetSpec,))
ENVS: Registry[Callable[..., Any], EnvSpec] = Registry("env", (EnvSpec,))  # registered by data/envs/
