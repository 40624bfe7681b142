"""cli_startup: wall time of `run --help`, a bad override and a 1-step job, against a bare `python -c pass`."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import Settings, alternate, child_env, ratio, run_command, summarize, target, timed_process

STARTUP_TARGET_S = 1.5  # from the issue: `run --help` and a bad-override error both under 1.5 s


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
