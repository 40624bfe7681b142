"""What escaped a task (TensorFlow, Keras, gymnasium, the OS) as the one `error:` line the CLI
prints: a full disk and exhausted memory say what to do; anything else names its type and first
line, and where its traceback was kept. No TensorFlow import: errors are matched by name."""

from __future__ import annotations

import errno
import traceback
from pathlib import Path

TRACEBACK_FILE = "traceback.txt"
"""In the run dir: the traceback of a failure that escaped a task (stderr gets one line)."""


def failure_line(exc: BaseException, run_dir: Path) -> str:
    """One line for an unexpected failure during a run; the checkpoints already written are intact
    (every write is atomic), so the line says so."""
    kept = "the checkpoints written before it are intact"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"disk full writing {exc.filename or run_dir} (no space left on device); {kept}; free space "
                f"(or choose another hydra.run.dir) and re-run the same command to resume")
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    if type(exc).__name__ == "ResourceExhaustedError" or isinstance(exc, MemoryError):
        return (f"out of memory ({type(exc).__name__}: {first}); {kept}; lower trainer.batch_size or the model's "
                f"size, and re-run")
    if isinstance(exc, OSError):
        return f"{exc.strerror or first} ({exc.filename or run_dir}); {kept}"
    return (f"{type(exc).__name__}: {first or '(no message)'}; the run failed ({kept}); "
            f"its traceback is in {run_dir / TRACEBACK_FILE}")


def traceback_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
