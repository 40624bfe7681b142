"""A real `run ...` job in this process, with its resident memory recorded at each stage.

    python benchmarks/memory_stages.py model=mlp trainer.epochs=1 ...     (the `run` arguments)

`benchmarks/run.py`'s `memory_stages` starts this through its relay interpreter (see `peak_rss_mb`).
It wraps three functions of `runner.tasks.fit` and the fit loop, without changing what they do, and
appends one JSON line per stage to the file named by $BENCH_STAGES_OUT:

    {"stage": str, "rss_mb": VmRSS, "hwm_mb": VmHWM (this process's peak so far), ...}

Stages: `started` (bare interpreter), `before_data` (TensorFlow imported and configured, entering
`make_pipeline`), `data_loaded` (the arrays read and wrapped in the pipeline; adds the bytes of the
pipeline's tensors), `model_built` (built and compiled), `first_epoch` (end of epoch 1, validation
included, before its checkpoint is written), `fit_end` (end of training), `end` (evaluation, metrics and artifacts written).
Linux only (/proc/self/status).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def memory_now(status: str = "/proc/self/status") -> dict[str, float]:
    """{"rss_mb": VmRSS, "hwm_mb": VmHWM} of this process, in MB (1e6 bytes)."""
    fields = {}
    with open(status) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024 / 1e6  # the kernel writes kB (KiB)
    return {"rss_mb": fields["VmRSS"], "hwm_mb": fields["VmHWM"]}


def record(stage: str, **extra: Any) -> None:
    """Append this stage's line to $BENCH_STAGES_OUT."""
    with Path(os.environ["BENCH_STAGES_OUT"]).open("a") as f:
        f.write(json.dumps({"stage": stage, **memory_now(), **extra}) + "\n")


def tensor_mb(tensors: Any) -> float:
    import tensorflow as tf

    return sum(int(tf.size(t)) * t.dtype.size for t in tensors) / 1e6


def install_hooks() -> None:
    import keras

    import adl_runner.runner.tasks.fit as tasks

    make_pipeline, compile_model, fit = tasks.make_pipeline, tasks.compile_model, tasks.fit

    def hooked_make_pipeline(*args: Any, **kwargs: Any):
        record("before_data")
        pipeline, name = make_pipeline(*args, **kwargs)
        held = getattr(pipeline, "_train", ()) + getattr(pipeline, "_test", ())  # ArrayPipeline's arrays
        record("data_loaded", pipeline_tensors_mb=tensor_mb(held))
        return pipeline, name

    def hooked_compile_model(*args: Any, **kwargs: Any) -> None:
        compile_model(*args, **kwargs)
        record("model_built")

    class StageCallback(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1
            if self.epochs == 1:
                record("first_epoch")

        def on_train_end(self, logs=None):
            record("fit_end")

    def hooked_fit(*args: Any, **kwargs: Any):
        # last among the extra callbacks: the runner's own run after them, so "first_epoch" sees
        # the epoch's batches, not yet its checkpoint; checkpoints show up in "fit_end"
        kwargs["extra_callbacks"] = [*kwargs.get("extra_callbacks", ()), StageCallback()]
        return fit(*args, **kwargs)

    tasks.make_pipeline, tasks.compile_model, tasks.fit = hooked_make_pipeline, hooked_compile_model, hooked_fit


def main() -> int:
    record("started")
    install_hooks()
    from adl_runner.runner.cli import main as run_main

    code = run_main(sys.argv[1:])
    record("end")
    return code


if __name__ == "__main__":
    sys.exit(main())
