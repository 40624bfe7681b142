"""Every experiment preset (conf/experiment/**) composes through `run --cfg job`, and every job of a
comparison preset's sweep (its hydra.sweeper.params) passes the runner's checks."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from adl_runner.runner.cli import CONF_DIR, validate

EXPERIMENTS = Path(CONF_DIR) / "experiment"
PRESETS = sorted(str(p.relative_to(EXPERIMENTS).with_suffix("")) for p in EXPERIMENTS.rglob("*.yaml"))
COMPARISONS = [p for p in PRESETS if "comparison" in yaml.safe_load((EXPERIMENTS / f"{p}.yaml").read_text())]


def test_the_presets_are_found() -> None:
    assert {"book/table_1_3_3", "gan/batchnorm_d", "gan/lsgan_vs_dcgan", "seeds/chapter1"} <= set(PRESETS)
    assert {"chapter1/sgd_gap", "cifar_subset/chapter2", "gan/batchnorm_d", "gan/lsgan_vs_dcgan", "seeds/chapter1"} <= set(COMPARISONS)


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_composes(run_cli, preset: str) -> None:
    result = run_cli("--cfg", "job", f"experiment={preset}")
    assert result.code == 0, result.err
    assert "\ntable:" in result.out or "\ncomparison:" in result.out


@pytest.mark.parametrize("preset", COMPARISONS)
def test_every_job_of_a_comparison_preset_passes_the_checks(preset: str) -> None:
    doc = yaml.safe_load((EXPERIMENTS / f"{preset}.yaml").read_text())
    params = (doc.get("hydra") or {}).get("sweeper", {}).get("params") or {}
    rows = (doc.get("table") or {}).get("rows")
    assert params or rows, "a comparison preset sweeps its configurations (or seeds) itself, or a table's rows"
    # One seed stands for all: a seed changes no key of the config (a book table's rows are checked by validate).
    values = [[f"{key}={value}" for value in str(spread).split(",")][: 1 if key == "seed" else None] for key, spread in params.items()]
    jobs = list(itertools.product(*values))
    for job in jobs:
        assert validate([f"experiment={preset}", *job], multirun=True) is None, job


def test_a_comparison_preset_without_multirun_is_refused(run_cli) -> None:
    run_cli("experiment=gan/lsgan_vs_dcgan").assert_error("a comparison", "run it with -m", no_run_dir=True)
