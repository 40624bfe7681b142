"""The episode loop: an agent acting in a gymnasium env, resumable by episode.

Beside `loops/fit.py`, for every episode-loop family (tabular Q, DQN/DDQN, policy gradients).
The loop owns what is common: resets and steps (gymnasium 1.x: terminated vs truncated; a time-limit
end bootstraps unless the env's book switch says otherwise), per-episode bookkeeping (return, running
mean over the solved window, success, the solved criterion), progress lines, the trackers' episode
scalars, checkpoints (the agent's networks, arrays and JSON state plus the env's RNG and the history,
replaced as one folder) and resume. The agent owns acting and learning.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from adl_runner.kernel.agents import Agent, AgentState, EnvHandle
from adl_runner.kernel.errors import CheckpointError, RunnerError
from adl_runner.kernel.files import is_plain_name
from adl_runner.runner.progress import eta
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.tracking import active

log = logging.getLogger("runner")
HISTORY_KEYS = ("return", "steps", "success", "epsilon", "loss")
CHECKPOINT_META = "agent.json"


@dataclass
class History:
    """One entry per completed episode."""

    columns: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    solved_at: Optional[int] = None  # 1-based episode count when the criterion was first met

    def __len__(self) -> int:
        return len(self.columns["return"])

    def add(self, ret: float, steps: int, success: bool, logs: dict[str, float]) -> None:
        self.columns["return"].append(float(ret))
        self.columns["steps"].append(float(steps))
        self.columns["success"].append(1.0 if success else 0.0)
        self.columns["epsilon"].append(float(logs.get("epsilon", math.nan) if logs.get("epsilon") is not None else math.nan))
        self.columns["loss"].append(float(logs.get("loss", math.nan)))

    def mean_return(self, window: int = 100) -> float:
        returns = self.columns["return"][-window:]
        return float(np.mean(returns)) if returns else math.nan

    def check_solved(self, env: EnvHandle) -> bool:
        """The book's criterion: mean return over `window` consecutive episodes >= threshold."""
        if self.solved_at is None and env.solved_threshold is not None and len(self) >= env.solved_window:
            if self.mean_return(env.solved_window) >= env.solved_threshold:
                self.solved_at = len(self)
        return self.solved_at is not None

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"history_{k}": np.asarray(v, dtype=np.float64) for k, v in self.columns.items()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], solved_at: Optional[int]) -> "History":
        h = cls({k: [float(x) for x in arrays.get(f"history_{k}", [])] for k in HISTORY_KEYS}, solved_at)
        return h

    def csv(self) -> str:
        lines = ["episode,return,steps,success,mean_return_100,epsilon,loss"]
        returns = self.columns["return"]
        running = np.convolve(returns, np.ones(100), "full")[: len(returns)] / np.minimum(np.arange(1, len(returns) + 1), 100)
        for i in range(len(self)):
            c = self.columns
            lines.append(f"{i + 1},{c['return'][i]:.6g},{int(c['steps'][i])},{int(c['success'][i])},{running[i]:.6g},"
                         f"{c['epsilon'][i]:.6g},{c['loss'][i]:.6g}")
        return "\n".join(lines) + "\n"


# -- checkpoints -----------------------------------------------------------------------------------
def save_checkpoint(rundir: RunDir, agent: Agent, history: History, meta: dict[str, Any]) -> None:
    """Write checkpoints/last/ as one unit: <network>.keras, arrays.npz and agent.json."""
    saved = agent.get_state()
    arrays = {**saved.arrays, **history.arrays()}
    env_rng = agent.env.env.unwrapped.np_random.bit_generator.state

    def write(folder: Path) -> None:
        for name, network in saved.networks.items():
            network.save(folder / f"{name}.keras")
        np.savez(folder / "arrays.npz", **arrays)
        payload = {**meta, "episodes_completed": len(history), "solved_at": history.solved_at,
                   "networks": sorted(saved.networks), "agent_state": saved.state, "env_rng": env_rng}
        (folder / CHECKPOINT_META).write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")

    rundir.write_dir_atomic(rundir.last_checkpoint_dir, write)


