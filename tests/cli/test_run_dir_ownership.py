"""A run dir holds one run (runner.jobdir): a task on a checkpoint named a training run's dir writes
into its own subdir; a refused job rewrites nothing of the job holding the dir (`.hydra/`
included); a user's folder is never removed; names from the command line stay inside the run dir;
pickle-reading flags are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adl_runner.runner.rundir import RunDir

SMOKE = ("debug=smoke", "logger.tensorboard=false", "logger.plots=false", "trainer.verbose=none")
TINY = ("model=mlp", "dataset=synthetic", *SMOKE)


def _files(folder: Path, but: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under `folder` but the task subdirs' (what a training run's record is) and `but`."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] not in ("evaluate", "export", "sample", *but)}


@pytest.fixture
def trained(run_cli, tmp_path: Path) -> Path:
    result = run_cli(*TINY, run_dir=tmp_path / "trained")
    assert result.code == 0, result.err
    return result.run_dir


def test_evaluate_into_a_training_dir_writes_its_own_subdir_and_the_run_still_resumes(run_cli, trained: Path) -> None:
    before = _files(trained)
    assert ".hydra/config.yaml" in before
    evaluated = run_cli("task=evaluate", f"ckpt={trained}/checkpoints/best.keras", run_dir=trained)
    assert evaluated.code == 0, evaluated.err
    assert _files(trained) == before  # metrics.json, config.yaml, run.json, .hydra/ as training left them
    assert RunDir(trained / "evaluate").read_json("metrics.json")["task"] == "evaluate"
    again = run_cli(*TINY, run_dir=trained)  # the same training command: its finished run, not "another dataset"
    assert again.code == 0, again.err
    assert "already holds this completed run" in (trained / "run.log").read_text()
    assert {name: _files(trained)[name] for name in ("metrics.json", "config.yaml")} == {
        name: before[name] for name in ("metrics.json", "config.yaml")}


def test_training_into_another_tasks_record_is_refused(run_cli, trained: Path) -> None:
    evaluated = run_cli("task=evaluate", f"ckpt={trained}", run_dir=trained)
    assert evaluated.code == 0, evaluated.err
    kept = _files(trained / "evaluate")
    run_cli(*TINY, run_dir=trained / "evaluate").assert_error("holds a task=evaluate record", "hydra.run.dir")
    assert _files(trained / "evaluate") == kept


def test_a_refused_job_rewrites_no_hydra_file_of_the_job_holding_the_dir(run_cli, tmp_path: Path) -> None:
    run_dir = tmp_path / "busy"
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text("the running job's\n")
    with RunDir(run_dir).locked():
        result = run_cli(*TINY, "seed=7", run_dir=run_dir)
    result.assert_error(f"in use by another job (pid {os.getpid()})")
    assert sorted(os.listdir(run_dir / ".hydra")) == ["config.yaml"]
    assert (run_dir / ".hydra" / "config.yaml").read_text() == "the running job's\n"
    assert not (run_dir / "run.log").exists()


def test_a_setup_error_keeps_the_users_existing_folder(run_cli, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    run_cli(*TINY, "+model.no_such_option=1", run_dir=mine).assert_error("no_such_option")
    assert mine.is_dir() and os.listdir(mine) == []  # Hydra's files taken out, the folder kept
    fresh = tmp_path / "fresh"
    run_cli(*TINY, "+model.no_such_option=1", run_dir=fresh).assert_error("no_such_option", no_run_dir=True)


@pytest.mark.parametrize("override", ["hydra.job.name=../../escaped", "hydra.job.name=a/b", "hydra.output_subdir=../up"])
def test_names_that_would_leave_the_run_dir_are_refused(run_cli, tmp_path: Path, override: str) -> None:
    run_cli(*TINY, override).assert_error(override.split("=")[0], "not a plain name", no_run_dir=True)
    assert not (tmp_path / "escaped.log").exists() and not (tmp_path.parent / "escaped.log").exists()


def test_experimental_rerun_is_refused_before_anything_is_read(run_cli, tmp_path: Path) -> None:
    pickle_file = tmp_path / "config.pickle"
    pickle_file.write_bytes(b"not read")
    run_cli("--experimental-rerun", str(pickle_file)).assert_error("--experimental-rerun is refused", "unpickles",
                                                                    no_run_dir=True)


# -- a resume continues the same trajectory, or is refused ------------------------------------------
CHANGES = [
    ("trainer.batch_size=64", "trainer.batch_size: 32 (the run) vs 64 (this command)"),
    ("seed=7", "seed: 42 (the run) vs 7 (this command)"),
    ("trainer.steps_per_epoch=3", "trainer.steps_per_epoch: None (the run) vs 3 (this command)"),
    ("dataset.train_limit=128", "dataset.train_limit: 256 (the run) vs 128 (this command)"),
]


def test_a_resume_that_would_change_the_trajectory_is_refused_with_both_values(run_cli, trained: Path) -> None:
    before = _files(trained, but=("run.log",))
    for changed, named in CHANGES:
        run_cli(*TINY, "trainer.epochs=2", changed, run_dir=trained).assert_error(named, "hydra.run.dir")
        assert _files(trained, but=("run.log",)) == before, changed  # .hydra/ included: the refused command is not the run's


def test_a_larger_epoch_budget_continues_the_run(run_cli, trained: Path) -> None:
    resumed = run_cli(*TINY, "trainer.epochs=2", run_dir=trained)
    assert resumed.code == 0, resumed.err
    assert (resumed.metrics()["epochs_completed"], resumed.metrics()["resumed_from_epoch"]) == (2, 1)
