"""Valid values declared where an option is declared, and one checker for all of them.

An option dataclass (the runner's groups, a model's, an optimizer's, a loader's, an env's, the
sample options) says a field's range with `ranged` instead of a bare default:

    learning_rate: float = ranged(1e-3, above=0)                     # > 0
    beta_1: float = ranged(0.9, at_least=0, below=1)                 # in [0, 1)
    hidden_units: list[int] = ranged(default_factory=lambda: [256, 256], at_least=1)   # each item
    grid: int = ranged(30, at_least=1, at_most=100, why="a 100x100 grid decodes 10,000 images")
    mode: str = ranged("max", choices=("max", "min"))

`check_ranges(options, where)` (runner.resolve, on every group, before anything is built or
written) raises one `ConfigError` naming the key, the value and the valid range. Undeclared
fields still get the checks no value escapes: every float finite (NaN and inf are never a
setting), every int within 64 bits (TensorFlow's widest); None, an unset Optional, always passes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from adl_runner.kernel.errors import ConfigError

RANGE = "range"
"""The key of a field's `Range` in its dataclass metadata."""
INT64 = 2**63 - 1


@dataclass(frozen=True)
class Range:
    """The valid values of one option: bounds (inclusive `at_least`/`at_most`, exclusive
    `above`/`below`) on a number or on each item of a list, `nonempty` for a string or list, and
    `choices`, the only values allowed."""

    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None
    nonempty: bool = False
    choices: tuple[Any, ...] = ()
    """The only values allowed (a string option's words)."""
    why: str = ""
    """Said after the range in the error (what a bound protects: memory, say)."""

    def describe(self) -> str:
        if self.choices:
            listed = [str(choice) for choice in self.choices]
            return f"{', '.join(listed[:-1])} or {listed[-1]}" if len(listed) > 1 else f"{listed[0]}"
        low = f"[{_num(self.at_least)}" if self.at_least is not None else f"({_num(self.above)}" if self.above is not None else None
        high = f"{_num(self.at_most)}]" if self.at_most is not None else f"{_num(self.below)})" if self.below is not None else None
        if low and high:
            return f"in {low}, {high}"
        if low:
            return f"{'>=' if low[0] == '[' else '>'} {low[1:]}"
        if high:
            return f"{'<=' if high[-1] == ']' else '<'} {high[:-1]}"
        return "a finite number" if not self.nonempty else "not empty"

    def holds(self, value: float) -> bool:
        return ((self.at_least is None or value >= self.at_least) and (self.above is None or value > self.above)
                and (self.at_most is None or value <= self.at_most) and (self.below is None or value < self.below))


_ANY = Range()


def ranged(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING, **bounds: Any) -> Any:
    """A dataclass field with this default (or factory) whose values must lie in `Range(**bounds)`."""
    metadata = {RANGE: Range(**bounds)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_ranges(options: Any, where: str = "") -> None:
    """Every field of the dataclass `options` (nested ones included) against its declared `Range`
    and the checks every number gets; the first bad value is a one-line `ConfigError`."""
    for option in dataclasses.fields(options):
        key = f"{where}.{option.name}" if where else option.name
        value = getattr(options, option.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_ranges(value, key)
            continue
        problem = value_problem(value, option.metadata.get(RANGE, _ANY))
        if problem is not None:
            raise ConfigError(f"{key} {problem}, got {_shown(value)}")


def value_problem(value: Any, bounds: Range) -> str | None:
    """What is wrong with `value` under `bounds` ('must be in (0, 1)'), or None."""
    if value is None or isinstance(value, bool):
        return None
    if bounds.choices and not isinstance(value, (list, tuple)):
        return None if value in bounds.choices else f"must be {bounds.describe()}"
    if isinstance(value, (str, list, tuple)) and bounds.nonempty and len(value) == 0:
        return "must not be empty"
    if isinstance(value, (list, tuple)):
        bad = next((problem for item in value if (problem := value_problem(item, bounds)) is not None), None)
        return f"(each item) {bad}" if bad is not None else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be {bounds.describe() if bounds != _ANY else 'a finite number'}"
    if isinstance(value, int) and abs(value) > INT64 and bounds.at_most is None and bounds.below is None:
        return f"must fit in 64 bits (|value| <= {INT64})"
    if isinstance(value, (int, float)) and not bounds.holds(value):
        return f"must be {bounds.describe()}{f' ({bounds.why})' if bounds.why else ''}"
    return None


def _num(bound: float | None) -> str:
    return f"{bound:,}" if isinstance(bound, int) else f"{bound:g}"


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
