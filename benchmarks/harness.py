"""What every benchmark shares: its settings, the alternated repetitions (ABBA...) and their
medians and ratios, and timed child processes (wall time, peak RSS).

The benchmarks import their siblings by name: `run.py` and the child scripts (`variant.py`,
`memory_stages.py`) run from benchmarks/, which Python puts first on the import path.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".pkg"))  # the runner itself, also without an editable install
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True)
class Settings:
    quick: bool
    reps: int
    out: Path
    data_dir: Path | None  # holds mnist/mnist.npz, else None (synthetic data, no memory benchmark)
    jobs: tuple[str, ...] = ()  # whole_job: only these jobs (empty: all)
    epochs: int | None = None  # whole_job: the MLP and CNN jobs' epochs (None: the book's)


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


def summarize(timings: dict[str, list[float]]) -> dict[str, float]:
    return {name: round(median(values), 6) for name, values in timings.items()}


def steady(epoch_times: list[float]) -> float:
    """Median epoch time without the first epoch (tracing)."""
    return median(epoch_times[1:] if len(epoch_times) > 1 else epoch_times)


def mnist_dataset_mb(data_dir: Path) -> float:
    """Bytes of real MNIST's uint8 arrays (train and test), in MB: what a job's memory is compared with."""
    import numpy as np

    with np.load(data_dir / "mnist" / "mnist.npz", allow_pickle=False) as z:
        return sum(z[k].nbytes for k in ("x_train", "y_train", "x_test", "y_test")) / 1e6


# -- child processes --------------------------------------------------------------------------------


def run_command() -> list[str]:
    """The `run` console script beside this interpreter, else the module (cli.py has a __main__)."""
    script = Path(sys.executable).parent / "run"
    return [str(script)] if script.exists() else [sys.executable, "-m", "adl_runner.runner.cli"]


def child_env(data_dir: Path | str | None = None) -> dict[str, str]:
    """The environment of a child process: it imports this checkout's runner (.pkg first on
    PYTHONPATH), not the one the venv's `run` script was installed from."""
    path = os.pathsep.join(p for p in (str(REPO / ".pkg"), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=path)
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


def job_memory_cases(data_dir: Path | str | None, job: tuple[str, ...], tmp: Path) -> dict[str, Callable[[], float]]:
    """{'import_tf_keras', 'drinks_job'}: peak RSS in MB of a bare `import tensorflow, keras` and of the
    `run` command line `job`, each call a fresh process through the relay (`peak_rss_mb`)."""
    env = child_env(data_dir)
    counter = iter(range(10**6))
    run = run_command()
    return {
        "import_tf_keras": lambda: peak_rss_mb([sys.executable, "-c", "import tensorflow, keras"], env, tmp),
        "drinks_job": lambda: peak_rss_mb([*run, *job, f"hydra.run.dir={tmp / f'job{next(counter)}'}"], env, tmp),
    }


def job_memory(s: Settings, label: str, job: tuple[str, ...], dataset_mb: float, timings: dict[str, list[float]],
               ratios: dict[str, float | None]) -> None:
    """Peak RSS of the `run` command line `job` beside a bare `import tensorflow, keras` (into
    `timings` as memory_*), and its ratios to `dataset_mb`, the MB of the data the job holds."""
    reps = 1 if s.quick else min(s.reps, 2)
    log(f"{label} memory: {' '.join(job)}, {reps} rep(s)")
    with tempfile.TemporaryDirectory(prefix=f"bench-{label}-mem-") as tmp:
        for case, values in alternate(job_memory_cases(s.data_dir, job, Path(tmp)), reps).items():
            timings[f"memory_{case}"] = values
    medians = summarize(timings)
    peak, base = medians["memory_drinks_job"], medians["memory_import_tf_keras"]
    ratios["memory_drinks_job_peak_vs_dataset"] = ratio(peak, dataset_mb)
    ratios["memory_drinks_job_above_import_vs_dataset"] = ratio(peak - base, dataset_mb)
