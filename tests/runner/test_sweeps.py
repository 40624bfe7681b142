"""Sweeps that resume (runner/sweeps.py), their results (reports/aggregate.py), the launcher and
search presets' checks (runner/launchers.py) and one GPU per parallel worker (runner/gpu_slots.py).
Pure Python: no TensorFlow, no training."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from adl_runner.runner import gpu_slots, launchers, report, sweeps
from adl_runner.runner.reports import aggregate


def test_a_job_dir_is_named_by_its_overrides_in_key_order() -> None:
    assert sweeps.dir_name(["seed=0", "optimizer=adam"]) == sweeps.dir_name(["optimizer=adam", "seed=0"]) == "optimizer=adam,seed=0"
    assert sweeps.dir_name(["experiment=book/table_1_3_3", "model.units=[1, 2]"]) == "experiment=book+table_1_3_3,model.units=_1,_2_"
    assert sweeps.dir_name([]) == "defaults"
    long = [f"model.k{i}=value{i}" for i in range(30)]
    name = sweeps.dir_name(long)
    assert len(name) == sweeps.NAME_LIMIT and name == sweeps.dir_name(list(reversed(long)))
    assert name != sweeps.dir_name(long[:-1])  # the hash tells two long names apart
    # the sweep dir: the same command line gives the same dir; where it is (paths.output_dir) is not part of it
    assert sweeps.sweep_dir_override(["seed=0,1", "paths.output_dir=/x", "hydra.job.name=y"]) == \
        "hydra.sweep.dir='${paths.output_dir}/multirun/seed=0,1'"


@pytest.mark.parametrize("metrics, status, skipped", [
    (None, "new", None),
    ({"status": "completed"}, "completed", "completed, skipped"),
    ({"test_accuracy": 0.9}, "completed", "completed, skipped"),  # an older writer: no status
    ({"status": "interrupted"}, "interrupted", None),
    ({"status": "failed", "error": "bad"}, "failed", "failed (bad), skipped; hydra.sweeper.retry_failed=true runs it again"),
])
def test_a_rerun_skips_completed_and_failed_jobs(tmp_path: Path, metrics: dict | None, status: str, skipped: str | None) -> None:
    job = tmp_path / "job"
    if metrics is not None:
        job.mkdir()
        (job / "metrics.json").write_text(json.dumps(metrics))
    state = sweeps.job_state(job)
    assert state.status == status
    assert sweeps.plan(state, retry_failed=False) == skipped
    assert sweeps.plan(state, retry_failed=True) == (skipped if status == "completed" else None)


def test_a_job_dir_without_metrics_is_unfinished(tmp_path: Path) -> None:
    (tmp_path / "job").mkdir()
    assert sweeps.job_state(tmp_path / "job").status == "unfinished"


def write_job(sweep: Path, name: str, overrides: list[str], metrics: dict | None) -> None:
    (sweep / name / ".hydra").mkdir(parents=True)
    (sweep / name / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics is not None:
        (sweep / name / "metrics.json").write_text(json.dumps(metrics))


def test_results_group_every_override_but_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "sweep"
    for seed, acc in ((0, 0.90), (1, 0.92), (2, 0.94)):
        write_job(sweep, f"adam{seed}", ["model=mlp", "optimizer=adam", f"seed={seed}"],
                  {"status": "completed", "test_accuracy": acc, "best_val_accuracy": acc, "best_epoch": 3})
    write_job(sweep, "sgd0", ["model=mlp", "optimizer=sgd", "seed=0"], {"status": "completed", "test_accuracy": 0.5})
    write_job(sweep, "sgd1", ["model=mlp", "optimizer=sgd", "seed=1"], {"status": "failed", "error": "mlp: dropout must be in [0, 1)"})
    write_job(sweep, "sgd2", ["model=mlp", "optimizer=sgd", "seed=2"], None)
    assert report.main([str(sweep), "--metrics", "test_accuracy"]) == 0
    out = capsys.readouterr().out
    assert out == (sweep / "results.md").read_text()
    assert "Every job: `model=mlp`" in out
    assert "| `optimizer=adam` | 3 | 0.92 ± 0.02 |" in out
    assert "| `optimizer=sgd` | 1 | 0.5 |" in out
    assert "- `sgd1`: mlp: dropout must be in [0, 1)" in out and "Not completed (1): `sgd2` (not finished)" in out
    rows = (sweep / "results.csv").read_text().splitlines()
    assert rows[0] == "configuration,n,failed,test_accuracy_mean,test_accuracy_std"
    assert rows[2] == "optimizer=sgd,1,1,0.5,"
    # by default: every test_* and best_* number but best_epoch
    assert aggregate.default_metrics(aggregate.read_jobs(sweep)) == ["test_accuracy", "best_val_accuracy"]


def test_run_report_on_a_dir_without_jobs_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert report.main([str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'empty'} holds no jobs") and err.count("\n") == 1


def test_the_book_table_and_the_results_share_the_statistics() -> None:
    assert aggregate.mean_std([0.9, 0.92, 0.94]) == pytest.approx((0.92, 0.02))
    assert aggregate.mean_std([0.5]) == (0.5, None)
    assert report.mean_std is aggregate.mean_std and report.number is aggregate.number


def test_a_preset_whose_plugin_is_missing_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launchers, "_installed", lambda module: False)
    assert launchers.preset_problem("launcher", "local_parallel", multirun=True) == (
        "launcher=local_parallel needs the hydra_joblib_launcher Hydra plugin, which is not installed: "
        "pip install 'adl-runner[joblib]'")
    assert "pip install 'adl-runner[optuna]'" in launchers.preset_problem("hparams_search", "mlp_optuna", multirun=True)
    assert launchers.preset_problem("launcher", "local_parallel", multirun=False) == \
        "launcher=local_parallel runs the jobs of a sweep: add -m (--multirun)"
    assert launchers.preset_problem("launcher", None, multirun=True) is None


def test_slurm_without_sbatch_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(launchers, "_installed", lambda module: True)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "`sbatch`, which is not on PATH here" in launchers.preset_problem("launcher", "slurm", multirun=True)
    (tmp_path / "sbatch").write_text("#!/bin/sh\n")
    (tmp_path / "sbatch").chmod(0o755)
    assert launchers.preset_problem("launcher", "slurm", multirun=True) is None


def test_each_parallel_worker_takes_its_own_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert gpu_slots.visible_gpus() == ["3", "5"]
    try:
        assert gpu_slots.claim_gpu(["3", "5"], tmp_path) == "3"
        assert gpu_slots.claim_gpu(["3", "5"], tmp_path) == "5"  # 3 is held (an flock per open file)
        assert gpu_slots.claim_gpu(["3", "5"], tmp_path) is None
    finally:
        for lock in gpu_slots._HELD:
            lock.__exit__(None, None, None)
        gpu_slots._HELD.clear()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert gpu_slots.visible_gpus() == []
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "-1"
