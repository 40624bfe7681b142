"""Two jobs never share a run dir, also where the command names none: the default time-stamped run
dir is claimed (created exclusively) before Hydra writes there, and each job of a sweep is held by
its sweep before it is launched, so a second identical `run -m` skips the jobs the first one runs
and rewrites none of their files (`.hydra/` included)."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from adl_runner.runner import sweeps

SMOKE = ("model=mlp", "dataset=synthetic", "debug=smoke", "logger.tensorboard=false", "logger.plots=false",
         "trainer.verbose=none")
HOLD = """
import sys
from pathlib import Path
from adl_runner.kernel.files import pid_lock
with pid_lock(Path(sys.argv[1]), wait=False):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def held_elsewhere():
    """Hold a run dir's `.lock` from another process, as a running job (or the sweep that launched
    it) does; released when the test ends."""
    holders: list[subprocess.Popen] = []

    def hold(run_dir: Path) -> int:
        run_dir.mkdir(parents=True, exist_ok=True)
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir / ".lock")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        return holder.pid

    yield hold
    for holder in holders:
        holder.communicate("")


def _job_dir(sweep: Path, seed: int) -> Path:
    """The dir of the job `seed=<seed>` of the sweep below (Hydra hands a job its booleans as Python's)."""
    return sweep / sweeps.job_name([o.replace("=false", "=False") for o in SMOKE] + [f"seed={seed}"])


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_a_second_identical_sweep_skips_the_job_the_first_runs_and_rewrites_none_of_its_files(
        run_cli, tmp_path: Path, held_elsewhere) -> None:
    sweep = tmp_path / "sweep"
    args = ("-m", *SMOKE, "seed=0,1", f"hydra.sweep.dir={sweep}")
    running = _job_dir(sweep, 0)  # the first sweep's job, still training
    (running / ".hydra").mkdir(parents=True)
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        (running / ".hydra" / name).write_text(f"the running job's {name}\n")
    (running / "run.log").write_text("the running job's log\n")
    pid = held_elsewhere(running)
    kept = _files(running)

    second = run_cli(*args)
    assert second.code == 0, second.err  # skipped, not failed
    assert f"in use by another job (pid {pid}), skipped" in second.out + second.err
    assert {k: v for k, v in _files(running).items() if k != ".lock"} == {k: v for k, v in kept.items() if k != ".lock"}
    assert not (running / "metrics.json").exists()  # not marked failed either
    other = _job_dir(sweep, 1)
    assert json.loads((other / "metrics.json").read_text())["status"] == "completed"  # the free job ran
    assert "seed=1" in list(OmegaConf.load(other / ".hydra" / "overrides.yaml"))


class _Midnight(datetime.datetime):
    """Every job starts at the same second: what Hydra's `${now:...}` resolver sees."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return cls(2026, 1, 1)


def test_the_default_run_dir_is_claimed_so_a_job_started_in_the_same_second_gets_its_own(
        fake_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two jobs of the same model and data started in the same second resolve the same default dir
    (`<output_dir>/runs/<date>/<time>_<model>_<data>`): the second gets `..._2`, never the first's."""
    from hydra.core import utils as hydra_utils

    from adl_runner.runner.cli import main

    monkeypatch.setattr(hydra_utils, "datetime", _Midnight)
    monkeypatch.setenv("RUNNER_DATA_DIR", str(fake_data_dir))
    out = tmp_path / "out"
    taken = out / "runs" / "2026-01-01" / "00-00-00_mlp_synthetic"
    (taken / ".hydra").mkdir(parents=True)
    (taken / ".hydra" / "config.yaml").write_text("the first job's\n")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main([*SMOKE, f"paths.output_dir={out}"])  # no hydra.run.dir: the default
    assert code == 0, err.getvalue()
    assert (taken / ".hydra" / "config.yaml").read_text() == "the first job's\n"
    own = taken.with_name(taken.name + "_2")
    assert json.loads((own / "metrics.json").read_text())["status"] == "completed"
