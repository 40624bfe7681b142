"""Shared argument checks of the families' builders: every family reports an impossible input as
one `IncompatibleError` line, worded alike. An option's own range is declared on its field
(`kernel.ranges`) and checked before any builder runs."""

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


def check_choice(model: str, key: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{model}: unknown {key} '{value}'; valid: {', '.join(choices)}")
