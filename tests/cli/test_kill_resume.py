"""A run killed with SIGKILL mid-training resumes from its last completed epoch when re-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


def six_epoch_run(run_dir: Path, data_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a run long enough (6 epochs) to be interrupted."""
    argv = [sys.executable, "-m", "adl_runner.runner.cli", "model=mlp", "dataset=synthetic", "dataset.options.n_train=2048",
            "trainer.epochs=6", "trainer.batch_size=16", "logger.tensorboard=false", f"hydra.run.dir={run_dir}"]
    return argv, {**os.environ, "RUNNER_DATA_DIR": str(data_dir)}


@pytest.mark.slow
def test_kill_9_then_rerun_resumes(tmp_path: Path, fake_data_dir: Path) -> None:
    run_dir = tmp_path / "run"
    argv, env = six_epoch_run(run_dir, fake_data_dir)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = run_dir / "checkpoints" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["epochs_completed"] >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before_kill = json.loads(state.read_text())["epochs_completed"]
    assert 2 <= done_before_kill < 6, "the run finished before it could be killed; make it longer"
    assert not (run_dir / "metrics.json").exists()

    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] >= done_before_kill
    assert metrics["epochs_completed"] == 6
    epochs = [line.split(",")[0] for line in (run_dir / "history.csv").read_text().splitlines()[1:]]
    assert epochs == [str(e) for e in range(6)]


@pytest.mark.slow
def test_ctrl_c_exits_130_with_one_line_and_the_rerun_resumes(tmp_path: Path, fake_data_dir: Path) -> None:
    run_dir = tmp_path / "run"
    argv, env = six_epoch_run(run_dir, fake_data_dir)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    state = run_dir / "checkpoints" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline and not state.exists():
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(
        "error: interrupted; the run dir keeps its last completed epoch; resume with: run "), err
    assert errors[0].endswith(f"hydra.run.dir={run_dir}"), err
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"
    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] >= 1 and metrics["epochs_completed"] == 6


def epochs_on_disk(run_dir: Path) -> Callable[[], int]:
    """How many epochs the fit loop's checkpoint holds (its state.json), 0 before the first."""
    state = run_dir / "checkpoints" / "state.json"

    def count() -> int:
        try:
            return int(json.loads(state.read_text())["epochs_completed"])
        except (OSError, ValueError, KeyError):
            return 0  # not written yet (written atomically, so never half-written)

    return count


def kill_9_at_a_random_point(argv: list[str], env: dict[str, str], done: Callable[[], int], *, after: tuple[int, int],
                             seconds: float) -> tuple[int, str]:
    """Start `argv`, wait until `done()` (epochs or episodes in its last checkpoint) reaches a
    random number in `after` (inclusive), wait a random time up to `seconds` more (in a step, a
    save, or between them) and kill -9 it. Returns `done()` after the kill and what was drawn
    (for failure messages)."""
    import random

    wait_for, delay = random.randint(*after), random.uniform(0.0, seconds)
    drawn = f"killed after {wait_for} checkpointed + {delay:.2f} s"
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and done() < wait_for:
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return done(), drawn


@dataclass
class KilledAndResumed:
    straight: Path
    """The uninterrupted run's dir."""
    resumed: Path
    """The run killed with -9 and then re-run with the same command."""
    done_before_kill: int
    """Epochs (episodes) in its last checkpoint when it was killed."""
    drawn: str
    """Where the kill fell, for failure messages."""


