"""Ctrl-C and SIGTERM: metrics.json says `status: interrupted`, and the error line gives the exact
command that resumes the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adl_runner.runner.cli import resume_command

REPO = Path(__file__).resolve().parents[2]


def stop_with(exc: type[BaseException]):
    def run_task(job):
        (job.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        raise exc()
    return run_task


def test_ctrl_c_marks_the_run_interrupted_and_names_the_resume_command(run_cli, monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    monkeypatch.setattr("adl_runner.runner.tasks.run_task", stop_with(KeyboardInterrupt))
    result = run_cli("model=mlp", "dataset=mnist", "trainer.epochs=3", run_dir=tmp_path / "my run")
    assert result.code == 130
    (line,) = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert line == ("error: interrupted; the run dir keeps its last completed epoch; resume with: "
                    f"run model=mlp dataset=mnist trainer.epochs=3 'hydra.run.dir={tmp_path / 'my run'}'")
    metrics = json.loads((tmp_path / "my run" / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and "interrupted_at" in metrics


def test_the_resume_command_points_a_sweep_at_its_dir() -> None:
    assert resume_command(["-m", "seed=1,2", "hydra.sweep.dir=old"], Path("/s/w"), multirun=True) == \
        "run -m seed=1,2 hydra.sweep.dir=/s/w"


@pytest.mark.slow
def test_sigterm_stops_a_training_run_that_then_resumes(tmp_path: Path, fake_data_dir: Path) -> None:
    """About 40 s: a real run stopped by SIGTERM after its first checkpoint, then resumed by the printed command."""
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO / ".pkg"), "RUNNER_DATA_DIR": str(fake_data_dir),
           "RUNNER_VERIFY_CHECKSUMS": "false"}
    argv = [sys.executable, "-m", "adl_runner", "model=mlp", "dataset=mnist", "trainer.epochs=200", "trainer.batch_size=16",
            "logger.plots=false", "logger.tensorboard=false", f"hydra.run.dir={run_dir}"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run_dir / "checkpoints" / "last.keras").exists() and time.time() < deadline:
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert "error: terminated (SIGTERM); the run dir keeps its last completed epoch; resume with: run model=mlp" in err
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"
