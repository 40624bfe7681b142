"""Atomic writes and file locks: the one implementation every writer of the runner uses.

A file is first written beside its target and then renamed over it, so a killed process never
leaves a half-written file under a final name; a folder is built beside its target and swapped in.
Locks are `flock`s, so a killed holder never leaves one held. Used by the run dir, the data
store, export and every cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _file_mode() -> int:
    """0666 less the process umask: the mode open() would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()
"""The mode of every file written here (mkstemp would make them owner-only; run and data dirs are shared)."""


TEMP_NAME = re.compile(r"\.[^.].*\.[a-z0-9_]{8}(\.[A-Za-z0-9]+)?|\.write-test-[a-z0-9_]{8}")
"""The names `write_atomic` (and a writability probe) give their temporary files: `.<target>.<8
random chars><suffix>`. One left behind is a write a kill cut off (`sweep_temp_files`)."""


def write_atomic(target: Path, write: Callable[[Path], object],
                 before_replace: Callable[[], object] | None = None) -> Path:
    """Call `write(tmp)` on a temporary path beside `target`, then rename it over `target`.

    The temporary path keeps the target's suffix (Keras saves only to a `.keras` name). If `write`
    raises, the temporary file is removed and `target` is left as it was. `before_replace` runs
    once the new file is complete, just before the rename (a checkpoint's rotation: a failed save
    then rotates nothing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # a no-op after a successful os.replace
    return target


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def is_plain_name(name: object) -> bool:
    """Whether `name` (from a config or a checkpoint's own JSON) names a file inside its folder:
    letters, digits, `_ . -`, not starting with a dot, no `..` and no separator."""
    return isinstance(name, str) and _PLAIN_NAME.fullmatch(name) is not None and ".." not in name


def sweep_temp_files(folder: Path) -> list[Path]:
    """Remove the temporary files of writes a kill cut off (`TEMP_NAME`) from `folder`; returns
    them. Only for a folder this process holds (a live writer's temp file looks the same)."""
    stale = [p for p in folder.iterdir() if p.is_file() and TEMP_NAME.fullmatch(p.name)] if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _old_dir(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def write_dir_atomic(target: Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp_dir)` on a fresh folder beside `target`, then swap it in for `target`.

    Between the two renames only `.<name>.old` exists; `recover_dir` puts it back, so a kill at
    any point leaves either the old folder or the new one, never a mix."""
    recover_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE | 0o111)  # mkdtemp makes 0700
        old = _old_dir(target)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def recover_dir(target: Path) -> None:
    """Finish a swap that a kill interrupted: between its two renames, put the old folder back;
    after them, remove what is left of the old folder (the new one is complete), which would
    otherwise make the next swap's first rename fail (a folder cannot replace a non-empty one)."""
    old = _old_dir(target)
    if old.exists():
        if target.exists():
            shutil.rmtree(old)
        else:
            os.replace(old, target)
    for partial in target.parent.glob(f".{target.name}.partial-*") if target.parent.exists() else []:
        shutil.rmtree(partial, ignore_errors=True)


def has_interrupted_swap(target: Path) -> bool:
    """Whether a kill left `target`'s folder swap half done (its `.old` folder is still there)."""
    return _old_dir(target).exists()


class LockBusy(Exception):
    """Raised by `pid_lock(wait=False)` when another process holds the lock; `holder` is its pid."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"held by pid {holder}")
        self.holder = holder


@contextlib.contextmanager
def pid_lock(path: Path, *, wait: bool) -> Iterator[bool]:
    """Hold an exclusive flock on `path`, which names the holder's pid while held and is removed
    after. `wait=False` raises `LockBusy` when another process holds it; `wait=True` blocks.
    Yields whether the lock is held: False when the lock file cannot be created (a read-only
    folder, where nothing will be written either, so nothing needs serialising)."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError:
            yield False
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockBusy(holder) from None
        # The holder before us may have removed the file after we opened it: lock the live one.
        if os.path.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)
