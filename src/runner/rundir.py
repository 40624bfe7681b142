"""The run directory: its layout, and every file the runner writes there, written atomically.

Layout of a run dir (Hydra creates it and its .hydra/ folder):
    config.yaml        the resolved config of the job
    metrics.json       one flat JSON object, the same schema for every model family
    run.json           versions, device, git commit, wall time, seed, command line
    history.csv        one row per epoch (Keras CSVLogger)
    summary.md         what the run measured, as printed at its end (runner.summary)
    model_summary.txt  the model summary (layer table) with parameter counts
    <name>.png         figures: training curves (loss.png, ...), a family's figures and image grids,
                       task=sample's drawings (samples.png, sample_*.png)
    <name>.csv         a family's tables (q_table.csv)
    grids/             progress grids of step-based runs (the GANs): <step>.png, the step zero-padded
                       to 5 digits (6 for CycleGAN, as the book's files); further series of the same
                       steps in grids/<series>/<step>.png
    grids.gif          the animation of grids/<step>.png, written at the end of training
    episode.gif        episode-loop task=evaluate gif=true: one greedy episode, rendered
    export/            task=export: <name>/<version>/ a SavedModel as TF Serving reads it (onnx/, litert/:
                       <name>/<version>/<endpoint>.onnx|.tflite), with export.json; each version swapped in whole
    checkpoints/       best.keras, last.keras, previous.keras (the last.keras before it: the
                       fallback when last.keras is found corrupt), state.json (resume bookkeeping),
                       step-<N>.keras (the last trainer.checkpoint.keep checkpoints, by training step),
                       pixel_mean.npy (dataset.subtract_pixel_mean: the training mean an export subtracts),
                       *.corrupt-<time>.keras (a checkpoint found corrupt, moved aside, never deleted);
                       <network>.keras: a network of the model saved alone at the end (generator,
                       g_target, g_source, encoder);
                       episode-loop runs: last/ (agent.json, arrays.npz, <network>.keras), replaced as a whole;
                       phases/: a pre-training phase's checkpoint (StackedGAN's `encoder`, the policy-gradient
                       `state_autoencoder`: runner.phases) after each of its epochs, <phase>.keras (the phase's
                       model with its optimizer: its step count says how many epochs are done) and <phase>.json
                       (its history); a resume goes on from there, and a phase whose epochs are all done is
                       restored, not trained again
    tensorboard/       event files (logger=[tensorboard], runner.tracking)
    tracking.json      the MLflow run this run dir records to (logger=mlflow), so that a resume goes on in it
    .lock              held (flock) by the job writing here while it runs, removed when it ends
A file is first written beside its target and then renamed over it, so a killed run never leaves
a half-written file under a final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from adl_runner.kernel.errors import RunnerError
from adl_runner.kernel.files import (
    LockBusy,
    has_interrupted_swap,
    pid_lock,
    recover_dir,
    sweep_temp_files,
    write_atomic,
    write_dir_atomic,
)

LOCK_NAME = ".lock"
PROGRESS_GRIDS = "grids"
HYDRA_FILES = (".hydra", "run.log")
"""What Hydra writes into a run dir before the job starts (its config copies, the job's log)."""
_USER_FOLDERS: set[str] = set()
"""Run dirs that existed before this process was started on them (`keep_user_folder`)."""
_HELD_FOR_JOB: set[str] = set()
"""Run dirs this process holds for a whole job (`RunDir.held_for_job`): the task's own hold is then a no-op."""
HOLDER_VARIABLE = "ADL_RUNNER_DIR_HOLDER"
"""The pid of the sweep that launched this job, which holds its job dir for it from before Hydra
writes there (launchers run jobs in this process or in others, which inherit the environment)."""


class RunDirBusy(RunnerError):
    """Another job (or the sweep that launched it) holds the run dir; `holder` is its pid."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"run dir {path} is in use by another job (pid {holder}); "
                         f"wait for it to end, or choose another hydra.run.dir")
        self.holder = holder


def keep_user_folder(path: str | Path) -> None:
    """Mark `path`, which the user had before the job (an empty folder named as hydra.run.dir), as
    never to be removed: a failed setup then takes out only Hydra's files from it."""
    _USER_FOLDERS.add(os.path.realpath(path))
PIXEL_MEAN = "pixel_mean.npy"
"""In checkpoints/: what `dataset.subtract_pixel_mean` subtracted in training, for an export."""


class RunDir:
    """One run's output folder."""

    def __init__(self, path: str | Path, caption: str = "") -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"
        self.caption = caption
        """What the run is (model, data, run dir name), written on each of its figures so that the
        PNGs of a sweep cannot be mistaken for one another."""

    # -- layout --------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    def figure_file(self, name: str) -> Path:
        return self.path / f"{name}.png"

    def table_file(self, name: str) -> Path:
        return self.path / f"{name}.csv"

    def network_file(self, name: str) -> Path:
        return self.checkpoints / f"{name}.keras"

    def progress_grid_file(self, step: int, series: str | None = None, digits: int = 5) -> Path:
        folder = self.path / PROGRESS_GRIDS if series is None else self.path / PROGRESS_GRIDS / series
        return folder / f"{step:0{digits}d}.png"

    def progress_grid_files(self) -> list[Path]:
        """The main series of progress grids, in step order (what grids.gif animates)."""
        # By number: a run longer than its zero-padding (step 100000 of 5 digits) still animates in order.
        return sorted((p for p in (self.path / PROGRESS_GRIDS).glob("*.png") if p.stem.isdigit()), key=lambda p: int(p.stem))

    @property
    def progress_animation_file(self) -> Path:
        return self.path / f"{PROGRESS_GRIDS}.gif"

    @property
    def episode_animation_file(self) -> Path:
        return self.path / "episode.gif"

    @property
    def export_dir(self) -> Path:
        return self.path / "export"

    @property
    def pixel_mean_file(self) -> Path:
        """The training images' per-pixel mean (dataset.subtract_pixel_mean), beside the checkpoints."""
        return self.checkpoints / PIXEL_MEAN

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.keras"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / "best.keras"

    @property
    def previous_checkpoint(self) -> Path:
        return self.checkpoints / "previous.keras"

    @property
    def last_checkpoint_dir(self) -> Path:
        """Episode-loop runs: the folder holding the agent's last checkpoint."""
        return self.checkpoints / "last"

    @property
    def state_file(self) -> Path:
        return self.checkpoints / "state.json"

    def phase_weights(self, phase: str) -> Path:
        return self.checkpoints / "phases" / f"{phase}.keras"

    def phase_history(self, phase: str) -> Path:
        return self.checkpoints / "phases" / f"{phase}.json"

    def resume_candidates(self) -> list[Path]:
        """The checkpoints a resume may start from, newest first (only those on disk)."""
        return [p for p in (self.last_checkpoint, self.previous_checkpoint) if p.exists()]

    def has_run(self) -> bool:
        """Whether an earlier job already left results here (so this one resumes, or must not delete)."""
        return (bool(self.resume_candidates()) or self.file("metrics.json").exists()
                or (self.checkpoints / "phases").exists()
                or self.last_checkpoint_dir.exists() or has_interrupted_swap(self.last_checkpoint_dir))

    def _only_hydra_files(self) -> bool:
        try:
            return set(os.listdir(self.path)) <= {*HYDRA_FILES, LOCK_NAME}
        except OSError:
            return False

    # -- checkpoint rotation -------------------------------------------------------------------
    def save_last_checkpoint(self, write: Callable[[Path], object]) -> Path:
        """Write a new last.keras with `write(tmp)`: complete under a temporary name first, then the
        old last.keras becomes previous.keras, then the new one is renamed in. A save that fails
        (a full disk) rotates nothing: last and previous stay the two good checkpoints they were."""
        return write_atomic(self.last_checkpoint, write, before_replace=self.rotate_last_checkpoint)

    def sweep_temp_files(self) -> list[Path]:
        """Remove what writes cut off by a kill left (`.last.keras.<random>.keras`, ...) in the run
        dir and checkpoints/; for the job holding the run dir, at its start."""
        return [*sweep_temp_files(self.path), *sweep_temp_files(self.checkpoints)]
    def keep_step_checkpoint(self, step: int, keep: int) -> None:
        """Copy last.keras to step-<step>.keras and delete all but the `keep` newest such copies
        (TF's CheckpointManager max_to_keep)."""
        self.write_atomic(self.checkpoints / f"step-{step}.keras", lambda p: shutil.copyfile(self.last_checkpoint, p))
        kept = sorted(self.checkpoints.glob("step-*.keras"), key=lambda p: int(p.stem.split("-", 1)[1]))
        for old in kept[:-keep]:
            old.unlink()

    def rotate_last_checkpoint(self) -> None:
        """Make the current last.keras the previous one, just before a new last.keras is renamed in.

        A hard link renamed over previous.keras: atomic, no copy, and last.keras stays in place,
        so a kill at any point leaves a loadable last.keras (the resume point) on disk.
        """
        if not self.last_checkpoint.exists():
            return

        def link_last(tmp: Path) -> None:
            tmp.unlink()  # os.link makes the name itself
            try:
                os.link(self.last_checkpoint, tmp)
            except OSError:  # a file system without hard links: copy instead
                shutil.copyfile(self.last_checkpoint, tmp)

        write_atomic(self.previous_checkpoint, link_last)

    def set_aside(self, path: Path) -> Path:
        """Rename a corrupt file out of the way (kept for inspection, never deleted), so that
        the next save does not overwrite it; returns its new name."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = path.with_name(f"{path.stem}.corrupt-{stamp}{path.suffix}")
        n = 1
        while target.exists():
            target = path.with_name(f"{path.stem}.corrupt-{stamp}-{n}{path.suffix}")
            n += 1
        os.replace(path, target)
        return target

    # -- one job at a time ---------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run dir for this job: a second job started on the same dir (say, the same
        command typed twice) is refused with one line instead of interleaving its checkpoints
        with the first one's. The lock is an flock, so a killed job never leaves it held."""
        if os.path.realpath(self.path) in _HELD_FOR_JOB:
            yield
            return
        try:
            with pid_lock(self.file(LOCK_NAME), wait=False):
                yield  # a lock file that cannot be created: ensure_writable() reports the unwritable dir
            return
        except LockBusy as busy:
            if busy.holder != os.environ.get(HOLDER_VARIABLE):
                raise RunDirBusy(self.path, busy.holder) from None
        yield  # held for this job by the sweep that launched it

    @contextlib.contextmanager
    def held_for_job(self) -> Iterator[None]:
        """`locked()` for a whole job, taken by the CLI before Hydra writes `.hydra/` here; the
        task's `locked()` inside it is then part of the same hold."""
        with self.locked():
            key = os.path.realpath(self.path)
            _HELD_FOR_JOB.add(key)
            try:
                yield
            finally:
                _HELD_FOR_JOB.discard(key)

    # -- checks --------------------------------------------------------------------------------
    def ensure_writable(self) -> None:
        """Fail before any training if the run dir cannot be written."""
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-test-"):
                pass
        except OSError as exc:
            raise RunnerError(f"run dir {self.path} is not writable ({exc.strerror}); choose another hydra.run.dir") from None

    @contextlib.contextmanager
    def removed_if_failed_fresh(self) -> Iterator[None]:
        """Delete the run dir when setup fails before this job wrote anything of its own.

        Hydra creates the dir (and .hydra/) before the job starts; an unknown option or an
        impossible model/dataset pair found at that point should leave nothing behind. Only a dir
        holding nothing but Hydra's own files counts as fresh: anything else in it (an earlier,
        unfinished run; files the user keeps there) is never deleted. A folder the user had before
        the job (`keep_user_folder`) stays, emptied of Hydra's files only.
        """
        fresh = not self.has_run() and self._only_hydra_files()
        try:
            yield
        except RunnerError:
            # has_run again: a pre-training phase that diverged after some epochs kept them (phases/).
            if fresh and not self.has_run():
                if os.path.realpath(self.path) not in _USER_FOLDERS:
                    shutil.rmtree(self.path, ignore_errors=True)
                else:
                    for target in map(self.file, HYDRA_FILES):
                        if target.is_dir():
                            shutil.rmtree(target, ignore_errors=True)
                        else:
                            target.unlink(missing_ok=True)
            raise

    def mark_interrupted(self) -> None:
        """metrics.json says `status: interrupted` (with what it held before, from an earlier budget),
        so that reports and sweep indexes never take a stopped run for a finished one."""
        self._mark("interrupted")

    def mark_failed(self, reason: str) -> None:
        """metrics.json says `status: failed` and why: a failure that escaped the task, or a sweep's
        job (the sweep goes on, skips it when run again unless told to retry, and lists it in its
        results; a job refused before it wrote anything has its dir made again for this)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._mark("failed", error=reason)

    def _mark(self, status: str, **extra: str) -> None:
        try:
            held = self.read_json("metrics.json") or {}
        except RunnerError:  # unreadable: the mark replaces it
            held = {}
        self.write_json("metrics.json", {**held, "status": status, f"{status}_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra})

    # -- writing -------------------------------------------------------------------------------
    def write_atomic(self, target: Path, write: Callable[[Path], object]) -> Path:
        """Call `write(tmp)` on a temporary path beside `target`, then rename it over `target`."""
        return write_atomic(target, write)

    def write_dir_atomic(self, target: Path, write: Callable[[Path], object]) -> Path:
        """Build a folder beside `target` with `write(tmp_dir)`, then swap it in (see kernel.files)."""
        return write_dir_atomic(target, write)

    def recover_dir(self, target: Path) -> None:
        """Finish a folder swap that a kill interrupted (see kernel.files.recover_dir)."""
        recover_dir(target)

    def write_text(self, name: str, text: str) -> Path:
        return self.write_atomic(self.file(name), lambda p: p.write_text(text))

    def write_json(self, name: str, obj: Any) -> Path:
        return self.write_text(name, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")

    def read_json(self, name: str) -> dict[str, Any] | None:
        path = self.file(name)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunnerError(f"{path} is not valid JSON ({exc}); move it away to start over") from None


def _jsonable(value: Any) -> Any:
    """numpy scalars and paths in metrics become plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def run_config_of(ckpt: Path) -> dict[str, Any] | None:
    """The config.yaml of the run that saved a checkpoint (`<run>/checkpoints/x.keras`, an
    episode-loop `<run>/checkpoints/last` folder, or the run dir itself), as plain values; None
    when there is none."""
    path = ckpt.resolve()
    source = path / "config.yaml" if (path / "config.yaml").is_file() else path.parent.parent / "config.yaml"
    try:
        return yaml.safe_load(source.read_text()) if source.is_file() else None
    except (OSError, yaml.YAMLError):
        return None
