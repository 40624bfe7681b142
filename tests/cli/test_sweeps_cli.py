"""`run -m` end to end: a failed job never stops the sweep and a re-run skips what is done; the
launcher presets (a job after another in one process equals a job alone; submitit on this machine);
the refusals before any job starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SMOKE = ("model=mlp", "dataset=synthetic", "debug=smoke", "logger.tensorboard=false")


def metrics_of(sweep: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/metrics.json")}


def test_slurm_without_sbatch_is_one_line_before_any_job(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="the submitit extra is not installed: its own line comes first")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    result = run_cli("-m", "launcher=slurm", *SMOKE, "seed=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith("error: launcher=slurm submits jobs with SLURM's `sbatch`, which is not on PATH here")
    assert not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_a_failed_job_never_stops_the_sweep_and_a_rerun_skips_what_is_done(run_cli, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    args = ("-m", *SMOKE, "model.dropout=0.2,1.5", "seed=0,1", f"hydra.sweep.dir={sweep}")
    first = run_cli(*args)
    assert first.code == 2, first.err  # the exit code says how many jobs failed
    done = metrics_of(sweep)
    assert sorted(m["status"] for m in done.values()) == ["completed", "completed", "failed", "failed"]
    failed = [m for m in done.values() if m["status"] == "failed"]
    assert failed[0]["error"] == "model.dropout must be in [0, 1), got 1.5"
    results = (sweep / "results.md").read_text()
    assert "| `model.dropout=0.2` | 2 |" in results and "Failed jobs (2):" in results

    # the same command: nothing runs again, the failed jobs still count
    job = next(name for name, m in done.items() if m["status"] == "completed")
    before = (sweep / job / "metrics.json").read_text()
    again = run_cli(*args)
    assert again.code == 2
    assert (sweep / job / "metrics.json").read_text() == before
    # an interrupted job is resumed, a failed one retried on request
    (sweep / job / "metrics.json").write_text(json.dumps({**json.loads(before), "status": "interrupted"}))
    retried = run_cli(*args, "hydra.sweeper.retry_failed=true")
    assert retried.code == 2
    assert json.loads((sweep / job / "metrics.json").read_text())["status"] == "completed"


@pytest.mark.slow
def test_two_jobs_in_one_worker_equal_two_separate_runs(run_cli, tmp_path: Path) -> None:
    """local_parallel reuses its worker processes (n_jobs=1: this one): clear_session and the
    job's own seed make the second job's numbers those of a run alone."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install 'adl-runner[joblib]'")
    shared = run_cli("-m", "launcher=local_parallel", "hydra.launcher.n_jobs=1", *SMOKE, "seed=0,1",
                     f"hydra.sweep.dir={tmp_path / 'shared'}")
    assert shared.code == 0, shared.err
    alone = run_cli(*SMOKE, "seed=1", run_dir=tmp_path / "alone")
    assert alone.code == 0, alone.err
    jobs = metrics_of(tmp_path / "shared")
    second = jobs[next(name for name in jobs if name.endswith("seed=1"))]
    for key in ("test_loss", "test_accuracy", "train_loss"):
        assert second[key] == alone.metrics()[key], key


@pytest.mark.slow
def test_submitit_local_runs_each_job_in_its_own_process(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install 'adl-runner[submitit]'")
    sweep = tmp_path / "sweep"
    result = run_cli("-m", "launcher=submitit_local", *SMOKE, "seed=0,1", f"hydra.sweep.dir={sweep}")
    assert result.code == 0, result.err
    assert sorted(m["status"] for m in metrics_of(sweep).values()) == ["completed", "completed"]
    assert (sweep / ".submitit").is_dir() and "| 2 |" in (sweep / "results.md").read_text()


def test_a_search_space_key_not_in_the_config_is_one_line(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="pip install 'adl-runner[optuna]'")
    result = run_cli("-m", "hparams_search=mlp_optuna", "hydra.sweeper.params.model.dropuot=interval(0,0.5)",
                     f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith("error: the search space (hydra.sweeper.params) names 'model.dropuot', which is not a key")
    assert "did you mean 'model.dropout'" in result.err


@pytest.mark.slow
def test_a_small_seeded_optuna_search_resumes_from_its_sqlite_storage(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="pip install 'adl-runner[optuna]'")
    args = ("-m", "hparams_search=mlp_optuna", *SMOKE[1:], "hydra.sweeper.n_trials=2", "hydra.sweeper.sampler.n_startup_trials=1",
            f"hydra.sweeper.storage=sqlite:///{tmp_path / 'study.db'}")
    first = run_cli(*args, f"hydra.sweep.dir={tmp_path / 'a'}")
    assert first.code == 0, first.err
    best = (tmp_path / "a" / "optimization_results.yaml").read_text()
    assert "best_value:" in best and "optimizer.learning_rate" in best
    again = run_cli(*args, f"hydra.sweep.dir={tmp_path / 'b'}")  # the same study: two more trials
    assert again.code == 0, again.err
    import optuna

    study = optuna.load_study(study_name="mlp_optuna", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert len(study.trials) == 4 and all(isinstance(t.value, float) for t in study.trials)
