"""memory_stages: the RSS of real `run` jobs at each stage. The benchmark (`memory_stages(settings)`)
starts this script as its child, through the relay interpreter of `harness.peak_rss_mb`:

    python benchmarks/memory_stages.py model=mlp trainer.epochs=1 ...     (the `run` arguments)

which runs a real `run ...` job in its own process, with its resident memory recorded at each stage.
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
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from harness import Settings, alternate, child_env, log, median, mnist_dataset_mb, peak_rss_mb, ratio, summarize, target


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
        loaded = make_pipeline(*args, **kwargs)
        held = getattr(loaded.pipeline, "_train", ()) + getattr(loaded.pipeline, "_test", ())  # ArrayPipeline's arrays
        record("data_loaded", pipeline_tensors_mb=tensor_mb(held))
        return loaded

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



# -- the benchmark: run jobs through this script and tabulate their stages ---------------------------

MEMORY_STAGES = ("started", "before_data", "data_loaded", "model_built", "first_epoch", "fit_end", "end")
ONE_COPY_LIMIT = 1.5  # RSS growth on loading / dataset bytes: one copy is about 1, a second copy makes it >= 2


def stage_job(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """One job through benchmarks/memory_stages.py (started through the relay): its stages and peak."""
    stages_file = cwd / f"stages{time.monotonic_ns()}.jsonl"
    peak = peak_rss_mb([sys.executable, __file__, *argv],
                       dict(env, BENCH_STAGES_OUT=str(stages_file)), cwd)
    stages = {row.pop("stage"): row for row in map(json.loads, stages_file.read_text().splitlines())}
    missing = [name for name in MEMORY_STAGES if name not in stages]
    if missing:
        raise RuntimeError(f"memory_stages.py recorded no {', '.join(missing)} stage")
    return {"peak_mb": peak, "stages": stages}


def memory_stages(s: Settings) -> dict[str, Any]:
    """RSS of real MLP and CNN jobs on MNIST at each stage (after loading, building, the first
    epoch, the end), and whether loading adds one copy of the dataset or more."""
    if s.data_dir is None:
        return {"skipped": "no real MNIST (mnist/mnist.npz under RUNNER_DATA_DIR)"}
    if not Path("/proc/self/status").exists():
        return {"skipped": "needs /proc/self/status (Linux)"}
    dataset_mb = mnist_dataset_mb(s.data_dir)
    run_args = ["trainer.epochs=1", "logger.tensorboard=false"]
    if s.quick:  # the whole dataset is still loaded; only the epoch and the evaluation are short
        run_args += ["trainer.steps_per_epoch=20", "trainer.evaluate_train=false"]
    reps = 1 if s.quick else min(s.reps, 2)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp_name:
        tmp = Path(tmp_name)
        env = child_env(s.data_dir)
        counter = iter(range(10**6))

        def job(model: str) -> Callable[[], dict[str, Any]]:
            return lambda: stage_job([f"model={model}", *run_args, f"hydra.run.dir={tmp / f'job{next(counter)}'}"],
                                     env, tmp)

        log(f"memory_stages: MLP and CNN jobs on MNIST ({' '.join(run_args)}), {reps} rep(s)")
        results = alternate({"mlp": job("mlp"), "cnn": job("cnn")}, reps)
    timings: dict[str, list[float]] = {}
    stage_table: dict[str, dict[str, dict[str, float]]] = {}
    ratios, targets = {}, {}
    for model, reps_out in results.items():
        for stage in MEMORY_STAGES:
            timings[f"{model}_{stage}"] = [r["stages"][stage]["rss_mb"] for r in reps_out]
        timings[f"{model}_peak"] = [r["peak_mb"] for r in reps_out]
        stage_table[model] = {stage: {"rss_mb": round(median([r["stages"][stage]["rss_mb"] for r in reps_out]), 1),
                                      "hwm_mb": round(median([r["stages"][stage]["hwm_mb"] for r in reps_out]), 1)}
                              for stage in MEMORY_STAGES}
        growth = median([r["stages"]["data_loaded"]["rss_mb"] - r["stages"]["before_data"]["rss_mb"] for r in reps_out])
        ratios[f"{model}_load_growth_vs_dataset"] = ratio(growth, dataset_mb)
        # the high-water mark while loading: the npz arrays, the tensors, and what tf.constant stages
        load_peak = median([r["stages"]["data_loaded"]["hwm_mb"] - r["stages"]["before_data"]["rss_mb"] for r in reps_out])
        ratios[f"{model}_load_peak_vs_dataset"] = ratio(load_peak, dataset_mb)
        ratios[f"{model}_peak_vs_dataset"] = ratio(median(timings[f"{model}_peak"]), dataset_mb)
        targets[f"{model}_load_growth_vs_dataset"] = target(ratios[f"{model}_load_growth_vs_dataset"], "<=",
                                                            ONE_COPY_LIMIT)
    held = results["mlp"][0]["stages"]["data_loaded"]["pipeline_tensors_mb"]
    return {
        "units": "MB (resident set, 1e6 bytes): RSS at each stage; peak = ru_maxrss through the relay",
        "dataset_mb": dataset_mb,
        "pipeline_tensors_mb": held,
        "command": ["run", "model=<mlp|cnn>", *run_args],
        "stages": stage_table,
        "timings": timings,
        "medians": summarize(timings),
        "ratios": ratios,
        "targets": targets,
    }


if __name__ == "__main__":
    sys.exit(main())
