"""The run-dir lock: one job per run dir; released (and its file removed) when the job ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adl_runner.kernel.errors import RunnerError
from adl_runner.runner.rundir import RunDir


def test_a_second_holder_is_refused_and_the_lock_is_free_after_release(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    with rundir.locked():
        with pytest.raises(RunnerError, match=f"in use by another job \\(pid {os.getpid()}\\)"):
            with rundir.locked():
                pass
    assert not (tmp_path / ".lock").exists()
    with rundir.locked():  # free again
        assert (tmp_path / ".lock").exists()


def test_a_killed_holder_leaves_no_held_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from adl_runner.runner.rundir import RunDir\n"
         f"with RunDir({str(tmp_path)!r}).locked():\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunnerError, match=f"pid {holder.pid}"):
            with RunDir(tmp_path).locked():
                pass
    finally:
        holder.kill()
        holder.wait()
    with RunDir(tmp_path).locked():  # the kernel dropped the dead job's flock; its stale file is reused
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
