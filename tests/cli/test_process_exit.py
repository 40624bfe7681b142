"""The `run` process ends without the interpreter's teardown once a job ran (runner.process_exit):
its output, its log file and its files are complete, and the exit code is the job's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import adl_runner


def _child_env(**extra: str) -> dict[str, str]:
    """A child imports this checkout's runner, not whichever one the venv has installed."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(adl_runner.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")]), **extra}


def test_end_process_flushes_output_and_log_files_and_keeps_the_code(tmp_path: Path) -> None:
    log_file = tmp_path / "job.log"
    code = (
        "import logging, sys\n"
        "from adl_runner.runner.process_exit import end_process\n"
        f"logging.basicConfig(filename={str(log_file)!r}, level=logging.INFO)\n"
        "logging.getLogger('runner').info('last line')\n"
        "print('out', end='')\n"
        "print('err', end='', file=sys.stderr)\n"
        "import atexit; atexit.register(lambda: print('teardown ran'))\n"
        "end_process(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_child_env(), timeout=60)
    assert proc.returncode == 3
    assert (proc.stdout, proc.stderr) == ("out", "err")  # block-buffered pipes flushed; atexit skipped
    assert log_file.read_text().strip().endswith("last line")


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize(("overrides", "code"), [
    ((), 0),
    (("optimizer.decay=0.1", "trainer.plateau.enabled=true"), 2),  # refused in resolve, after TensorFlow's import
])
def test_a_job_process_ends_with_its_files_and_its_code(tmp_path: Path, fake_data_dir: Path, overrides: tuple[str, ...],
                                                        code: int) -> None:
    run_dir = tmp_path / "run"
    argv = [sys.executable, "-m", "adl_runner", "model=mlp", "dataset=synthetic", "debug=smoke", *overrides,
            f"hydra.run.dir={run_dir}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=280, cwd=tmp_path,
                          env=_child_env(RUNNER_DATA_DIR=str(fake_data_dir), RUNNER_VERIFY_CHECKSUMS="false"))
    assert proc.returncode == code, proc.stderr[-2000:]
    if code:
        assert proc.stderr.strip().splitlines()[-1].startswith("error: optimizer.decay cannot be combined")
        return
    assert proc.stdout.strip().splitlines()[-1].startswith("Time: start-up")
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
    assert "evaluating the final weights" in (run_dir / "run.log").read_text()
    events = list((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    assert events and all(path.stat().st_size > 0 for path in events)
