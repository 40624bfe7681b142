"""sweep_launchers: what a sweep's jobs cost as whole processes.

- `sweep`: wall time of one `run -m` sweep of 4 one-epoch MLP jobs (seeds 0-3) under
  `launcher=local_parallel hydra.launcher.n_jobs=2` against Hydra's default (basic, in-process)
  launcher, each sweep in a fresh sweep dir so that nothing is skipped as completed.
- `fixed`: a `debug=smoke` MLP job (8 steps) against a bare `python -c "import tensorflow, keras"`,
  alternated pairs: the fixed cost of a job as its own process.
- `stages`: the `stages` of the sequential sweep's jobs' run.json, so a job's seconds split into
  start-up, composition, set-up, data, ... and training. The basic launcher runs every job in the
  sweep's one process, so only its first job pays the interpreter and TensorFlow's import.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from harness import Settings, alternate, child_env, log, median, ratio, run_command, summarize, timed_process

JOBS = 4
SEEDS = ",".join(str(seed) for seed in range(JOBS))
PARALLEL = ("launcher=local_parallel", "hydra.launcher.n_jobs=2")
# Training examples per job: 30,000 make a fresh job about 10 s on a quiet 2-core VM; 512 a smoke-sized one.
TRAIN_LIMIT = {False: 30000, True: 512}
TEST_LIMIT = {False: 10000, True: 256}
# A job's time outside training: everything its run.json records but `train` (which holds `checkpoints`).
TRAINING = ("train", "checkpoints")


def data_overrides(s: Settings) -> tuple[str, ...]:
    """Real MNIST when the data dir has it, else synthetic MNIST-shaped data (what CI has)."""
    return () if s.data_dir else ("dataset=synthetic",)


def sweep_overrides(s: Settings) -> tuple[str, ...]:
    return ("model=mlp", f"seed={SEEDS}", "trainer.epochs=1", "logger.tensorboard=false",
            f"dataset.train_limit={TRAIN_LIMIT[s.quick]}", f"dataset.test_limit={TEST_LIMIT[s.quick]}",
            *data_overrides(s))


def job_stages(sweep_dir: Path) -> list[dict[str, float]]:
    """The `stages` of every job in `sweep_dir`, in the order the jobs started."""
    runs = [json.loads(path.read_text()) for path in sweep_dir.glob("*/run.json")]
    return [run["stages"] for run in sorted(runs, key=lambda run: run["started"])]


def beyond_training(stages: dict[str, float]) -> float:
    return sum(seconds for name, seconds in stages.items() if name not in TRAINING)


def stage_medians(jobs: list[dict[str, float]]) -> dict[str, float]:
    """Per stage, the median over `jobs` (a stage a job lacks counts 0 s there)."""
    names = list(dict.fromkeys(name for stages in jobs for name in stages))
    return {name: round(median([stages.get(name, 0.0) for stages in jobs]), 3) for name in names}


def sweep_cases(s: Settings, tmp: Path, stages: dict[str, list[list[dict[str, float]]]]) -> dict[str, Callable[[], float]]:
    """{'sweep_sequential', 'sweep_local_parallel'}: wall seconds of one whole sweep, each call in a
    new sweep dir; the jobs' stages go to `stages[case]`, one list per sweep."""
    run, env, counter = run_command(), child_env(), iter(range(10**6))

    def case(name: str, launcher: tuple[str, ...]) -> Callable[[], float]:
        def call() -> float:
            sweep_dir = tmp / f"{name}{next(counter)}"
            seconds = timed_process([*run, "-m", *launcher, *sweep_overrides(s), f"hydra.sweep.dir={sweep_dir}"],
                                    0, env, tmp)
            jobs = job_stages(sweep_dir)
            if len(jobs) != JOBS:
                raise RuntimeError(f"{name}: {len(jobs)} run.json files in {sweep_dir}, expected {JOBS}")
            stages.setdefault(name, []).append(jobs)
            return seconds

        return call

    return {"sweep_sequential": case("sweep_sequential", ()), "sweep_local_parallel": case("sweep_local_parallel", PARALLEL)}


def fixed_cost_cases(s: Settings, tmp: Path) -> dict[str, Callable[[], float]]:
    """{'import_tf_keras', 'smoke_job'}: wall seconds of a bare TensorFlow import and of a smoke MLP
    job, each call a fresh process (the job in a fresh run dir: an old one would resume)."""
    run, env, counter = run_command(), child_env(), iter(range(10**6))
    job = ("model=mlp", "debug=smoke", "logger.tensorboard=false", *data_overrides(s))
    return {
        "import_tf_keras": lambda: timed_process([sys.executable, "-c", "import tensorflow, keras"], 0, env, tmp),
        "smoke_job": lambda: timed_process([*run, *job, f"hydra.run.dir={tmp / f'smoke{next(counter)}'}"], 0, env, tmp),
    }


def sweep_launchers(s: Settings) -> dict[str, Any]:
    sweep_reps, pair_reps = (1, 2) if s.quick else (min(s.reps, 3), s.reps)
    log(f"sweep_launchers: {JOBS}-job MLP sweeps, sequential vs local_parallel (2 workers), {sweep_reps} rep(s); "
        f"smoke job vs bare import, {pair_reps} pairs")
    stages: dict[str, list[list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sweeps-") as tmp_name:
        tmp = Path(tmp_name)
        timings = alternate(sweep_cases(s, tmp, stages), sweep_reps)
        timings.update(alternate(fixed_cost_cases(s, tmp), pair_reps))
    # The basic launcher's first job pays the process's start-up and TensorFlow's import; its later jobs
    # run in the same process. The joblib workers' run.json stages are not used: the task function reaches
    # a worker pickled by value (cloudpickle), with a copy of cli's STAGES, so a worker's jobs record
    # start-up, composition and set-up under `data` and add each job's stages to the one before.
    groups = {
        "sequential_first_job": [sweep[0] for sweep in stages["sweep_sequential"]],
        "sequential_later_jobs": [job for sweep in stages["sweep_sequential"] for job in sweep[1:]],
    }
    for group, jobs in groups.items():
        timings[f"{group}_beyond_training"] = [beyond_training(job) for job in jobs]
        timings[f"{group}_training"] = [job.get("train", 0.0) for job in jobs]
    med = summarize(timings)
    return {
        "units": "seconds (wall: whole sweeps, whole processes; per job from run.json stages)",
        "data": {"source": "mnist" if s.data_dir else "synthetic", "train_limit": TRAIN_LIMIT[s.quick],
                 "test_limit": TEST_LIMIT[s.quick], "jobs_per_sweep": JOBS, "parallel": " ".join(PARALLEL)},
        "timings": timings,
        "medians": med,
        "job_stages": {group: stage_medians(jobs) for group, jobs in groups.items()},
        "paired_ratios": {"smoke_job_vs_import_tf_keras": [
            round(job / bare, 4) for job, bare in zip(timings["smoke_job"], timings["import_tf_keras"])]},
        "smoke_job_above_import_s": round(median(
            [job - bare for job, bare in zip(timings["smoke_job"], timings["import_tf_keras"])]), 3),
        "ratios": {
            "local_parallel_vs_sequential": ratio(med["sweep_local_parallel"], med["sweep_sequential"]),
            "smoke_job_vs_import_tf_keras": ratio(med["smoke_job"], med["import_tf_keras"]),
            "sequential_later_job_beyond_training_vs_training": ratio(
                med["sequential_later_jobs_beyond_training"], med["sequential_later_jobs_training"]),
        },
        "targets": {},
    }