def straight_and_killed_then_rerun(args: list[str], tmp_path: Path, data_dir: Path,
                                   done_in: Callable[[Path], Callable[[], int]], *, after: tuple[int, int],
                                   seconds: float) -> KilledAndResumed:
    """Run `run <args>` uninterrupted, then again in another dir killed -9 at a random point
    (`kill_9_at_a_random_point`, counting with `done_in(run_dir)`), then re-run that same command."""
    env = {**os.environ, "RUNNER_DATA_DIR": str(data_dir)}

    def command(run_dir: Path) -> list[str]:
        return [sys.executable, "-m", "adl_runner.runner.cli", *args, f"hydra.run.dir={run_dir}"]

    straight = subprocess.run(command(tmp_path / "straight"), env=env, capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr
    run_dir = tmp_path / "killed"
    done_before_kill, drawn = kill_9_at_a_random_point(command(run_dir), env, done_in(run_dir), after=after, seconds=seconds)
    rerun = subprocess.run(command(run_dir), env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    return KilledAndResumed(tmp_path / "straight", run_dir, done_before_kill, drawn)


def assert_same_last_checkpoint(run: KilledAndResumed, checkpoint_tensors: Callable[[Path], list]) -> None:
    """Every tensor of the resumed run's last.keras equals the uninterrupted run's."""
    import numpy as np

    expected, resumed = (checkpoint_tensors(d / "checkpoints" / "last.keras") for d in (run.straight, run.resumed))
    assert len(expected) == len(resumed)
    for i, (a, b) in enumerate(zip(expected, resumed)):
        np.testing.assert_array_equal(a, b, err_msg=f"tensor {i}; {run.drawn}")


def comparable_metrics(run_dir: Path) -> dict:
    """metrics.json without what differs between an interrupted and an uninterrupted run by design."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k not in ("wall_time_s", "train_seconds", "resumed_from_epoch")}


@pytest.mark.slow
def test_kill_9_of_a_fit_run_with_dropout_at_a_random_point_resumes_to_the_uninterrupted_tensors(
    tmp_path: Path, fake_data_dir: Path, checkpoint_tensors
) -> None:
    # The MLP has two Dropout layers: before checkpoints saved the generators' states, the resumed
    # run drew other masks and ended with other weights.
    args = ["model=mlp", "dataset=synthetic", "dataset.options.n_train=1024", "dataset.options.n_test=64",
            "model.hidden_units=[64,64]", "trainer.epochs=10", "trainer.batch_size=16", "trainer.deterministic=true",
            "trainer.verbose=none", "logger.tensorboard=false", "logger.plots=false"]
    run = straight_and_killed_then_rerun(args, tmp_path, fake_data_dir, epochs_on_disk, after=(1, 5), seconds=1.0)
    run_dir, drawn = run.resumed, run.drawn
    assert run.done_before_kill < 10, f"the run finished before it could be killed ({drawn}); make it longer"
    resumed_from = json.loads((run_dir / "metrics.json").read_text())["resumed_from_epoch"]
    assert resumed_from >= run.done_before_kill, drawn
    assert_same_last_checkpoint(run, checkpoint_tensors)
    assert comparable_metrics(run_dir) == comparable_metrics(run.straight), drawn
    assert (run_dir / "history.csv").read_text() == (run.straight / "history.csv").read_text(), drawn


@pytest.mark.slow
def test_kill_9_of_a_gan_at_a_random_point_resumes_to_the_uninterrupted_weights(
    tmp_path: Path, fake_data_dir: Path, checkpoint_tensors
) -> None:
    args = ["model=wgan", "dataset=synthetic", "dataset.options.shape=[8,8,1]", "dataset.options.n_train=64",
            "dataset.options.n_test=16", "trainer.batch_size=8", "trainer.steps=40", "trainer.steps_per_epoch=2",
            "trainer.deterministic=true", "logger.tensorboard=false", "logger.plots=false"]
    run = straight_and_killed_then_rerun(args, tmp_path, fake_data_dir, epochs_on_disk, after=(1, 1), seconds=1.5)
    assert run.done_before_kill < 20, f"the run finished before it could be killed ({run.drawn}); make it longer"
    metrics = json.loads((run.resumed / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] >= run.done_before_kill and metrics["steps_completed"] == 40
    assert_same_last_checkpoint(run, checkpoint_tensors)


def agent_checkpoint(run_dir: Path) -> dict:
    """Everything an episode-loop checkpoint (checkpoints/last/) holds, loaded: the JSON state
    (episode count, epsilon, replay count, the agent's and the env's RNG states), every array (replay
    buffer, history) and every network's weights and optimizer variables."""
    import keras
    import numpy as np

    folder = run_dir / "checkpoints" / "last"
    meta = json.loads((folder / "agent.json").read_text())
    with np.load(folder / "arrays.npz") as data:
        arrays = {k: data[k] for k in data.files}
    tensors = {}
    for name in meta["networks"]:
        network = keras.saving.load_model(folder / f"{name}.keras", safe_mode=True)
        optimizer = network.optimizer.variables if getattr(network, "optimizer", None) is not None else []
        tensors[name] = [np.asarray(v) for v in network.weights + list(optimizer)]
    return {"meta": meta, "arrays": arrays, "tensors": tensors}


def episodes_on_disk(run_dir: Path) -> Callable[[], int]:
    """How many episodes the agent's last checkpoint holds, 0 before the first. Between the two
    renames of a folder swap only `.last.old/` exists, and a resume puts it back: count that one."""
    checkpoints = run_dir / "checkpoints"

    def count() -> int:
        for folder in ("last", ".last.old"):
            try:
                return int(json.loads((checkpoints / folder / "agent.json").read_text())["episodes_completed"])
            except (OSError, ValueError, KeyError):
                continue
        return 0

    return count


@pytest.mark.slow
def test_kill_9_of_an_rl_run_at_a_random_point_resumes_to_the_uninterrupted_agent(
    tmp_path: Path, fake_data_dir: Path
) -> None:
    import numpy as np

    # One replay per env step and a slow epsilon decay: the networks, the optimizer, the buffer and
    # epsilon all change in every episode; a checkpoint every 3 episodes, 80 episodes in all.
    args = ["model=dqn", "env=cartpole", "model.hidden_units=[16]", "trainer.batch_size=8", "model.replay_every=step",
            "model.epsilon_decay=0.998", "trainer.episodes=80", "trainer.checkpoint_every=3", "trainer.eval_episodes=2",
            "trainer.deterministic=true", "trainer.verbose=none", "logger.plots=false"]
    run = straight_and_killed_then_rerun(args, tmp_path, fake_data_dir, episodes_on_disk, after=(3, 50), seconds=0.5)
    run_dir, straight_dir, drawn = run.resumed, run.straight, run.drawn
    assert 0 < run.done_before_kill < 80, f"the run was killed before its first checkpoint or after its last ({drawn})"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["resumed_from_episode"] >= run.done_before_kill and metrics["episodes_completed"] == 80, drawn
    expected, resumed = agent_checkpoint(straight_dir), agent_checkpoint(run_dir)
    assert resumed["meta"] == expected["meta"], drawn  # episodes, epsilon, replays, agent and env RNG states
    assert sorted(resumed["arrays"]) == sorted(expected["arrays"])
    for key, values in expected["arrays"].items():
        np.testing.assert_array_equal(resumed["arrays"][key], values, err_msg=f"{key}; {drawn}")
    assert sorted(resumed["tensors"]) == ["q_network", "target_q_network"]
    for name, tensors in expected["tensors"].items():
        assert len(resumed["tensors"][name]) == len(tensors) > 0
        for i, (a, b) in enumerate(zip(tensors, resumed["tensors"][name])):
            np.testing.assert_array_equal(b, a, err_msg=f"{name} tensor {i}; {drawn}")
    differ_by_design = ("wall_time_s", "train_seconds", "env_steps", "env_steps_per_s", "resumed_from_episode")
    same = [{k: v for k, v in json.loads((d / "metrics.json").read_text()).items() if k not in differ_by_design}
            for d in (straight_dir, run_dir)]
    assert same[0] == same[1], drawn
    assert (run_dir / "history.csv").read_text() == (straight_dir / "history.csv").read_text(), drawn
