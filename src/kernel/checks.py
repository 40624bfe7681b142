"""Shared argument checks of the families' builders: every family reports a bad option as one
`ConfigError` line and an impossible input as one `IncompatibleError` line, worded alike."""

from __future__ import annotations

from collections.abc import Sequence

from adl_runner.kernel.errors import ConfigError, IncompatibleError


def shape_text(input_shape: Sequence[int]) -> str:
    """`(28, 28, 1)` -> '28x28x1', the way error messages name an input."""
    return "x".join(str(d) for d in input_shape)


def require_rank(model: str, input_shape: Sequence[int], rank: int, view: str) -> tuple[int, ...]:
    """The shape as a tuple; IncompatibleError when it is not `rank`-D (the runner fed the wrong view)."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != rank:
        raise IncompatibleError(f"{model} needs {view} inputs of rank {rank}, got shape {shape_text(shape)}")
    return shape


def check_rate(model: str, key: str, value: float) -> None:
    """Dropout-like rates must lie in [0, 1); Keras would raise a bare ValueError otherwise."""
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{model}: {key} must be in [0, 1), got {value}")


def check_positive(model: str, key: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{model}: {key} must be >= 1, got {value}")


def check_choice(model: str, key: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{model}: unknown {key} '{value}'; valid: {', '.join(choices)}")
