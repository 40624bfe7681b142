"""`benchmarks/sweep_launchers.py`: the stages it reads from a sweep's run.json files, what it counts
as a job's cost beyond training, its Markdown, and `run.py --quick --only sweep_launchers` (slow: two
4-job sweeps and two smoke jobs as real processes). Timings are never checked, only that they came out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def write_job(sweep_dir: Path, name: str, started: float, stages: dict[str, float]) -> None:
    (sweep_dir / name).mkdir(parents=True)
    (sweep_dir / name / "run.json").write_text(json.dumps({"started": started, "stages": stages}))


def test_jobs_are_read_in_start_order_and_training_is_train_with_its_checkpoints(bench_module, tmp_path: Path) -> None:
    sweeps = bench_module("sweep_launchers")
    write_job(tmp_path, "seed=1", 20.0, {"composition": 0.2, "data": 0.4, "train": 1.0, "checkpoints": 0.1})
    write_job(tmp_path, "seed=0", 10.0, {"start-up": 0.3, "set-up": 3.5, "data": 0.6, "train": 2.0, "checkpoints": 0.2})
    (tmp_path / "results.md").write_text("not a job")
    jobs = sweeps.job_stages(tmp_path)
    assert [job["train"] for job in jobs] == [2.0, 1.0]  # seed=0 started first
    # checkpoints are written inside `train`: neither counts beyond training
    assert sweeps.beyond_training(jobs[0]) == pytest.approx(0.3 + 3.5 + 0.6)
    assert sweeps.beyond_training(jobs[1]) == pytest.approx(0.2 + 0.4)
    # a stage a job lacks counts 0 s in the median
    assert sweeps.stage_medians(jobs + [jobs[1]]) == {"start-up": 0.0, "set-up": 0.0, "data": 0.4, "train": 1.0,
                                                     "checkpoints": 0.1, "composition": 0.2}


def test_the_sweep_is_four_seeds_and_the_parallel_side_two_joblib_workers(bench_module) -> None:
    sweeps, harness = bench_module("sweep_launchers"), bench_module("harness")
    quick = harness.Settings(quick=True, reps=1, out=Path("."), data_dir=None)
    overrides = sweeps.sweep_overrides(quick)
    assert "seed=0,1,2,3" in overrides and "trainer.epochs=1" in overrides and "dataset=synthetic" in overrides
    assert sweeps.PARALLEL == ("launcher=local_parallel", "hydra.launcher.n_jobs=2")
    assert bench_module("run").BENCHMARKS["sweep_launchers"].__name__ == "sweep_launchers"


def test_markdown_of_the_stages_and_the_fixed_cost(bench_module) -> None:
    summary = bench_module("summary")
    report = {
        "started": "2026-12-06T00:00:00", "options": {"quick": True},
        "machine": {"cpus_usable": 2, "cpu_count": 2, "load_avg_at_start": [1.0, 1.0, 1.0], "tensorflow": "2.21.0",
                    "keras": "3.15.1", "python": "3.11.7"},
        "benchmarks": {"sweep_launchers": {
            "status": "ok", "seconds": 60.0, "units": "s", "timings": {"smoke_job": [7.0, 8.0]},
            "medians": {"smoke_job": 7.5}, "ratios": {"smoke_job_vs_import_tf_keras": 2.1},
            "paired_ratios": {"smoke_job_vs_import_tf_keras": [2.05, 2.13]}, "smoke_job_above_import_s": 3.93,
            "job_stages": {"sequential_first_job": {"set-up": 3.8, "train": 1.6},
                           "sequential_later_jobs": {"train": 1.1}}}},
    }
    md = summary.markdown(report)
    assert "| stage | sequential_first_job | sequential_later_jobs |" in md
    assert "| set-up | 3.8 | 0 |" in md and "| train | 1.6 | 1.1 |" in md
    assert "smoke_job_vs_import_tf_keras 2.05, 2.13" in md
    assert "Smoke job above the bare import (median of the pairs' differences): 3.93 s" in md


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sweep_launchers_quick(tmp_path: Path, benchmarks_run) -> None:
    report, markdown, _ = benchmarks_run(tmp_path, "--quick", "--only", "sweep_launchers", timeout=550)
    result = report["benchmarks"]["sweep_launchers"]
    assert result["status"] == "ok", result
    groups = ("sequential_first_job", "sequential_later_jobs")
    cases = {"sweep_sequential", "sweep_local_parallel", "import_tf_keras", "smoke_job",
             *(f"{g}_{part}" for g in groups for part in ("beyond_training", "training"))}
    assert set(result["timings"]) == set(result["medians"]) == cases
    assert len(result["timings"]["sequential_later_jobs_training"]) == 3  # jobs 2-4 of the one sequential sweep
    assert all(v > 0 for v in result["medians"].values())
    assert set(result["ratios"]) == {"local_parallel_vs_sequential", "smoke_job_vs_import_tf_keras",
                                     "sequential_later_job_beyond_training_vs_training"}
    assert all(v > 0 for v in result["ratios"].values())
    # the first job pays the interpreter and TensorFlow's import; the later ones run in the same process
    assert "start-up" in result["job_stages"]["sequential_first_job"]
    assert result["job_stages"]["sequential_later_jobs"].get("start-up", 0.0) == 0.0
    assert "## sweep_launchers" in markdown
