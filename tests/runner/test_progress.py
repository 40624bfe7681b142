"""What a person watching a run sees of the whole run: its start line and its ETA."""

from __future__ import annotations

import logging

import pytest

from adl_runner.runner.progress import RunProgress, duration, eta


@pytest.mark.parametrize("seconds, text", [(0.4, "0s"), (12, "12s"), (245, "4m05s"), (3720, "1h02m")])
def test_durations_read_as_a_person_says_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_the_eta_is_the_rest_of_the_run_at_this_invocations_pace() -> None:
    assert eta(3, 10, 30.0) == "ETA 1m10s"                    # 10 s per unit, 7 left
    assert eta(12, 20, 20.0, done_before=10) == "ETA 1m20s"   # resumed at 10: two units took 20 s
    assert eta(10, 10, 20.0, done_before=10) == "ETA ?"       # nothing timed yet


def test_each_interval_of_a_step_based_run_says_its_step_of_the_whole(caplog) -> None:
    progress = RunProgress(epochs=80, steps_per_epoch=500, step_based=True)
    with caplog.at_level(logging.INFO, logger="runner"):
        progress.on_epoch_begin(2)
        progress.on_epoch_end(2)
    assert "step 1500/40000 (interval 3/80)" in caplog.text and "ETA " in caplog.text


def test_a_run_starts_with_one_line_naming_its_budget_and_run_dir(run_cli) -> None:
    result = run_cli("model=mlp", "trainer.epochs=1", "dataset.train_limit=256", "dataset.test_limit=128",
                     "logger.tensorboard=false")
    assert result.code == 0, result.err
    log = (result.run_dir / "run.log").read_text() if (result.run_dir / "run.log").exists() else result.out + result.err
    assert f"train mlp on mnist: 1 epochs of 2 steps; run dir {result.run_dir}" in log
    assert "epoch 1/1, " in log, log
    assert "evaluating the final weights on the test split (" in log, log


def test_stages_are_laps_and_the_summary_line_names_each(monkeypatch) -> None:
    from adl_runner.runner import stages

    clock = iter([101.5, 104.0, 110.0])
    monkeypatch.setattr(stages.time, "time", lambda: next(clock))
    timer = stages.Stages()
    timer.last = 100.0
    timer.lap("data")       # 1.5 s
    timer.lap("train")      # 2.5 s
    timer.add("checkpoints", 0.5)
    timer.lap("evaluation")  # 6.0 s
    assert timer.record() == {"data": 1.5, "train": 2.5, "checkpoints": 0.5, "evaluation": 6.0}
    assert timer.line() == "Time: data 1.5 s, train 2.5 s (checkpoints 0.5 s), evaluation 6.0 s"


def test_start_up_counts_from_the_runners_import_not_a_wrapper_shells_start(tmp_path) -> None:
    """A lane script that waits, then `exec`s `run`, keeps the shell's process start time."""
    import subprocess
    import sys
    from pathlib import Path

    import adl_runner

    code = "from adl_runner.runner import stages; s = stages.Stages(); s.entered_main(); print(s.seconds['start-up'])"
    env = {"PYTHONPATH": str(Path(adl_runner.__file__).parents[1]), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(["sh", "-c", 'sleep 3; exec "$0" -c "$1"', sys.executable, code], capture_output=True,
                          text=True, env=env, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 0.0 <= float(proc.stdout) < 3.0


def test_run_json_records_where_the_time_went(run_cli) -> None:
    import json

    result = run_cli("model=mlp", "trainer.epochs=1", "dataset.train_limit=256", "dataset.test_limit=128",
                     "logger.tensorboard=false")
    assert result.code == 0, result.err
    stages = json.loads((result.run_dir / "run.json").read_text())["stages"]
    assert {"composition", "set-up", "data", "build", "train", "checkpoints", "evaluation", "artifacts"} <= set(stages)
    assert all(value >= 0 for value in stages.values())
    assert "Time: " in result.out and "train " in result.out


@pytest.mark.parametrize("args, start", [
    (("model=q_learning", "env=qworld", "trainer.episodes=20", "trainer.eval_episodes=5"),
     "train q_learning on qworld: 20 episodes; run dir "),
    (("model=otsu",), "train otsu on its sample image: one pass, no training; run dir "),
])
def test_every_loop_starts_with_its_line_and_ends_with_its_block(run_cli, args, start: str) -> None:
    result = run_cli(*args, "logger.tensorboard=false")
    assert result.code == 0, result.err
    log = (result.run_dir / "run.log").read_text()
    assert start + str(result.run_dir) in log
    summary = (result.run_dir / "summary.md").read_text()
    assert summary.startswith(f"## train {args[0].split('=')[1]}") and ": completed in " in summary
    assert "Run dir: " in result.out and "Time: " in result.out