def checkpoint_folder(path: str | Path) -> Path:
    """The checkpoint folder a `ckpt=` names: checkpoints/last itself, or a run dir holding one."""
    path = Path(path)
    for candidate in (path, path / "checkpoints" / "last", path.parent if path.name == CHECKPOINT_META else None):
        if candidate is not None and (candidate / CHECKPOINT_META).is_file():
            return candidate
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; pass ckpt=<run dir>/checkpoints/last")
    raise CheckpointError(f"checkpoint {path} is not an episode-loop checkpoint (a checkpoints/last folder holding "
                          f"{CHECKPOINT_META}); agents are evaluated with ckpt=<run dir>/checkpoints/last")


def read_checkpoint_meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / CHECKPOINT_META).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"checkpoint {folder / CHECKPOINT_META} cannot be read ({exc})") from None


def load_agent_state(folder: Path, meta: dict[str, Any]) -> tuple[AgentState, dict[str, np.ndarray]]:
    """The agent's saved state (networks loaded in Keras safe mode) and every saved array."""
    import keras

    networks = {}
    for name in meta.get("networks", []):
        if not is_plain_name(name):  # a crafted agent.json must not reach files outside its folder
            raise CheckpointError(f"checkpoint {folder / CHECKPOINT_META} names a network {name!r} that is not a file "
                                  f"name inside {folder}; refused")
        try:
            networks[name] = keras.saving.load_model(folder / f"{name}.keras", safe_mode=True)
        except Exception as exc:  # Keras raises many types for a damaged archive
            raise CheckpointError(f"checkpoint {folder / name}.keras could not be loaded: {str(exc).strip().splitlines()[0]}") from None
    try:
        with np.load(folder / "arrays.npz") as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {folder / 'arrays.npz'} cannot be read ({exc})") from None
    return AgentState(networks=networks, arrays=arrays, state=meta.get("agent_state", {})), arrays


