"""`make bench`: the runner's costs as ratios against plain Python/Keras, measured side by side.

Every figure comes from one invocation that alternates the things it compares (A, B, B, A, ...)
and keeps the median of several repetitions, so that a shared, noisy machine slows both sides
alike. Nothing here passes or fails on absolute time: targets are reported, never enforced.

    .venv/bin/python benchmarks/run.py                   # everything (minutes on 2 CPU cores)
    .venv/bin/python benchmarks/run.py --quick           # seconds-scale settings (the test uses these)
    .venv/bin/python benchmarks/run.py --only fit_overhead --reps 5

Writes benchmarks/results/<YYYY-MM-DD>T<HHMMSS>.json (raw timings, medians, ratios, machine info)
and a Markdown summary next to it (.md), and prints the Markdown. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))  # the runner's own pieces, also without an editable install
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SCHEMA_VERSION = 1
STARTUP_TARGET_S = 1.5  # from the issue: `run --help` and a bad-override error both under 1.5 s
BATCH = 128
QUICK_TRAIN = 4096
MLP_MACS = 784 * 256 + 256 * 256 + 256 * 10  # multiply-accumulates per sample, forward pass
MATMUL_N = 2048


@dataclass(frozen=True)
class Settings:
    quick: bool
    reps: int
    out: Path
    data_dir: Path | None  # holds mnist/mnist.npz, else None (synthetic data, no memory benchmark)


# -- shared helpers ----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def alternate(cases: dict[str, Callable[[], Any]], reps: int) -> dict[str, list[Any]]:
    """Call every case once per repetition, reversing the order every other repetition (ABBA...),
    so that drift in the machine's load hits every case alike; returns case -> results in order."""
    results: dict[str, list[Any]] = {name: [] for name in cases}
    names = list(cases)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else reversed(names):
            results[name].append(cases[name]())
    return results


def ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None  # None, not NaN: the JSON stays strict


def target(value: float | None, op: str, limit: float) -> dict[str, Any]:
    met = value is not None and (value <= limit if op == "<=" else value >= limit)
    return {"value": None if value is None else round(value, 4), "op": op, "limit": limit, "met": bool(met)}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_command() -> list[str]:
    """The `run` console script beside this interpreter, else the module (cli.py has a __main__)."""
    script = Path(sys.executable).parent / "run"
    return [str(script)] if script.exists() else [sys.executable, "-m", "adl_runner.runner.cli"]


def child_env(data_dir: Path | str | None = None) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if data_dir is not None:
        env["RUNNER_DATA_DIR"] = str(data_dir)
    return env


def timed_process(argv: list[str], expect: int, env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of one subprocess; RuntimeError unless it exits with `expect`."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != expect:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(argv[:4])}... exited {proc.returncode}, expected {expect}: {' | '.join(tail)}")
    return elapsed


# Runs argv[2:] and writes that child's ru_maxrss to the fd numbered argv[1]. On Linux a child's ru_maxrss starts at
# its parent's resident size at fork (the high-water mark survives exec), so measured straight from
# this process, which holds TensorFlow and trained models by then, every job read the same 1.6 GB.
# The relay is a bare interpreter: its children start from its few MB.
_RSS_RELAY = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "os.write(int(sys.argv[1]), str(usage.ru_maxrss).encode())\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def peak_rss_mb(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Peak resident set size (ru_maxrss) of one child process, in MB; RuntimeError unless it exits 0."""
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-c", _RSS_RELAY, str(write_end), *argv], cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL, stderr=err, pass_fds=(write_end,))
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reader:
            maxrss = reader.read().decode()
        proc.wait()
        if proc.returncode != 0 or not maxrss:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{' '.join(argv[:4])}... exited {proc.returncode}: {' | '.join(tail)}")
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return int(maxrss) * scale / 1e6


def summarize(timings: dict[str, list[float]]) -> dict[str, float]:
    return {name: round(median(values), 6) for name, values in timings.items()}


# -- data and models for the in-process fits ------------------------------------------------------------


def mnist_arrays(s: Settings, limit: int | None = None) -> tuple[Any, Any, str]:
    """uint8 (n, 28, 28, 1) images and int labels: real MNIST if present, else synthetic. `limit`:
    the first `limit` training examples (default: QUICK_TRAIN with --quick, else all 60,000)."""
    n = limit or (QUICK_TRAIN if s.quick else None)
    if s.data_dir is not None:
        from adl_runner.data.store import DataStore
        from adl_runner.data.vision import NoOptions, load_mnist

        splits = load_mnist(DataStore(s.data_dir), NoOptions())
        return splits.x_train[:n], splits.y_train[:n], "mnist"
    from adl_runner.data.synthetic import make_splits

    splits = make_splits((28, 28, 1), 10, n or 60000, 256, 0)  # the test split is not used
    return splits.x_train, splits.y_train, "synthetic"


