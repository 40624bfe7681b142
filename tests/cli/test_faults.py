"""Faults during a run, through the real entry point: a full disk (a small tmpfs, mounted when the
tests run as root) and an error that escapes a task. Each ends in one `error:` line, a non-zero
exit, `status: failed` in metrics.json and the checkpoints written before intact."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SMOKE = ("debug=smoke", "logger.tensorboard=false", "logger.plots=false", "trainer.verbose=none")
SMALL = ("model=mlp", "dataset=synthetic", "model.hidden_units=[64]", *SMOKE)  # a 0.6 MB checkpoint


def _one_error_line(result, code: int) -> str:
    assert result.code == code, result.err
    assert "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    return errors[0]


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MB tmpfs: room for the first two epochs' checkpoints of SMALL, not the third."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=False)  # Hydra keeps its job log open in-process


def test_disk_full_is_one_line_status_failed_and_keeps_the_last_and_previous_checkpoints(run_cli, small_disk: Path) -> None:
    from adl_runner.runner.tasks.common import load_checkpoint

    run_dir = small_disk / "run"
    result = run_cli(*SMALL, "trainer.epochs=6", run_dir=run_dir)
    line = _one_error_line(result, 1)
    assert "disk full writing" in line and "checkpoints written before it are intact" in line, line
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "failed"
    last, previous = run_dir / "checkpoints" / "last.keras", run_dir / "checkpoints" / "previous.keras"
    steps = [int(load_checkpoint(p).optimizer.iterations.numpy()) for p in (last, previous)]
    assert steps[0] > steps[1] > 0  # two good checkpoints, one epoch apart: the failed save rotated nothing
    assert not [p for p in run_dir.rglob(".*") if p.is_file() and p.name != ".lock" and ".hydra" not in p.parts]


def test_an_error_escaping_a_task_is_one_line_and_status_failed(run_cli, tmp_path: Path, monkeypatch) -> None:
    """What TensorFlow, Keras or gymnasium raise past the runner's checks (here: a ValueError from
    inside the training task) ends the same way, its traceback kept in the run dir."""
    from adl_runner.runner.tasks import fit

    def broken(*args, **kwargs):
        raise ValueError("Shapes (None, 3) and (None, 10) are incompatible\nmore lines")

    monkeypatch.setattr(fit, "make_pipeline", broken)
    result = run_cli(*SMALL)
    line = _one_error_line(result, 1)
    assert "ValueError: Shapes (None, 3) and (None, 10) are incompatible; the run failed" in line, line
    assert json.loads((result.run_dir / "metrics.json").read_text())["status"] == "failed"
    assert "Traceback" in (result.run_dir / "traceback.txt").read_text()


def test_a_save_cut_off_by_a_kill_leaves_a_temp_file_that_the_resume_sweeps(run_cli, tmp_path: Path) -> None:
    """What kill -9 inside `write_atomic` leaves (the half-written temp beside last.keras; the slow
    tests in test_kill_resume.py kill real processes there): the re-run resumes from last.keras and
    removes the temp, saying so."""
    first = run_cli(*SMALL)
    assert first.code == 0, first.err
    last = first.run_dir / "checkpoints" / "last.keras"
    cut = last.with_name(".last.keras.x7k2m9qa.keras")
    cut.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    resumed = run_cli(*SMALL, "trainer.epochs=2")
    assert resumed.code == 0, resumed.err
    assert resumed.metrics()["resumed_from_epoch"] == 1 and resumed.metrics()["epochs_completed"] == 2
    assert not cut.exists()
    assert "removed 1 temporary file(s) of writes an earlier job was stopped in: .last.keras.x7k2m9qa.keras" in (
        first.run_dir / "run.log").read_text()
