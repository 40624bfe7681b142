"""Import TensorFlow without its load-time notices.

TensorFlow 2.21's native libraries log while they load, before absl's logging is initialised:
absl's "All log messages before absl::InitializeLog() is called are written to STDERR" and the
oneDNN notice (port.cc, INFO), each twice, on every run. TF_CPP_MIN_LOG_LEVEL=2 (which `run` sets)
hides cpu_feature_guard's INFO lines but not these: they bypass it. So the first import runs with
the process's stderr (file descriptor 2, where C++ writes) in a temp file, and what it wrote is
passed on without absl's INFO lines and that warning. `TF_CPP_MIN_LOG_LEVEL=0`, TensorFlow's own
switch for its INFO lines, shows everything.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Iterator

_ABSL_INFO = re.compile(r"I\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")
"""absl's prefix of an INFO line: `I0000 00:00:1796495882.066552   21193 port.cc:153] `."""
_ABSL_PRELUDE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def is_startup_notice(line: str) -> bool:
    """Whether `line` is one that TF_CPP_MIN_LOG_LEVEL >= 1 should have hidden."""
    return line.strip() == _ABSL_PRELUDE or _ABSL_INFO.match(line) is not None


@contextlib.contextmanager
def _native_stderr_without_notices() -> Iterator[None]:
    """Everything written to file descriptor 2 inside, passed on at the end less the notices."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            os.write(2, "".join(line for line in lines if not is_startup_notice(line)).encode())


def import_tensorflow() -> None:
    """Import TensorFlow (once per process) with its load-time notices hidden, unless
    TF_CPP_MIN_LOG_LEVEL=0 asks for TensorFlow's INFO lines."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") == "0":
        import tensorflow  # noqa: F401
        return
    with _native_stderr_without_notices():
        import tensorflow  # noqa: F401
