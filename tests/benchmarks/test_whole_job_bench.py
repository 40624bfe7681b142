"""`benchmarks/whole_job.py`: its jobs at the book's budgets and with --quick, --jobs, the child
process's wall and CPU seconds, the harness's child environment, and a quick whole run (slow: real
jobs and the book's scripts as processes). Timings are never checked, only that they came out."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def settings(harness, quick: bool, jobs: tuple[str, ...] = ()):
    return harness.Settings(quick=quick, reps=3, out=Path("."), data_dir=Path("/data"), jobs=jobs)


def test_the_jobs_run_the_book_budgets_and_quick_cuts_both_sides_alike(bench_module) -> None:
    whole, harness = bench_module("whole_job"), bench_module("harness")
    full = whole.jobs(settings(harness, quick=False))
    assert list(full) == ["mlp", "cnn", "dcgan", "dqn", "smoke"]
    assert full["mlp"].runner == ("model=mlp", "dataset=mnist") and full["mlp"].other == ("mlp",)
    assert "trainer.steps=200" in full["dcgan"].runner and ("--steps", "200") == full["dcgan"].other[1:3]
    assert full["smoke"].book is False and full["smoke"].other[-1] == "import tensorflow, keras"
    assert (full["mlp"].limit, full["dcgan"].limit, full["smoke"].limit) == (1.05, 1.0, 1.5)
    quick = whole.jobs(settings(harness, quick=True))
    assert "cnn" not in quick
    assert "dataset.train_limit=4096" in quick["mlp"].runner and "4096" in quick["mlp"].other


def test_jobs_picks_the_named_ones_and_refuses_an_unknown_name(bench_module) -> None:
    whole, harness = bench_module("whole_job"), bench_module("harness")
    assert list(whole.jobs(settings(harness, quick=False, jobs=("smoke", "mlp")))) == ["mlp", "smoke"]
    with pytest.raises(ValueError, match="--jobs mlpp: no such job; valid: mlp, cnn"):
        whole.jobs(settings(harness, quick=False, jobs=("mlpp",)))


def test_a_child_reports_its_own_cpu_and_a_failure_names_its_exit_code(bench_module, tmp_path: Path) -> None:
    whole, harness = bench_module("whole_job"), bench_module("harness")
    env = harness.child_env()
    wall, cpu = whole.usage_process([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], env, tmp_path)
    assert wall > 0 and 0 < cpu < wall + 1
    with pytest.raises(RuntimeError, match="exited 3"):
        whole.usage_process([sys.executable, "-c", "raise SystemExit(3)"], env, tmp_path)


def test_children_import_this_checkout(bench_module) -> None:
    harness = bench_module("harness")
    assert harness.child_env()["PYTHONPATH"].split(":")[0] == str(harness.REPO / ".pkg")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_whole_job_quick_smoke(tmp_path: Path, benchmarks_run) -> None:
    report, markdown, _ = benchmarks_run(tmp_path, "--quick", "--only", "whole_job", "--jobs", "smoke", timeout=850)
    result = report["benchmarks"]["whole_job"]
    if result["status"] == "skipped":
        pytest.skip(result["reason"])
    assert set(result["timings"]) == {f"smoke_{side}_{kind}" for side in ("runner", "book") for kind in ("wall", "cpu")}
    assert set(result["ratios"]) == {"smoke_runner_vs_book_wall", "smoke_runner_vs_book_cpu"}
    assert all(v > 0 for v in result["ratios"].values())
    assert "train" in result["job_stages"]["smoke"]
    assert "## whole_job" in markdown and "| smoke_runner_wall |" in markdown
