"""The runner's exceptions: each carries a one-line message that the CLI prints as is.

Families (models, data) raise these so that the CLI can turn any expected failure into
`error: <message>` and a non-zero exit, without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RunnerError(Exception):
    """An expected, user-facing failure: the message names the bad thing and what is valid."""

    exit_code = 2


class ConfigError(RunnerError):
    """A config value, key or name that cannot be used."""


class DataError(RunnerError):
    """A dataset file that is missing, corrupt, or cannot be downloaded."""


class IncompatibleError(RunnerError):
    """A combination (model with dataset, checkpoint with task) that cannot work."""


class CheckpointError(RunnerError):
    """A checkpoint that does not exist, is not a Keras file, or belongs to another run."""


def require_one_of(key: str, value: Any, choices: Sequence[str], *, also: Sequence[Any] = ()) -> None:
    """A `ConfigError` `<key> must be a, b or c, got '<value>'` unless `value` is one of `choices`
    (or of `also`: accepted spellings not worth listing, such as None for "the default")."""
    if value not in (*choices, *also):
        listed = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]
        raise ConfigError(f"{key} must be {listed}, got '{value}'")
