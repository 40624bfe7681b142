"""Faults injected into real `run` invocations: a corrupt checkpoint on resume, a loss that really
diverges (stop and recover), corrupt inputs, and an output dir that cannot be written."""

from __future__ import annotations

import json
import math
import sys
import zipfile
from pathlib import Path

import pytest

from adl_runner.data.synthetic import write_mnist_npz

SMOKE = ("debug=smoke", "logger.tensorboard=false", "logger.plots=false", "trainer.verbose=none")
TINY = ("model=mlp", "dataset=synthetic", *SMOKE)
# SGD at 1e6 makes the MLP's loss NaN within a few steps of epoch 1, every time.
DIVERGING = ("optimizer=sgd", "optimizer.learning_rate=1e6")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- a checkpoint corrupt on disk -------------------------------------------------------------------
@pytest.mark.slow  # two runs, or one with a roll-back: 10-20 s on 2 cores
def test_resume_skips_a_corrupt_last_checkpoint_for_the_previous_one(run_cli, tmp_path: Path) -> None:
    first = run_cli(*TINY, "trainer.epochs=2")
    assert first.code == 0, first.err
    ckpts = first.run_dir / "checkpoints"
    last = ckpts / "last.keras"
    last.write_bytes(last.read_bytes()[:1000])  # a truncated copy, as a full disk would leave it
    damaged = last.read_bytes()

    resumed = run_cli(*TINY, "trainer.epochs=3")
    assert resumed.code == 0, resumed.err
    log = (resumed.run_dir / "run.log").read_text()
    skipped = [line for line in log.splitlines() if "corrupt checkpoint skipped" in line]
    assert len(skipped) == 1 and "last.keras" in skipped[0] and "previous.keras" in skipped[0], log
    metrics = resumed.metrics()
    assert metrics["resumed_from_epoch"] == 1 and metrics["epochs_completed"] == 3
    kept = list(ckpts.glob("last.corrupt-*.keras"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    epochs = [line.split(",")[0] for line in (resumed.run_dir / "history.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]


@pytest.mark.slow  # two runs, or one with a roll-back: 10-20 s on 2 cores
def test_resume_with_no_loadable_checkpoint_is_one_line_and_keeps_everything(run_cli) -> None:
    first = run_cli(*TINY, "trainer.epochs=2")
    assert first.code == 0, first.err
    ckpts = first.run_dir / "checkpoints"
    for name in ("last.keras", "previous.keras"):
        (ckpts / name).write_text("not a zip archive")
    before = _files(first.run_dir)
    result = run_cli(*TINY, "trainer.epochs=3")
    result.assert_error("cannot resume", "last.keras", "previous.keras", "files kept")
    after = _files(first.run_dir)
    # Hydra rewrites its own .hydra/ and appends to run.log on every invocation; all else is as it was.
    ours = [k for k in before if not k.startswith(".hydra") and k != "run.log"]
    assert {k: after.get(k) for k in ours} == {k: before[k] for k in ours}
    assert set(after) == set(before)


# -- a loss that diverges ---------------------------------------------------------------------------
def test_nan_loss_stops_with_epoch_and_step(run_cli) -> None:
    result = run_cli(*TINY, *DIVERGING)
    line = result.assert_error("loss became nan at epoch 1, step", "trainer.nan_policy=recover")
    assert "last good checkpoint: none yet" in line
    assert not (result.run_dir / "metrics.json").exists()


@pytest.mark.slow  # two runs, or one with a roll-back: 10-20 s on 2 cores
def test_nan_recover_rolls_back_lowers_the_lr_and_finishes(run_cli) -> None:
    # Epoch 1 trains at 0.01; the schedule multiplies it by 1e6 from epoch 2, which diverges;
    # one roll-back to the epoch-1 checkpoint at 1e-6 x the schedule trains on normally.
    result = run_cli(*TINY, "trainer.epochs=3", "optimizer=sgd", "optimizer.learning_rate=0.01",
                     "trainer.lr_schedule.boundaries=[0]", "trainer.lr_schedule.factors=[1.0,1e6]",
                     "trainer.nan_policy=recover", "trainer.nan_recovery.lr_factor=1e-6")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["nan_recoveries"] == 1 and metrics["epochs_completed"] == 3
    assert math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["test_loss"])
    log = (result.run_dir / "run.log").read_text()
    assert "loss diverged at epoch 2" in log and "roll-back 1 of 3 to last.keras (epoch 1)" in log, log
    rows = (result.run_dir / "history.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["0", "1", "2"]
    assert "nan" not in "".join(rows).lower()
    state = json.loads((result.run_dir / "checkpoints/state.json").read_text())
    assert state["LearningRateControl"]["scale"] == pytest.approx(1e-6)  # a resume keeps the lowered rate


def test_nan_recover_gives_up_after_max_trials(run_cli) -> None:
    result = run_cli(*TINY, *DIVERGING, "trainer.nan_policy=recover", "trainer.nan_recovery.max_trials=2",
                     "trainer.nan_recovery.lr_factor=0.5")
    result.assert_error("loss became nan at epoch 1", "gave up after 2 roll-backs", "nan_recovery.max_trials")
    log = (result.run_dir / "run.log").read_text()
    assert "roll-back 1 of 2" in log and "learning rate now 500000" in log, log
    assert "roll-back 2 of 2" in log and "learning rate now 250000" in log, log
    # The starting weights were saved to roll back to, and they are still there and loadable.
    assert zipfile.is_zipfile(result.run_dir / "checkpoints/last.keras")


def test_loss_above_the_bound_stops_with_epoch_step_value_and_bound(run_cli) -> None:
    # The MLP's cross-entropy on 10 classes starts near ln 10 = 2.3, above a bound of 0.5.
    result = run_cli(*TINY, "trainer.loss_bound=0.5")
    line = result.assert_error("error: loss = ", "rose above trainer.loss_bound=0.5 at epoch 1, step 1;",
                               "raise trainer.loss_bound", "trainer.nan_policy=recover")
    assert "last good checkpoint: none yet" in line
    assert not (result.run_dir / "metrics.json").exists()


@pytest.mark.parametrize("bound", ["0", "-2"])
def test_a_loss_bound_that_is_not_positive_is_one_line(run_cli, bound: str) -> None:
    run_cli(*TINY, f"trainer.loss_bound={bound}").assert_error(
        f"trainer.loss_bound must be > 0, got {float(bound)}", no_run_dir=True)


@pytest.mark.slow  # one run with a roll-back: 10-20 s on 2 cores
def test_loss_above_the_bound_recovers_like_nan(run_cli) -> None:
    # Epoch 2 trains at 300 x 0.01 with SGD: its running mean loss reaches 109 (finite) at step 2,
    # above the bound of 5; one roll-back at 1e-3 x the schedule trains on below it.
    result = run_cli(*TINY, "trainer.epochs=3", "optimizer=sgd", "optimizer.learning_rate=0.01",
                     "trainer.lr_schedule.boundaries=[0]", "trainer.lr_schedule.factors=[1.0,300]",
                     "trainer.loss_bound=5", "trainer.nan_policy=recover", "trainer.nan_recovery.lr_factor=1e-3")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["nan_recoveries"] == 1 and metrics["epochs_completed"] == 3
    log = (result.run_dir / "run.log").read_text()
    diverged = [line for line in log.splitlines() if "loss diverged" in line]
    assert len(diverged) == 1 and "at epoch 2, step " in diverged[0], log
    assert "rose above trainer.loss_bound=5)" in diverged[0] and "roll-back 1 of 3 to last.keras (epoch 1)" in diverged[0]
    losses = [float(row.split(",")[3]) for row in (result.run_dir / "history.csv").read_text().splitlines()[1:]]
    assert len(losses) == 3 and max(losses) <= 5


# -- corrupt inputs ---------------------------------------------------------------------------------
def test_truncated_mnist_npz_is_one_line_and_kept(run_cli, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "data"
    path = write_mnist_npz(root, n_train=64, n_test=16)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = path.read_bytes()
    monkeypatch.setenv("RUNNER_DATA_DIR", str(root))
    result = run_cli("model=mlp", "dataset=mnist", *SMOKE)
    result.assert_error(str(path))
    assert path.read_bytes() == before
    assert not result.run_dir.exists()


@pytest.mark.slow  # two runs, or one with a roll-back: 10-20 s on 2 cores
def test_history_with_garbage_rows_stops_the_resume_and_is_kept(run_cli) -> None:
    first = run_cli(*TINY, "trainer.epochs=1")
    assert first.code == 0, first.err
    history = first.run_dir / "history.csv"
    history.write_text(history.read_text() + "\x00\x00garbage;;;\n")
    before = _files(first.run_dir)
    result = run_cli(*TINY, "trainer.epochs=2")
    result.assert_error("history.csv line 3 is not a history row")
    assert history.read_text() == before["history.csv"].decode()
    assert (first.run_dir / "checkpoints/last.keras").read_bytes() == before["checkpoints/last.keras"]


@pytest.mark.parametrize("task", ["evaluate", pytest.param("export", marks=pytest.mark.slow),
                                  pytest.param("sample", marks=pytest.mark.slow)])
def test_a_keras_file_that_is_not_a_zip(run_cli, tmp_path: Path, task: str) -> None:
    bogus = tmp_path / "model.keras"
    bogus.write_bytes(b"PK\x03\x04 but nothing after the header")
    result = run_cli(f"task={task}", f"ckpt={bogus}")
    result.assert_error("is not a Keras .keras file")
    assert bogus.read_bytes() == b"PK\x03\x04 but nothing after the header"
    assert not result.run_dir.exists()


# -- an output dir that cannot be written -----------------------------------------------------------
@pytest.mark.skipif(not Path("/proc").is_dir() or sys.platform != "linux", reason="needs /proc (read-only to new files)")
def test_unwritable_run_dir_fails_before_hydra_and_tensorflow(run_cli) -> None:
    result = run_cli(*TINY, run_dir=Path("/proc/adl-runner-test/run"))
    result.assert_error("hydra.run.dir=/proc/adl-runner-test/run is not writable", "choose another hydra.run.dir")


def test_run_dir_under_a_file_fails_with_one_line(run_cli, tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    result = run_cli(*TINY, run_dir=blocker / "run")
    result.assert_error(f"{blocker} is a file, not a folder")
    assert blocker.read_text() == "x"


def test_unwritable_checkpoints_fail_before_data_is_loaded(run_cli, tmp_path: Path, monkeypatch) -> None:
    import adl_runner.runner.tasks.fit as fit_tasks

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("data was loaded before the run dir was checked")

    monkeypatch.setattr(fit_tasks, "make_pipeline", no_loading)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoints").write_text("a file where the checkpoints folder belongs")
    result = run_cli(*TINY, run_dir=run_dir)
    result.assert_error(f"run dir {run_dir} is not writable", "choose another hydra.run.dir")
    assert (run_dir / "checkpoints").read_text() == "a file where the checkpoints folder belongs"


# -- two jobs on one run dir ----------------------------------------------------------------------
def test_a_job_on_a_run_dir_in_use_is_refused_and_touches_nothing_of_the_other(run_cli, tmp_path: Path) -> None:
    import os

    from adl_runner.runner.rundir import RunDir

    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "state.json").write_text("{}")  # the other job's files
    with RunDir(run_dir).locked():
        result = run_cli(*TINY, run_dir=run_dir)
        assert (run_dir / ".lock").read_text() == str(os.getpid())
    result.assert_error(f"run dir {run_dir} is in use by another job (pid {os.getpid()})", "hydra.run.dir")
    assert (run_dir / "checkpoints" / "state.json").read_text() == "{}"
    assert not (run_dir / ".lock").exists()  # released by its holder