# -- progress --------------------------------------------------------------------------------------
class Progress:
    """One line per episode (throttled for long runs), or an in-place line on a terminal."""

    def __init__(self, setting: str, total: int, done: int = 0) -> None:
        self.mode = ("bar" if sys.stdout.isatty() else "line") if setting == "auto" else setting
        self.every = max(1, total // 500) if self.mode == "line" else 1
        self.total = total
        self.done_before, self.started = done, time.monotonic()  # the ETA's pace: this invocation's episodes

    def update(self, episode: int, history: History, env: EnvHandle, logs: dict[str, float], force: bool = False) -> None:
        if self.mode == "none" or (episode % self.every and not force and episode != self.total):
            return
        parts = [f"episode {episode}/{self.total}", f"return {history.columns['return'][-1]:.2f}",
                 f"mean{env.solved_window} {history.mean_return(env.solved_window):.2f}"]
        if logs.get("epsilon") is not None:
            parts.append(f"epsilon {logs['epsilon']:.4f}")
        if "loss" in logs:
            parts.append(f"loss {logs['loss']:.4g}")
        if history.solved_at is not None:
            parts.append(f"solved at {history.solved_at}")
        parts.append(eta(episode, self.total, time.monotonic() - self.started, self.done_before))
        line = "  ".join(parts)
        if self.mode == "bar":
            print("\r" + line.ljust(100), end="\n" if episode == self.total or force else "", flush=True)
        else:
            print(line, flush=True)


# -- the loop --------------------------------------------------------------------------------------
@dataclass
class LoopResult:
    history: History
    env_steps: int
    seconds: float
    stopped_solved: bool


def run_episode(agent: Agent, env: EnvHandle, *, learn: bool, greedy: bool, random: bool = False,
                seed: Optional[int] = None, frames: Optional[list] = None) -> tuple[float, int, bool]:
    """One episode; returns (return, steps, success)."""
    obs, _ = env.env.reset(seed=seed)
    total, steps = 0.0, 0
    if frames is not None:
        frames.append(env.env.render())
    while True:
        action = agent.random_action() if random else agent.act(obs, greedy=greedy)
        next_obs, reward, terminated, truncated, _ = env.env.step(action)
        total += float(reward)
        steps += 1
        if frames is not None:
            frames.append(env.env.render())
        if learn:
            terminal = bool(terminated or (truncated and env.truncation_is_terminal))
            agent.observe(obs, action, float(reward), next_obs, terminal, bool(terminated or truncated))
        obs = next_obs
        if terminated or truncated:
            return total, steps, env.success(float(reward), bool(terminated), bool(truncated))


def train_episodes(agent: Agent, env: EnvHandle, rundir: RunDir, *, episodes: int, seed: int, history: History,
                   checkpoint_every: int, verbose: str, meta: dict[str, Any],
                   loss_bound: Optional[float] = None) -> LoopResult:
    """Train from episode len(history) to `episodes`, checkpointing every `checkpoint_every` episodes.
    An episode whose mean loss is NaN/Inf or above `loss_bound` ends the run before it is recorded."""
    progress = Progress(verbose, episodes, done=len(history))
    tracking = active()
    started, env_steps = time.time(), 0
    first = len(history) == 0
    stopped_solved = False
    try:
        while len(history) < episodes:
            ret, steps, success = run_episode(agent, env, learn=True, greedy=False, seed=seed if first else None)
            first = False
            env_steps += steps
            logs = agent.end_episode()
            loss = logs.get("loss")
            if loss is not None and (not math.isfinite(loss) or (loss_bound is not None and loss > loss_bound)):
                kept = rundir.last_checkpoint_dir if rundir.last_checkpoint_dir.exists() else "none yet"
                what = (f"loss = {loss:.6g} rose above trainer.loss_bound={loss_bound:g}" if math.isfinite(loss)
                        else f"loss became {loss}")
                raise RunnerError(f"{what} at episode {len(history) + 1}; stopped (last good checkpoint: "
                                  f"{kept}); lower the learning rate")
            history.add(ret, steps, success, logs)
            solved = history.check_solved(env)
            stop = solved and agent.stop_when_solved
            done = len(history) >= episodes or stop
            progress.update(len(history), history, env, logs, force=stop)
            tracking.metrics({"return": ret, f"mean_return_{env.solved_window}": history.mean_return(env.solved_window),
                              "steps": steps, "success": float(success), **logs}, step=len(history))
            if done or len(history) % checkpoint_every == 0:
                save_checkpoint(rundir, agent, history, meta)
            if stop:
                stopped_solved = True
                log.info("solved at episode %d: mean return %.2f over the last %d episodes (threshold %.1f)",
                         history.solved_at, history.mean_return(env.solved_window), env.solved_window, env.solved_threshold)
                break
    except KeyboardInterrupt:
        done_at = read_checkpoint_meta(rundir.last_checkpoint_dir).get("episodes_completed") if rundir.last_checkpoint_dir.exists() else 0
        log.warning("interrupted during episode %d; the last checkpoint holds %s episodes", len(history) + 1, done_at)
        raise
    return LoopResult(history, env_steps, time.time() - started, stopped_solved)


def evaluate_episodes(agent: Agent, env: EnvHandle, episodes: int, seed: int, *, random: bool = False) -> dict[str, float]:
    """Greedy (or random-action) episodes without learning: mean/std return and success rate."""
    returns, successes = [], []
    for i in range(episodes):
        ret, _, success = run_episode(agent, env, learn=False, greedy=True, random=random, seed=seed if i == 0 else None)
        returns.append(ret)
        successes.append(success)
    return {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
            "success_rate": float(np.mean(successes)), "episodes": episodes}


def restore_env_rng(env: EnvHandle, seed: int, state: dict[str, Any]) -> None:
    env.env.reset(seed=seed)  # creates the generator, then continue the saved stream
    env.env.unwrapped.np_random.bit_generator.state = state


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
