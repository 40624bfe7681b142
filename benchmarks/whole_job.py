"""whole_job: a whole `run model=<x>` job against the book's own script of the same listing, as
whole processes (interpreter, imports, data, training, evaluation, files: what a user waits for).

- `mlp`: `run model=mlp dataset=mnist` (Listing 1.3.2, 20 epochs) vs `book_jobs.py mlp`;
- `cnn`: `run model=cnn dataset=mnist` (Listing 1.4.1, 10 epochs) vs `book_jobs.py cnn`;
- `dcgan`: `run model=dcgan` for a fixed number of steps vs the book's predict/train_on_batch loop
  with a grid at the same interval;
- `dqn`: `run model=dqn` for a fixed number of episodes vs Listing 9.6.1's loop;
- `smoke`: `run model=mlp dataset=mnist debug=smoke` vs a bare `python -c "import tensorflow, keras"`:
  a job's fixed cost.

One warm-up of each kind of process first (page cache), then alternated pairs per job. Each side
records wall and CPU seconds (the child's rusage); the runner's run.json `stages` go in the result,
so a regression points at its stage. The load average is recorded before every job's pairs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness import REPO, Settings, alternate, child_env, log, median, ratio, run_command, summarize, target
from sweep_launchers import job_stages, stage_medians

BOOK = [sys.executable, str(REPO / "benchmarks" / "book_jobs.py")]
IMPORT_TF = [sys.executable, "-c", "import tensorflow, keras"]


@dataclass(frozen=True)
class Job:
    """One comparison: the runner's overrides and the other side's argv (after the book script,
    or a whole command when `book` is None), and the ratio the issue asks for."""

    runner: tuple[str, ...]
    other: tuple[str, ...]
    limit: float
    book: bool = True


def jobs(s: Settings) -> dict[str, Job]:
    """The book's budgets (MLP and CNN: `--epochs` instead of the book's when given); with --quick, one short
    epoch on 4,096 examples (MLP and CNN), 10 GAN steps, 3 episodes (full: 200 steps in intervals of 100, 10 episodes)."""
    if s.quick:
        cut = ("dataset.train_limit=4096", "dataset.test_limit=1024", "trainer.epochs=1")
        book_cut = ("--train-limit", "4096", "--test-limit", "1024", "--epochs", "1")
        steps, interval, episodes = 10, 5, 3
    else:
        cut = (f"trainer.epochs={s.epochs}",) if s.epochs else ()
        book_cut = ("--epochs", str(s.epochs)) if s.epochs else ()
        steps, interval, episodes = 200, 100, 10
    table = {
        "mlp": Job(("model=mlp", "dataset=mnist", *cut), ("mlp", *book_cut), 1.05),
        "cnn": Job(("model=cnn", "dataset=mnist", *cut), ("cnn", *book_cut), 1.05),
        "dcgan": Job(("model=dcgan", f"trainer.steps={steps}", f"trainer.steps_per_epoch={interval}"),
                     ("dcgan", "--steps", str(steps), "--save-interval", str(interval)), 1.0),
        "dqn": Job(("model=dqn", f"trainer.episodes={episodes}"), ("dqn", "--episodes", str(episodes)), 1.0),
        "smoke": Job(("model=mlp", "dataset=mnist", "debug=smoke"), tuple(IMPORT_TF), 1.5, book=False),
    }
    unknown = set(s.jobs) - set(table)
    if unknown:
        raise ValueError(f"--jobs {', '.join(sorted(unknown))}: no such job; valid: {', '.join(table)}")
    return {name: job for name, job in table.items() if not s.jobs or name in s.jobs}


def usage_process(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process, CPU from its own rusage (user + system);
    RuntimeError unless it exits 0."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{' '.join(argv[:4])}... exited {proc.returncode}: {' | '.join(tail)}")
    return wall, usage.ru_utime + usage.ru_stime


def job_cases(job: Job, s: Settings, tmp: Path, name: str) -> dict[str, Callable[[], tuple[float, float]]]:
    """{'runner', 'book'}: each call one fresh process (the runner in a fresh run dir under
    tmp/<name>/, the book script writing its files into a fresh dir)."""
    env, run, counter = child_env(s.data_dir), run_command(), iter(range(10**6))
    runs = tmp / name
    data = ["--data-dir", str(s.data_dir)] if s.data_dir else []

    def runner() -> tuple[float, float]:
        return usage_process([*run, *job.runner, f"hydra.run.dir={runs / f'run{next(counter)}'}"], env, tmp)

    def book() -> tuple[float, float]:
        if not job.book:
            return usage_process(list(job.other), env, tmp)
        return usage_process([*BOOK, *job.other, *data, "--out", str(tmp / f"{name}-book{next(counter)}")], env, tmp)

    return {"runner": runner, "book": book}


def whole_job(s: Settings) -> dict[str, Any]:
    if s.data_dir is None:
        return {"skipped": "no real MNIST (mnist/mnist.npz under RUNNER_DATA_DIR): the book's scripts read it"}
    pairs = 1 if s.quick else min(s.reps, 3)
    table = jobs(s)
    timings: dict[str, list[float]] = {}
    paired: dict[str, list[float]] = {}
    stages: dict[str, dict[str, float]] = {}
    load: dict[str, list[float]] = {}
    above: dict[str, list[float]] = {}  # runner wall - book wall, per pair
    with tempfile.TemporaryDirectory(prefix="bench-whole-job-") as tmp_name:
        tmp = Path(tmp_name)
        log("whole_job: warm-up (one smoke job, one bare import)")
        for call in job_cases(jobs(Settings(s.quick, s.reps, s.out, s.data_dir))["smoke"], s, tmp, "warm-up").values():
            call()
        for name, job in table.items():
            load[name] = list(os.getloadavg())
            log(f"whole_job {name}: {pairs} pair(s), load {load[name][0]:.2f}: run {' '.join(job.runner)}")
            results = alternate(job_cases(job, s, tmp, name), pairs)
            for side, values in results.items():
                timings[f"{name}_{side}_wall"] = [wall for wall, _ in values]
                timings[f"{name}_{side}_cpu"] = [cpu for _, cpu in values]
            pairs_of = list(zip(results["runner"], results["book"]))
            paired[f"{name}_runner_vs_book_wall"] = [round(r[0] / b[0], 4) for r, b in pairs_of]
            above[name] = [r[0] - b[0] for r, b in pairs_of]
            stages[name] = stage_medians(job_stages(tmp / name))
    med = summarize(timings)
    ratios = {f"{name}_runner_vs_book_{kind}": ratio(med[f"{name}_runner_{kind}"], med[f"{name}_book_{kind}"])
              for name in table for kind in ("wall", "cpu")}
    return {
        "units": "seconds per whole process (wall; CPU = user + system of the child); `book` is the book's "
                 "script (benchmarks/book_jobs.py) or, for `smoke`, a bare `import tensorflow, keras`",
        "data": {"pairs": pairs, "jobs": {name: " ".join(job.runner) for name, job in table.items()},
                 "load_avg_before": load},
        "timings": timings,
        "medians": med,
        "spread": {case: [round(min(v), 3), round(max(v), 3)] for case, v in timings.items()},
        "job_stages": stages,
        "paired_ratios": paired,
        **({"smoke_job_above_import_s": round(median(above["smoke"]), 3)} if "smoke" in above else {}),
        "ratios": ratios,
        "targets": {f"{name}_runner_vs_book_wall": target(ratios[f"{name}_runner_vs_book_wall"], "<=", job.limit)
                    for name, job in table.items()},
    }
