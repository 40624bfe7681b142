"""mirrored: the runner's MLP epoch under `trainer.strategy=mirrored` over two logical CPUs against
`none`, in one child process (logical devices must be set before TensorFlow starts). Both sides
share the same 2 cores, so the ratio is the overhead of replicating and reducing, not a speed-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from harness import Settings, alternate, child_env, log, median, ratio, summarize

EPOCHS = 2


def mirrored(s: Settings) -> dict[str, Any]:
    reps = min(s.reps, 3)
    log(f"mirrored: MLP epochs, mirrored on 2 logical CPUs vs none, {reps} reps in a child process")
    argv = [sys.executable, str(Path(__file__).resolve()), str(reps), "1" if s.quick else "0", str(s.data_dir or "")]
    proc = subprocess.run(argv, cwd=Path(__file__).parent, env=child_env(s.data_dir), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mirrored child failed: {proc.stderr.strip().splitlines()[-1:]}")
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    timings = child["timings"]
    return {
        "units": "seconds per MLP epoch (runner model and pipeline, batch 128, after a first traced fit)",
        "data": child["data"],
        "timings": timings,
        "medians": summarize(timings),
        "ratios": {"mirrored_vs_none": ratio(median(timings["mirrored"]), median(timings["none"]))},
        "targets": {},
    }


def _case(strategy: str, pipeline: Any) -> Callable[[], float]:
    """A runner MLP built and compiled in `training_scope` for `strategy`, traced by a first fit;
    each call fits EPOCHS more epochs in that scope and returns their median epoch time."""
    from adl_runner.runner.distribute import strategy_for
    from adl_runner.runner.schema import TrainerConfig
    from fits import epoch_timer, runner_model

    scope = strategy_for(TrainerConfig(strategy=strategy, batch_size=pipeline.options.batch_size)).scope
    steps = pipeline.steps_per_epoch()
    with scope():
        model = runner_model("mlp", pipeline, "auto")
        model.fit(pipeline.train(0, 1), epochs=1, steps_per_epoch=steps, verbose=0)

    def run() -> float:
        timer = epoch_timer()
        with scope():
            model.fit(pipeline.train(0, EPOCHS), epochs=EPOCHS, steps_per_epoch=steps, callbacks=[timer], verbose=0)
        return median(timer.times)

    return run


def _child(reps: int, quick: bool, data_dir: str) -> dict[str, Any]:
    import tensorflow as tf

    tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                               [tf.config.LogicalDeviceConfiguration()] * 2)
    from fits import CASE_TRAIN, mnist_arrays, runner_pipeline

    settings = Settings(quick=quick, reps=reps, out=Path("."), data_dir=Path(data_dir) if data_dir else None)
    x_u8, y, source = mnist_arrays(settings, limit=CASE_TRAIN[quick])
    pipeline = runner_pipeline("mlp", x_u8, y)
    cases = {name: _case(name, pipeline) for name in ("none", "mirrored")}
    return {"data": {"source": source, "train_examples": int(len(x_u8)), "epochs_per_rep": EPOCHS},
            "timings": alternate(cases, reps)}


if __name__ == "__main__":
    print(json.dumps(_child(int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3])))
