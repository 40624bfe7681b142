"""The runner layer: the CLI, tasks, training loops, run dir and reports (see adl_runner's docstring)."""

import time

IMPORTED_AT = time.time()
"""When this layer was first imported, before `run`'s own module and its imports (Hydra's): where a
job's start-up stage begins (`stages`). Not the process's start: a wrapper shell that waits, then
`exec`s `run`, hands its own start time on to it."""
