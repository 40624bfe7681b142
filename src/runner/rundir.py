"""The run directory: its layout, and every file the runner writes there, written atomically.

Layout of a run dir (Hydra creates it and its .hydra/ folder):
    config.yaml        the resolved config of the job
    metrics.json       one flat JSON object, the same schema for every model family
    run.json           versions, device, git commit, wall time, seed, command line
    history.csv        one row per epoch (Keras CSVLogger)
    summary.txt        the model summary with parameter counts
    *.png              training curves
    checkpoints/       best.keras, last.keras, previous.keras (the last.keras before it: the
                       fallback when last.keras is found corrupt), state.json (resume bookkeeping),
                       *.corrupt-<time>.keras (a checkpoint found corrupt, moved aside, never deleted);
                       episode-loop runs: last/ (agent.json, arrays.npz, <network>.keras), replaced as a whole
    tensorboard/       event files
    .lock              held (flock) by the job writing here while it runs, removed when it ends
A file is first written beside its target and then renamed over it, so a killed run never leaves
a half-written file under a final name.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runner.errors import RunnerError


def _file_mode() -> int:
    """0666 less the process umask: the mode open() would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()
LOCK_NAME = ".lock"


class RunDir:
    """One run's output folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checkpoints = self.path / "checkpoints"

    # -- layout --------------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

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

    def resume_candidates(self) -> list[Path]:
        """The checkpoints a resume may start from, newest first (only those on disk)."""
        return [p for p in (self.last_checkpoint, self.previous_checkpoint) if p.exists()]

    def has_run(self) -> bool:
        """Whether an earlier job already left results here (so this one resumes, or must not delete)."""
        return (bool(self.resume_candidates()) or self.file("metrics.json").exists()
                or self.last_checkpoint_dir.exists() or self._old_dir(self.last_checkpoint_dir).exists())

    def _only_hydra_files(self) -> bool:
        try:
            return set(os.listdir(self.path)) <= {".hydra", "run.log", LOCK_NAME}
        except OSError:
            return False

    # -- checkpoint rotation -------------------------------------------------------------------
    def rotate_last_checkpoint(self) -> None:
        """Make the current last.keras the previous one, before a new last.keras is written.

        A hard link renamed over previous.keras: atomic, no copy, and last.keras stays in place,
        so a kill at any point leaves a loadable last.keras (the resume point) on disk.
        """
        if not self.last_checkpoint.exists():
            return
        tmp = self.checkpoints / f".previous.keras.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        try:
            os.link(self.last_checkpoint, tmp)
        except OSError:  # a file system without hard links: copy instead
            shutil.copyfile(self.last_checkpoint, tmp)
        os.replace(tmp, self.previous_checkpoint)

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
        path = self.file(LOCK_NAME)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
            except OSError:
                yield  # cannot create it: ensure_writable() reports the unwritable dir
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise RunnerError(f"run dir {self.path} is in use by another job (pid {holder}); "
                                  f"wait for it to end, or choose another hydra.run.dir") from None
            # The holder before us may have removed the file after we opened it: lock the live one.
            if os.path.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
            os.close(fd)

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
        unfinished run; files the user keeps there) is never deleted.
        """
        fresh = not self.has_run() and self._only_hydra_files()
        try:
            yield
        except RunnerError:
            if fresh:
                shutil.rmtree(self.path, ignore_errors=True)
            raise

    # -- writing -------------------------------------------------------------------------------
    def write_atomic(self, target: Path, write: Callable[[Path], None]) -> Path:
        """Call `write(tmp)` on a temporary path beside `target`, then rename it over `target`."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            write(tmp)
            os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; run files are as readable as any other
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    @staticmethod
    def _old_dir(target: Path) -> Path:
        return target.with_name(f".{target.name}.old")

    def write_dir_atomic(self, target: Path, write: Callable[[Path], None]) -> Path:
        """Call `write(tmp_dir)` on a fresh folder beside `target`, then swap it in for `target`.

        Between the two renames only `.<name>.old` exists; `recover_dir` puts it back, so a kill at
        any point leaves either the old folder or the new one, never a mix."""
        self.recover_dir(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
        try:
            write(tmp)
            os.chmod(tmp, _FILE_MODE | 0o111)  # mkdtemp makes 0700
            old = self._old_dir(target)
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    def recover_dir(self, target: Path) -> None:
        """Finish a swap that a kill interrupted: between its two renames, put the old folder back;
        after them, remove what is left of the old folder (the new one is complete), which would
        otherwise make the next swap's first rename fail (a folder cannot replace a non-empty one)."""
        old = self._old_dir(target)
        if old.exists():
            if target.exists():
                shutil.rmtree(old)
            else:
                os.replace(old, target)
        for partial in target.parent.glob(f".{target.name}.partial-*") if target.parent.exists() else []:
            shutil.rmtree(partial, ignore_errors=True)

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