def plain_model(name: str):
    """The same networks as models.classifiers, written out the way a plain Keras script would."""
    import keras
    from keras import layers

    if name == "mlp":
        return keras.Sequential([
            keras.Input((784,)),
            layers.Dense(256), layers.Activation("relu"), layers.Dropout(0.45),
            layers.Dense(256), layers.Activation("relu"), layers.Dropout(0.45),
            layers.Dense(10), layers.Activation("softmax"),
        ])
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(), layers.Dropout(0.2), layers.Dense(10), layers.Activation("softmax"),
    ])


def epoch_timer():
    """A Keras callback that records the wall time of every epoch (begin to end)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)

    return EpochTimer()


def fit_plain(name: str, x, y, epochs: int) -> list[float]:
    """Epoch times of `model.fit` on NumPy float arrays with Keras defaults."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = plain_model(name)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = epoch_timer()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, callbacks=[timer], verbose=0)
    return timer.times


def fit_runner(name: str, pipeline, epochs: int, jit_compile: Any = "auto") -> list[float]:
    """Epoch times of the runner's path: registry model, runner optimizer, tf.data pipeline.
    `jit_compile`: what `trainer.jit_compile` hands to `compile` (auto, True, False)."""
    import keras

    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.runner.families import load_families
    from adl_runner.runner.optim import AdamOptions, adam

    load_families()
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    entry = MODELS.get(name)
    model = entry.build(entry.spec.options(), BuildContext(0, pipeline.input_shape, pipeline.num_classes))
    # as runner.tasks.compile_model does for one-hot labels and trainer.jit_compile=auto
    model.compile(optimizer=adam(AdamOptions()), loss="categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    timer = epoch_timer()
    model.fit(pipeline.train(0, epochs), epochs=epochs, steps_per_epoch=pipeline.steps_per_epoch(),
              callbacks=[timer], shuffle=False, verbose=0)
    return timer.times


def runner_pipeline(name: str, x_u8, y):
    """The runner's `ArrayPipeline` over these arrays, in the view the model takes (no validation)."""
    from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions

    options = PipelineOptions(view="flat" if name == "mlp" else "image", onehot=True, batch_size=BATCH, seed=0)
    return ArrayPipeline(x_u8, y, x_u8[:BATCH], y[:BATCH], 10, options)


def fit_cases(name: str, x_u8, y, epochs: int) -> dict[str, Callable[[], list[float]]]:
    """{'plain': ..., 'runner': ...}: each call trains a fresh model and returns its epoch times."""
    import numpy as np

    x = x_u8.astype(np.float32) / 255.0
    x = x.reshape(len(x), -1) if name == "mlp" else x
    y_onehot = np.eye(10, dtype=np.float32)[y]
    pipeline = runner_pipeline(name, x_u8, y)
    return {"plain": lambda: fit_plain(name, x, y_onehot, epochs),
            "runner": lambda: fit_runner(name, pipeline, epochs)}


def steady(epoch_times: list[float]) -> float:
    """Median epoch time without the first epoch (tracing)."""
    return median(epoch_times[1:] if len(epoch_times) > 1 else epoch_times)


# -- benchmarks ---------------------------------------------------------------------------------------


def cli_startup(s: Settings) -> dict[str, Any]:
    """`run --help`, `run model=mlpp` (exit 2) and a 1-step job, against a bare `python -c pass`."""
    run = run_command()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp_name:
        tmp = Path(tmp_name)
        env = child_env(tmp)  # the job's data is synthetic: any data dir will do
        quick_cases = {
            "python_pass": lambda: timed_process([sys.executable, "-c", "pass"], 0, env, tmp),
            "run_help": lambda: timed_process([*run, "--help"], 0, env, tmp),
            "run_bad_model": lambda: timed_process([*run, "model=mlpp"], 2, env, tmp),
        }
        timings = alternate(quick_cases, s.reps)
        counter = iter(range(10**6))

        def job() -> float:
            run_dir = tmp / f"job{next(counter)}"  # a fresh dir every time: an old one would resume
            return timed_process([*run, "model=mlp", "dataset=synthetic", "debug=smoke", "trainer.steps_per_epoch=1",
                                  "logger.tensorboard=false", "logger.plots=false", "dataset.verify_checksums=false",
                                  f"hydra.run.dir={run_dir}"], 0, env, tmp)

        job_reps = min(s.reps, 2) if s.quick else s.reps
        timings.update(alternate({"python_pass_job": quick_cases["python_pass"], "job_1_step": job}, job_reps))
    med = summarize(timings)
    return {
        "units": "seconds (wall, per process)",
        "command": run,
        "timings": timings,
        "medians": med,
        "ratios": {
            "run_help_vs_python": ratio(med["run_help"], med["python_pass"]),
            "run_bad_model_vs_python": ratio(med["run_bad_model"], med["python_pass"]),
            "job_1_step_vs_python": ratio(med["job_1_step"], med["python_pass_job"]),
        },
        "targets": {
            "run_help_s": target(med["run_help"], "<=", STARTUP_TARGET_S),
            "run_bad_model_s": target(med["run_bad_model"], "<=", STARTUP_TARGET_S),
        },
    }


def fit_overhead(s: Settings) -> dict[str, Any]:
    """Steady-state epoch time of the runner's fit path over plain `model.fit` on arrays."""
    x_u8, y, source = mnist_arrays(s)
    # (model, epochs per fit, repetitions per side): a CNN epoch on full MNIST is 20-30 s on 2 cores
    plan = [("mlp", 4, s.reps)] + ([] if s.quick else [("cnn", 3, min(s.reps, 3))])
    timings: dict[str, list[float]] = {}
    epoch_times: dict[str, list[list[float]]] = {}
    ratios, targets, paired = {}, {}, {}
    for name, epochs, reps in plan:
        log(f"fit_overhead: {name}, {len(x_u8)} examples, {epochs} epochs x {reps} reps per side")
        runs = alternate(fit_cases(name, x_u8, y, epochs), reps)
        for side, per_rep in runs.items():
            epoch_times[f"{name}_{side}"] = [[round(t, 6) for t in rep] for rep in per_rep]
            timings[f"{name}_{side}"] = [steady(rep) for rep in per_rep]
        ratios[f"{name}_runner_vs_plain"] = ratio(median(timings[f"{name}_runner"]), median(timings[f"{name}_plain"]))
        paired[name] = [ratio(r, p) for r, p in zip(timings[f"{name}_runner"], timings[f"{name}_plain"])]
        targets[f"{name}_runner_vs_plain"] = target(ratios[f"{name}_runner_vs_plain"], "<=", 1.0)
    return {
        "units": "seconds per steady-state epoch (first epoch dropped, median of the rest)",
        "data": {"source": source, "train_examples": int(len(x_u8)), "batch_size": BATCH,
                 "epochs_per_fit": {name: epochs for name, epochs, _ in plan}},
        "epoch_times": epoch_times,
        "timings": timings,
        "medians": summarize(timings),
        "paired_ratios": paired,
        "ratios": ratios,
        "targets": targets,
    }


def peak_fraction(s: Settings) -> dict[str, Any]:
    """Achieved FLOP/s of the MLP fit over a measured float32 matmul peak in the same process."""
    if s.quick:
        return {"skipped": "--quick"}
    import tensorflow as tf

    x_u8, y, source = mnist_arrays(s)
    cases = fit_cases("mlp", x_u8, y, 3)
    a = tf.random.uniform((MATMUL_N, MATMUL_N), dtype=tf.float32)
    b = tf.random.uniform((MATMUL_N, MATMUL_N), dtype=tf.float32)
    for _ in range(3):  # warm-up: thread pools, oneDNN primitives
        tf.matmul(a, b).numpy()

    def matmul() -> float:
        start = time.perf_counter()
        for _ in range(5):
            float(tf.matmul(a, b)[0, 0])  # eager CPU ops run synchronously; the read makes sure
        return (time.perf_counter() - start) / 5

    log(f"peak_fraction: matmul {MATMUL_N}^2 and the MLP fit, {s.reps} reps")
    runs = alternate({"matmul": matmul, "mlp_plain": cases["plain"], "mlp_runner": cases["runner"]}, s.reps)
    timings = {"matmul": runs["matmul"], "mlp_plain": [steady(r) for r in runs["mlp_plain"]],
               "mlp_runner": [steady(r) for r in runs["mlp_runner"]]}
    med = summarize(timings)
    peak = 2 * MATMUL_N**3 / med["matmul"]
    flops_per_sample = 3 * 2 * MLP_MACS  # forward + backward (about twice the forward)
    achieved = {side: flops_per_sample * len(x_u8) / med[f"mlp_{side}"] for side in ("plain", "runner")}
    return {
        "units": "seconds (matmul: per call; mlp: per steady-state epoch)",
        "data": {"source": source, "train_examples": int(len(x_u8))},
        "timings": timings,
        "medians": med,
        "gflops": {"matmul_peak": peak / 1e9, **{f"mlp_{k}": v / 1e9 for k, v in achieved.items()}},
        "ratios": {f"mlp_{k}_fraction_of_peak": v / peak for k, v in achieved.items()},
    }


def memory(s: Settings) -> dict[str, Any]:
    """Peak RSS of a 1-epoch `run` MLP job on MNIST, over the size of the dataset's arrays."""
    if s.data_dir is None:
        return {"skipped": "no real MNIST (mnist/mnist.npz under RUNNER_DATA_DIR)"}
    import numpy as np

    with np.load(s.data_dir / "mnist" / "mnist.npz", allow_pickle=False) as z:
        dataset_mb = sum(z[k].nbytes for k in ("x_train", "y_train", "x_test", "y_test")) / 1e6
    run = run_command()
    reps = 1 if s.quick else min(s.reps, 2)
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp_name:
        tmp = Path(tmp_name)
        env = child_env(s.data_dir)
        counter = iter(range(10**6))
        # logger.tensorboard=false: the TensorBoard callback needs the tensorboard package, which
        # tensorflow-cpu 2.21 does not install
        job = lambda: peak_rss_mb([*run, "model=mlp", "trainer.epochs=1", "logger.tensorboard=false",  # noqa: E731
                                   f"hydra.run.dir={tmp / f'job{next(counter)}'}"], env, tmp)
        baseline = lambda: peak_rss_mb([sys.executable, "-c", "import tensorflow, keras"], env, tmp)  # noqa: E731
        log(f"memory: 1-epoch MLP job on MNIST, {reps} rep(s)")
        peaks = alternate({"import_tf_keras": baseline, "job_mlp_1_epoch": job}, reps)
    med = summarize(peaks)
    return {
        "units": "MB (peak RSS, 1e6 bytes)",
        "dataset_mb": dataset_mb,
        "timings": peaks,
        "medians": med,
        "ratios": {
            "job_peak_vs_dataset": ratio(med["job_mlp_1_epoch"], dataset_mb),
            "job_above_import_vs_dataset": ratio(med["job_mlp_1_epoch"] - med["import_tf_keras"], dataset_mb),
        },
    }


MEMORY_STAGES = ("started", "before_data", "data_loaded", "model_built", "first_epoch", "fit_end", "end")
ONE_COPY_LIMIT = 1.5  # RSS growth on loading / dataset bytes: one copy is about 1, a second copy makes it >= 2


def stage_job(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """One job through benchmarks/memory_stages.py (started through the relay): its stages and peak."""
    stages_file = cwd / f"stages{time.monotonic_ns()}.jsonl"
    peak = peak_rss_mb([sys.executable, str(REPO / "benchmarks" / "memory_stages.py"), *argv],
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
    import numpy as np

    with np.load(s.data_dir / "mnist" / "mnist.npz", allow_pickle=False) as z:
        dataset_mb = sum(z[k].nbytes for k in ("x_train", "y_train", "x_test", "y_test")) / 1e6
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


def gan_step(s: Settings) -> dict[str, Any]:
    """Seconds per DCGAN step (batch 64): the runner's fused step vs hand-written and book-style loops."""
    from gan_step import GAN_BATCH, gan_cases

    x_u8, _, source = mnist_arrays(s)
    steps = 3 if s.quick else 20
    log(f"gan_step: {steps} steps x {s.reps} reps per case")
    timings = alternate(gan_cases(x_u8, steps), s.reps)
    medians = summarize(timings)
    ratios = {
        "runner_vs_hand_written": ratio(medians["runner"], medians["hand_written"]),
        "runner_vs_book_style": ratio(medians["runner"], medians["book_style"]),
    }
    return {
        "units": "seconds per training step (median of alternated repetitions)",
        "data": {"source": source, "batch_size": GAN_BATCH, "steps_per_rep": steps},
        "timings": timings,
        "medians": medians,
        "ratios": ratios,
        "targets": {"runner_vs_hand_written": target(ratios["runner_vs_hand_written"], "<=", 1.10),
                    "runner_vs_book_style": target(ratios["runner_vs_book_style"], "<=", 1.0)},
    }


# -- threads and xla: the evidence behind the runner's thread and jit_compile defaults --------------

# name -> (intra, inter) for tf.config.threading; None: not set, which is what the runner does today
# (no code in src/ or conf/ sets threads). "tf_0_0" sets TensorFlow's own default explicitly, so its
# ratio to "runner_default" is the noise floor of the comparison.
THREAD_VARIANTS: dict[str, tuple[int | None, int | None]] = {
    "runner_default": (None, None),
    "tf_0_0": (0, 0),
    "intra1_inter1": (1, 1),
    "intra1_inter2": (1, 2),
    "intra2_inter1": (2, 1),
    "intra2_inter2": (2, 2),
}
DEFAULT_VARIANT = "runner_default"
FAMILIES = ("mlp", "cnn", "gan")
CASE_TRAIN = {True: 2048, False: 12000}  # examples per MLP/CNN epoch in threads and xla (--quick, full)
CASE_GAN_STEPS = {True: 5, False: 20}
XLA_GAN_STEPS = {True: 3, False: 5}  # an XLA DCGAN step took 30 s on 2 busy cores (13x off): fewer steps


def variant_process(intra: int | None, inter: int | None, train: int, epochs: int, gan_steps: int,
                    data_dir: Path | None) -> dict[str, Any]:
    """One run of benchmarks/variant.py: a fresh interpreter with these thread settings."""
    argv = [sys.executable, str(REPO / "benchmarks" / "variant.py"), "--train", str(train), "--epochs", str(epochs),
            "--gan-steps", str(gan_steps), "--models", ",".join(FAMILIES)]
    argv += ["--intra", str(intra)] if intra is not None else []
    argv += ["--inter", str(inter)] if inter is not None else []
    argv += ["--data-dir", str(data_dir)] if data_dir is not None else []
    proc = subprocess.run(argv, cwd=REPO, env=child_env(), capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"variant.py intra={intra} inter={inter} exited {proc.returncode}: {' | '.join(tail)}")
    return json.loads(lines[-1])


def threads(s: Settings) -> dict[str, Any]:
    """The runner's fit epochs (MLP, CNN) and DCGAN step under TensorFlow thread settings, each
    variant in its own process (the pools are sized before the first op); ratios to the default."""
    train, epochs, gan_steps = CASE_TRAIN[s.quick], 3, CASE_GAN_STEPS[s.quick]
    reps = min(s.reps, 2) if s.quick else min(s.reps, 3)
    log(f"threads: {len(THREAD_VARIANTS)} variants x {reps} reps, one process each "
        f"({train} examples x {epochs} epochs for MLP and CNN, {gan_steps} DCGAN steps)")
    cases = {name: (lambda i=intra, j=inter: variant_process(i, j, train, epochs, gan_steps, s.data_dir))
             for name, (intra, inter) in THREAD_VARIANTS.items()}
    runs = alternate(cases, reps)
    timings: dict[str, list[float]] = {}
    for variant, results in runs.items():
        for fam in FAMILIES:
            timings[f"{fam}_{variant}"] = [r[fam] if fam == "gan" else steady(r[fam]) for r in results]
    med = summarize(timings)
    ratios = {f"{fam}_{variant}_vs_default": ratio(med[f"{fam}_{variant}"], med[f"{fam}_{DEFAULT_VARIANT}"])
              for fam in FAMILIES for variant in THREAD_VARIANTS if variant != DEFAULT_VARIANT}
    fastest = {fam: min(THREAD_VARIANTS, key=lambda v: med[f"{fam}_{v}"]) for fam in FAMILIES}
    return {
        "units": "seconds per steady-state epoch (mlp, cnn: first epoch dropped) and per DCGAN step (gan)",
        "data": {"source": runs[DEFAULT_VARIANT][0]["source"], "train_examples": train, "epochs_per_fit": epochs,
                 "gan_steps_per_rep": gan_steps, "cpus": runs[DEFAULT_VARIANT][0]["cpus"]},
        "variants": {name: {"intra": intra, "inter": inter,
                            "reported": [runs[name][0]["intra"], runs[name][0]["inter"]]}
                     for name, (intra, inter) in THREAD_VARIANTS.items()},
        "timings": timings,
        "medians": med,
        "ratios": ratios,
        "fastest": fastest,
    }


def auto_jit_resolves_to() -> dict[str, bool]:
    """What `jit_compile="auto"` (trainer.jit_compile's default) becomes for each family here."""
    import keras

    from adl_runner.kernel.registry import MODELS
    from adl_runner.models.gan.dcgan import build_dcgan
    from adl_runner.models.gan.options import BookGANOptions
    from adl_runner.runner.families import load_families

    load_families()
    resolved = {}
    for fam in ("mlp", "cnn"):
        entry = MODELS.get(fam)
        model = entry.build(entry.spec.options(), (784,) if fam == "mlp" else (28, 28, 1), 10)
        model.compile(optimizer="adam", loss="categorical_crossentropy", jit_compile="auto")
        resolved[fam] = bool(model.jit_compile)
    gan = build_dcgan(BookGANOptions(), (28, 28, 1), 10)
    gan.compile(optimizer=keras.optimizers.RMSprop(2e-4), jit_compile="auto")
    resolved["gan"] = bool(gan.jit_compile)
    return resolved


def trained_model_case(name: str, pipeline, epochs: int, jit_compile: bool) -> Callable[[], float]:
    """A runner model compiled with `jit_compile`, traced (and XLA-compiled) by a first fit here;
    each call fits `epochs` more epochs and returns their median epoch time. One model per side,
    so the XLA compile is paid once, outside the timed calls."""
    import keras

    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.runner.families import load_families
    from adl_runner.runner.optim import AdamOptions, adam

    load_families()
    keras.utils.set_random_seed(0)
    entry = MODELS.get(name)
    model = entry.build(entry.spec.options(), BuildContext(0, pipeline.input_shape, pipeline.num_classes))
    model.compile(optimizer=adam(AdamOptions()), loss="categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    steps = pipeline.steps_per_epoch()
    model.fit(pipeline.train(0, 1), epochs=1, steps_per_epoch=steps, verbose=0)  # trace, compile

    def run() -> float:
        timer = epoch_timer()
        model.fit(pipeline.train(0, epochs), epochs=epochs, steps_per_epoch=steps, callbacks=[timer], verbose=0)
        return median(timer.times)

    return run


def xla(s: Settings) -> dict[str, Any]:
    """`jit_compile` on vs off for the runner's MLP and CNN epochs and its DCGAN step, in one process."""
    from gan_step import _runner_case

    x_u8, y, source = mnist_arrays(s, limit=CASE_TRAIN[s.quick])
    epochs, gan_steps, reps = 2, XLA_GAN_STEPS[s.quick], min(s.reps, 3)
    resolved = auto_jit_resolves_to()
    timings: dict[str, list[float]] = {}
    ratios, targets = {}, {}
    for fam in FAMILIES:
        log(f"xla: {fam}, on vs off, {reps} reps ({len(x_u8)} examples x {epochs} epochs, or {gan_steps} steps)")
        if fam == "gan":
            cases = {"off": _runner_case(x_u8, gan_steps, False), "on": _runner_case(x_u8, gan_steps, True)}
        else:
            pipeline = runner_pipeline(fam, x_u8, y)
            cases = {"off": trained_model_case(fam, pipeline, epochs, False),
                     "on": trained_model_case(fam, pipeline, epochs, True)}
        for side, values in alternate(cases, reps).items():
            timings[f"{fam}_{side}"] = values
        r = ratio(median(timings[f"{fam}_on"]), median(timings[f"{fam}_off"]))
        ratios[f"{fam}_on_vs_off"] = r
        # the default (auto) should pick the faster side: off where on/off >= 1, on where it is <= 1
        targets[f"{fam}_on_vs_off"] = target(r, "<=" if resolved[fam] else ">=", 1.0)
    return {
        "units": "seconds per epoch (mlp, cnn; after a first fit that traces and compiles) and per DCGAN step (gan)",
        "data": {"source": source, "train_examples": int(len(x_u8)), "epochs_per_rep": epochs,
                 "gan_steps_per_rep": gan_steps},
        "auto_resolves_to": resolved,
        "timings": timings,
        "medians": summarize(timings),
        "ratios": ratios,
        "targets": targets,
    }


# -- rl_replay: DQN steps per second against the book's per-sample predict/fit loop ------------------


def rl_replay(s: Settings) -> dict[str, Any]:
    """DQN on CartPole-v0 (the book's network, batch 64, one replay per episode, greedy acting so
    that every step queries the network): environment steps per second of (1) the book's loop, with
    `predict` per step and per replayed sample and one `fit` per replay (re-implemented here only),
    (2) a hand-written loop with a compiled act and a compiled batched replay step, (3) the runner's
    agent through its episode loop. Networks are built and traced before the clock starts."""
    import random

    import keras
    import numpy as np
    import tensorflow as tf

    from adl_runner.kernel.registry import ENVS, MODELS
    from adl_runner.models.rl.base import AgentContext
    from adl_runner.runner.families import load_families
    from adl_runner.runner.loops.episodes import run_episode

    load_families()
    episodes = 2 if s.quick else 10
    gamma, batch = 0.9, 64

    def make_env():
        entry = ENVS.get("cartpole")
        return entry.build(entry.spec.options())

    def q_net(name: str) -> keras.Model:
        inputs = keras.Input((4,))
        x = inputs
        for _ in range(3):
            x = keras.layers.Dense(256, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(2)(x), name=name)

    def fill(memory: list, env, n: int = 256) -> None:
        obs, _ = env.env.reset(seed=0)
        rng = np.random.default_rng(0)
        while len(memory) < n:
            action = int(rng.integers(2))
            nxt, r, term, trunc, _ = env.env.step(action)
            memory.append((np.asarray(obs, np.float32), action, float(r), np.asarray(nxt, np.float32), bool(term)))
            obs = nxt if not (term or trunc) else env.env.reset()[0]

    # (1) the book's loop (Listing 9.6.1): predict per step, predict per replayed sample, fit per replay
    def book_setup():
        env, q, target = make_env(), q_net("q"), q_net("target")
        q.compile(optimizer=keras.optimizers.Adam(), loss="mse")
        target.set_weights(q.get_weights())
        memory: list = []
        fill(memory, env)
        q.predict(np.zeros((1, 4), np.float32), verbose=0)
        target.predict(np.zeros((1, 4), np.float32), verbose=0)
        q.fit(np.zeros((64, 4), np.float32), np.zeros((64, 2), np.float32), batch_size=64, epochs=1, verbose=0)
        return env, q, target, memory

    def book_run(state) -> int:
        env, q, target, memory = state
        steps = 0
        for _ in range(1):  # one episode a repetition: each costs ~130 predict calls (seconds to minutes)
            obs, _ = env.env.reset()
            while True:
                action = int(np.argmax(q.predict(np.asarray(obs, np.float32)[None], verbose=0)[0]))
                nxt, r, term, trunc, _ = env.env.step(action)
                memory.append((np.asarray(obs, np.float32), action, float(r), np.asarray(nxt, np.float32), bool(term)))
                obs, steps = nxt, steps + 1
                if term or trunc:
                    break
            states, targets = [], []
            for st, a, r, nx, done in random.sample(memory, batch):
                q_values = q.predict(st[None], verbose=0)
                q_values[0][a] = r if done else r + gamma * np.amax(target.predict(nx[None], verbose=0)[0])
                states.append(st)
                targets.append(q_values[0])
            q.fit(np.array(states), np.array(targets), batch_size=batch, epochs=1, verbose=0)
        return steps

    # (2) hand-written: compiled act, compiled batched replay step
    def hand_setup():
        env, q, target = make_env(), q_net("q"), q_net("target")
        target.set_weights(q.get_weights())
        opt = keras.optimizers.Adam()
        opt.build(q.trainable_variables)

        @tf.function
        def act(x):
            return tf.argmax(q(x[None], training=False)[0])

        @tf.function
        def step(s_, a_, r_, s2_, t_):
            y = r_ + gamma * (1.0 - t_) * tf.reduce_max(target(s2_, training=False), axis=1)
            with tf.GradientTape() as tape:
                qa = tf.gather(q(s_, training=True), a_, axis=1, batch_dims=1)
                loss = tf.reduce_mean(tf.square(y - qa)) / 2
            opt.apply_gradients(zip(tape.gradient(loss, q.trainable_variables), q.trainable_variables))
            return loss

        memory: list = []
        fill(memory, env)
        act(tf.zeros((4,)))
        state = (env, act, step, memory)
        replay(state)
        return state

    def replay(state) -> None:
        _, _, step, memory = state
        items = random.sample(memory, batch)
        s_, a_, r_, s2_, t_ = (np.array(col) for col in zip(*items))
        step(s_.astype(np.float32), a_.astype(np.int64), r_.astype(np.float32), s2_.astype(np.float32), t_.astype(np.float32))

    def hand_run(state) -> int:
        env, act, _, memory = state
        steps = 0
        for _ in range(episodes):
            obs, _ = env.env.reset()
            while True:
                action = int(act(tf.constant(np.asarray(obs, np.float32))))
                nxt, r, term, trunc, _ = env.env.step(action)
                memory.append((np.asarray(obs, np.float32), action, float(r), np.asarray(nxt, np.float32), bool(term)))
                obs, steps = nxt, steps + 1
                if term or trunc:
                    break
            replay(state)
        return steps

    # (3) the runner's DQN agent in its episode loop
    def runner_setup():
        env = make_env()
        entry = MODELS.get("dqn")
        agent = entry.build(entry.spec.options(epsilon=0.0, epsilon_min=0.0), env, AgentContext(seed=0))
        memory: list = []
        fill(memory, env)
        for item in memory:
            agent.memory.add(*item)
        agent.replay()
        return env, agent

    def runner_run(state) -> int:
        env, agent = state
        steps = 0
        for _ in range(episodes):
            steps += run_episode(agent, env, learn=True, greedy=False)[1]
            agent.end_episode()
        return steps

    setups = {"book_style": book_setup, "hand_written": hand_setup, "runner": runner_setup}
    runs = {"book_style": book_run, "hand_written": hand_run, "runner": runner_run}
    states = {name: setup() for name, setup in setups.items()}

    def timed(name: str) -> Callable[[], float]:
        def case() -> float:
            start = time.perf_counter()
            steps = runs[name](states[name])
            return steps / (time.perf_counter() - start)
        return case

    timings = alternate({name: timed(name) for name in runs}, s.reps)
    med = {name: median(values) for name, values in timings.items()}
    vs_book = ratio(med["runner"], med["book_style"])
    vs_hand = ratio(med["runner"], med["hand_written"])
    return {
        "units": "environment steps per second (higher is better), learning included",
        "timings": timings,
        "medians": med,
        "ratios": {"runner_vs_book_style": vs_book, "runner_vs_hand_written": vs_hand},
        "targets": {"runner_vs_book_style": target(vs_book, ">=", 10.0),
                    "runner_vs_hand_written": target(vs_hand, ">=", 0.8)},
        "data": {"env": "CartPole-v0", "episodes_per_rep": episodes, "book_style_episodes_per_rep": 1, "batch": batch, "network": "4-256-256-256-2",
                 "acting": "greedy (network queried every step)", "replay": "one per episode"},
    }


BENCHMARKS: dict[str, Callable[[Settings], dict[str, Any]]] = {
    "cli_startup": cli_startup,
    "fit_overhead": fit_overhead,
    "peak_fraction": peak_fraction,
    "memory": memory,
    "gan_step": gan_step,
    "rl_replay": rl_replay,
    "memory_stages": memory_stages,
    "threads": threads,
    "xla": xla,
}


# -- report -------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    def version(*dists: str) -> str | None:
        for dist in dists:
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return None

    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_avg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "tensorflow": version("tensorflow-cpu", "tensorflow"),
        "keras": version("keras"),
        "numpy": version("numpy"),
        "hydra_core": version("hydra-core"),
    }


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# adl-runner benchmarks, {report['started']}",
        "",
        f"{m['cpus_usable']} usable CPUs (of {m['cpu_count']}), load average at start "
        f"{', '.join(f'{v:.2f}' for v in m['load_avg_at_start'] or [])}; TF {m['tensorflow']}, Keras {m['keras']}, "
        f"Python {m['python']}. Options: {json.dumps(report['options'])}.",
        "",
        "Medians of alternated repetitions; on a shared machine quote the ratios, not the seconds.",
    ]
    for name, result in report["benchmarks"].items():
        lines += ["", f"## {name}", ""]
        if result["status"] != "ok":
            lines.append(f"{result['status']}: {result.get('reason', '')}")
            continue
        lines += [f"Units: {result.get('units', '')}. Took {result['seconds']:.0f} s.", "",
                  "| case | median | reps |", "|---|---|---|"]
        lines += [f"| {case} | {fmt(value)} | {len(result['timings'][case])} |" for case, value in result["medians"].items()]
        targets = result.get("targets", {})
        lines += ["", "| ratio | value | target |", "|---|---|---|"]
        for key, value in result["ratios"].items():
            t = targets.get(key)
            lines.append(f"| {key} | {fmt(value)} | {fmt_target(t)} |")
        for key, t in targets.items():
            if key not in result["ratios"]:
                lines.append(f"| {key} (absolute) | {fmt(t['value'])} | {fmt_target(t)} |")
        if "gflops" in result:
            lines += ["", "GFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in result["gflops"].items())]
        if "dataset_mb" in result:
            lines += ["", f"Dataset arrays (uint8, train+test): {result['dataset_mb']:.1f} MB"]
        if "pipeline_tensors_mb" in result:
            lines += ["", f"The pipeline's tensors after loading: {result['pipeline_tensors_mb']:.1f} MB"]
        if "stages" in result:
            models = list(result["stages"])
            lines += ["", "| stage | " + " | ".join(f"{m} RSS | {m} peak so far" for m in models) + " |",
                      "|---|" + "---|---|" * len(models)]
            for stage in next(iter(result["stages"].values())):
                lines.append(f"| {stage} | " + " | ".join(
                    f"{result['stages'][m][stage]['rss_mb']:.0f} | {result['stages'][m][stage]['hwm_mb']:.0f}"
                    for m in models) + " |")
        if "variants" in result:
            lines += ["", "Variants (intra, inter; None: not set): " + ", ".join(
                f"{name} ({v['intra']}, {v['inter']})" for name, v in result["variants"].items())]
        if "fastest" in result:
            lines += ["", "Fastest variant: " + ", ".join(f"{k} {v}" for k, v in result["fastest"].items())]
        if "auto_resolves_to" in result:
            lines += ["", "`jit_compile=\"auto\"` resolves to: " + ", ".join(
                f"{k} {'on' if v else 'off'}" for k, v in result["auto_resolves_to"].items())]
        if "data" in result:
            lines += ["", "Data: " + ", ".join(f"{k}={v}" for k, v in result["data"].items())]
    return "\n".join(lines) + "\n"


def fmt_target(t: dict[str, Any] | None) -> str:
    return "" if t is None else f"{t['op']} {t['limit']} ({'met' if t['met'] else 'NOT met'})"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")  # benchmarks/results/*.tmp is git-ignored
    tmp.write_text(text)
    os.replace(tmp, path)


def result_stem(out: Path, started: dt.datetime) -> Path:
    stem = out / started.strftime("%Y-%m-%dT%H%M%S")
    n = 1
    while stem.with_suffix(".json").exists():  # two invocations within a second
        stem, n = out / f"{started.strftime('%Y-%m-%dT%H%M%S')}-{n}", n + 1
    return stem


def default_data_dir() -> Path | None:
    """RUNNER_DATA_DIR, else ../shared/datasets beside this checkout (as the Makefile does), if it
    holds mnist/mnist.npz."""
    env = os.environ.get("RUNNER_DATA_DIR")
    root = Path(env).expanduser() if env else REPO.parent / "shared" / "datasets"
    return root if (root / "mnist" / "mnist.npz").is_file() else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny settings (seconds): few reps, 4096 training examples, "
                   "MLP only, no peak_fraction")
    p.add_argument("--reps", type=int, default=None, help="repetitions per case (default 5, or 3 with --quick)")
    p.add_argument("--only", action="append", default=None, metavar="NAME",
                   help=f"run only these benchmarks (repeat or comma-separate): {', '.join(BENCHMARKS)}")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results", help="results folder")
    args = p.parse_args(argv)
    names = [n for item in args.only or list(BENCHMARKS) for n in item.split(",") if n]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; valid: {', '.join(BENCHMARKS)}")
    args.only = names
    if args.reps is None:
        args.reps = 3 if args.quick else 5
    if args.reps < 1:
        p.error("--reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now()
    s = Settings(quick=args.quick, reps=args.reps, out=args.out, data_dir=default_data_dir())
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "started": started.isoformat(timespec="seconds"),
        "options": {"quick": s.quick, "reps": s.reps, "only": args.only,
                    "data_dir": str(s.data_dir) if s.data_dir else None},
        "machine": machine_info(),
        "benchmarks": {},
    }
    failed = False
    for name in args.only:
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            result = BENCHMARKS[name](s)
            status = "skipped" if "skipped" in result else "ok"
            result = {"status": status, "reason": result["skipped"]} if status == "skipped" else {"status": status, **result}
        except Exception as exc:  # one broken benchmark must not lose the others' numbers
            failed = True
            result = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
        result["seconds"] = round(time.perf_counter() - t0, 3)
        report["benchmarks"][name] = result
        log(f"{name}: {result['status']} in {result['seconds']:.1f} s")
    report["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    report["machine"]["load_avg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None

    s.out.mkdir(parents=True, exist_ok=True)
    stem = result_stem(s.out, started)
    text = markdown(report)
    write_atomic(stem.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    write_atomic(stem.with_suffix(".md"), text)
    print(text)
    print(f"results: {stem.with_suffix('.json')} and {stem.with_suffix('.md')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
