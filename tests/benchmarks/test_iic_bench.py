"""`benchmarks/iic.py`: its hand-written side computes the runner's loss (the comparison is like for like),
and `run.py --quick --only iic` writes the whole report (slow). Timings are never checked, only that they came out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adl_runner.models.iic import iic_loss


def test_the_hand_written_book_loss_is_the_runners(bench_module) -> None:
    iic = bench_module("iic")
    rng = np.random.default_rng(0)
    z, z_bar = (p / p.sum(axis=1, keepdims=True) for p in rng.random((2, 16, 10)).astype(np.float32))
    assert float(iic.book_mi_loss(z, z_bar)) == pytest.approx(float(iic_loss(z, z_bar)), abs=1e-6)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_iic_quick(tmp_path: Path, benchmarks_run) -> None:
    report, markdown, _ = benchmarks_run(tmp_path, "--quick", "--reps", "1", "--only", "iic", timeout=850)
    result = report["benchmarks"]["iic"]
    assert result["status"] == "ok", result
    assert set(result["medians"]) == set(result["timings"]) == {"train_step_runner", "train_step_hand_written", "pipeline"}
    assert all(v > 0 for v in result["medians"].values())
    assert set(result["ratios"]) == set(result["targets"]) == {"train_step_runner_vs_hand_written", "pipeline_vs_train_step"}
    assert all(v > 0 for v in result["ratios"].values())
    assert result["data"]["batch_size"] == 32 and "## iic" in markdown
