"""Where a job writes, settled before Hydra creates anything there.

Hydra makes the run dir and writes `.hydra/` and the job's log into it before the job starts, so
what must hold for a run dir is made to hold here, in the CLI, first:
- a run dir holds one run: a task on a checkpoint (evaluate, sample, export, predict) named a
  run dir that holds a training run or another task's record writes into `<that dir>/<task>/`
  instead; a training job named a dir holding another task's record is refused;
- the run dir is held (its `.lock`) before Hydra writes there, so a job refused because another
  job holds the dir rewrites none of that job's files (`.hydra/` included); a job refused later
  (a resume under another config) gets the run's own `.hydra/` files put back;
- the default run dir (date, time, model and data: two jobs started in the same second share it)
  is resolved by the CLI and claimed here, created by this job alone (`..._2` when taken); the
  jobs of a sweep are held by their sweep (hydra_plugins/adl_runner/resumable_sweeper.py);
- a folder the user had before is never removed (`rundir.keep_user_folder`);
- `hydra.job.name` and `hydra.output_subdir` are plain names, never paths out of the run dir.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from adl_runner.kernel.errors import ConfigError, RunnerError
from adl_runner.kernel.files import is_plain_name, write_atomic
from adl_runner.runner.rundir import RunDir, keep_user_folder

TRAIN = "train"
HYDRA_DIR = ".hydra"


def record_task(path: Path) -> str | None:
    """The task whose record the folder `path` holds: metrics.json's `task`; `train` for a run
    with checkpoints (or a metrics.json naming no task: an interrupted training); None for none."""
    rundir = RunDir(path)
    try:
        metrics = rundir.read_json("metrics.json")
    except RunnerError:  # unreadable: someone's record all the same
        return TRAIN
    if metrics and isinstance(metrics.get("task"), str):
        return str(metrics["task"])
    return TRAIN if rundir.has_run() else None


def task_run_dir(task: str, run_dir: str) -> str:
    """The run dir a `task` job given `hydra.run.dir=run_dir` writes into: `run_dir` itself when it
    holds no record or one of the same task (a re-run resumes, or renews its own record), else
    `<run_dir>/<task>` for a task on a checkpoint. A training job never writes over another
    task's record: a one-line error."""
    held = record_task(Path(run_dir).expanduser())
    if held is None or held == task:
        return run_dir
    if task == TRAIN:
        raise ConfigError(f"hydra.run.dir={run_dir} holds a task={held} record, not a training run; "
                          f"choose another hydra.run.dir to train")
    return str(Path(run_dir) / task)


def placed(argv: list[str], task: str | None, run_dir: str | None) -> tuple[list[str], str | None]:
    """`argv` with its `hydra.run.dir=` moved to `task_run_dir`, and the run dir it names (None
    when the command leaves the dir to the config's default)."""
    if run_dir is None:
        return argv, None
    own = task_run_dir(task or TRAIN, run_dir)
    return with_run_dir(argv, own), own


def with_run_dir(argv: list[str], value: str) -> list[str]:
    """`argv` with `hydra.run.dir=value` in place of any it had."""
    return [*(arg for arg in argv if not arg.lstrip("+").startswith("hydra.run.dir=")), f"hydra.run.dir={value}"]


def quoted(path: str) -> str:
    """`path` as a value of Hydra's override grammar: as it is when plain, else single-quoted."""
    return path if re.fullmatch(r"[\w./@:+-]+", path) else "'" + re.sub(r"(['\\])", r"\\\1", path) + "'"


def name_problem(key: str, name: str | None) -> str | None:
    """A one-line error when `name` (a file or folder name Hydra puts inside the run dir) is not a
    plain name: `hydra.job.name=../../x` would write the job's log outside the run dir."""
    if name is None or name == "null" or is_plain_name(name):
        return None
    return f"{key}={name} is not a plain name (letters, digits, _ . -, not starting with '.', no '..' or '/'); choose one such as run"


@contextlib.contextmanager
def held_run_dir(run_dir: str | None, fresh: bool = False) -> Iterator[str]:
    """Hold the run dir (its `.lock`, the same lock the task takes again) from before Hydra writes
    into it until the job ends; yields the dir held. A folder that was there before is marked as
    the user's. A `fresh` dir (the default's, named by date and time) is claimed: this job creates
    it, or the first free `<dir>_2`, `<dir>_3`, ... (None: a sweep, whose sweeper holds its jobs)."""
    if run_dir is None:
        yield ""
        return
    path = Path(run_dir).expanduser()
    if path.is_dir() and not fresh:
        keep_user_folder(path)
    try:
        if fresh:
            path = claimed(path)
        else:
            path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunnerError(f"hydra.run.dir={run_dir} cannot be created ({exc.strerror}); choose another hydra.run.dir") from None
    hydra_files = _hydra_files(path)
    with RunDir(path).held_for_job():
        try:
            yield str(path)
        except SystemExit as exc:
            if exc.code == RunnerError.exit_code and hydra_files is not None:
                _put_back(path, hydra_files)  # a refused job (a resume under another config) leaves the run's own
            raise


def claimed(path: Path) -> Path:
    """`path`, else `<path>_2`, `<path>_3`, ...: the first this call creates (mkdir is atomic, so
    two jobs never claim the same)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        candidate = path if n == 1 else path.with_name(f"{path.name}_{n}")
        with contextlib.suppress(FileExistsError):
            candidate.mkdir()
            return candidate
    raise AssertionError("unreachable")  # itertools.count never ends


def _hydra_files(run_dir: Path) -> dict[str, bytes] | None:
    """The run's `.hydra/` files (its command line and config), None when it has none yet."""
    folder = run_dir / HYDRA_DIR
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} if folder.is_dir() else None


def _put_back(run_dir: Path, files: dict[str, bytes]) -> None:
    folder = run_dir / HYDRA_DIR
    for stale in folder.iterdir():
        if stale.is_file() and stale.name not in files:
            stale.unlink()
    for name, data in files.items():
        write_atomic(folder / name, lambda tmp, data=data: tmp.write_bytes(data))
