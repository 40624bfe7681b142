"""How the `run` process ends after a job: its output flushed, its log files closed, then
`os._exit`, skipping the interpreter's teardown.

Tearing down a process that has run TensorFlow (its thread pools, the eager context, tf.data's
iterators, every module's objects collected one by one) took 1-6 s per job on a 2-core machine,
longer the busier it is, for nothing a finished job needs: its files are written and closed by
then (run.json, metrics.json, checkpoints; trackers are closed by `tracking`).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def end_process(code: int) -> NoReturn:
    """Flush stdout and stderr, close the logging handlers (Hydra's job log), and exit with `code`."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    logging.shutdown()
    os._exit(code)
