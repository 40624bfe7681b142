"""kernel.ranges: a field's valid values declared where it is declared, one checker for all."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.ranges import check_ranges, ranged


@dataclass
class Inner:
    rate: float = ranged(0.5, at_least=0, below=1)


@dataclass
class Options:
    learning_rate: float = ranged(1e-3, above=0)
    units: list[int] = ranged(default_factory=lambda: [8], at_least=1, nonempty=True)
    grid: int = ranged(30, at_least=1, at_most=100, why="a 100x100 grid decodes 10,000 images")
    mode: str = ranged("max", choices=("max", "min"))
    name: str = ranged("x", nonempty=True)
    limit: int | None = ranged(None, at_least=1)
    free: float = 1.0
    count: int = 3
    inner: Inner = field(default_factory=Inner)


@pytest.mark.parametrize(("changes", "message"), [
    ({"learning_rate": 0.0}, "opt.learning_rate must be > 0, got 0.0"),
    ({"learning_rate": float("inf")}, "opt.learning_rate must be > 0, got inf"),
    ({"units": [4, 0]}, "opt.units (each item) must be >= 1, got [4, 0]"),
    ({"units": []}, "opt.units must not be empty, got []"),
    ({"grid": 300}, "opt.grid must be in [1, 100] (a 100x100 grid decodes 10,000 images), got 300"),
    ({"mode": "up"}, "opt.mode must be max or min, got 'up'"),
    ({"name": ""}, "opt.name must not be empty, got ''"),
    ({"limit": 0}, "opt.limit must be >= 1, got 0"),
    ({"free": float("nan")}, "opt.free must be a finite number, got nan"),
    ({"count": 2**70}, "opt.count must fit in 64 bits"),
    ({"inner": Inner(rate=1.0)}, "opt.inner.rate must be in [0, 1), got 1.0"),
])
def test_a_value_outside_its_declared_range_is_one_line_naming_key_value_and_range(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        check_ranges(Options(**changes), "opt")


def test_values_inside_their_ranges_and_unset_optionals_pass() -> None:
    check_ranges(Options(learning_rate=1e6, units=[1, 10**6], grid=100, mode="min", limit=None, count=-(2**63 - 1)), "opt")


def test_every_runner_group_and_optimizer_declares_its_ranges() -> None:
    """The groups the issue names keep their declarations (a field going back to a bare default
    would silently lose its range)."""
    import dataclasses

    from adl_runner.kernel.hooks import SampleConfig
    from adl_runner.kernel.ranges import RANGE
    from adl_runner.runner.optim import AdamOptions, RMSpropOptions, SGDOptions
    from adl_runner.runner.schema import Config, DatasetConfig, PathsConfig, TrainerConfig

    declared = {f"{cls.__name__}.{f.name}" for cls in (Config, PathsConfig, DatasetConfig, TrainerConfig, SampleConfig,
                                                       AdamOptions, SGDOptions, RMSpropOptions)
                for f in dataclasses.fields(cls) if RANGE in f.metadata}
    assert {"Config.seed", "PathsConfig.output_dir", "DatasetConfig.sigma", "TrainerConfig.batch_size",
            "TrainerConfig.nan_policy", "SampleConfig.n", "SampleConfig.grid", "AdamOptions.beta_1",
            "SGDOptions.momentum", "RMSpropOptions.rho"} <= declared
