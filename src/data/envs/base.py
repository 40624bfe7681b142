"""What an agent and the episode loop know of an environment: the gymnasium env plus the book's
criteria (solved threshold, what counts as a success, whether a time-limit end bootstraps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np


@dataclass
class EnvHandle:
    """A built environment and the facts the runner needs about it."""

    name: str
    """Registered env name (qworld, frozenlake, cartpole, mountaincar_continuous)."""
    env: Any
    """The gymnasium.Env (gymnasium 1.x API: reset -> (obs, info); step -> 5-tuple)."""
    gym_id: str
    """The gymnasium id it was made from (e.g. CartPole-v0)."""
    solved_threshold: Optional[float] = None
    """Solved when the mean return over `solved_window` consecutive episodes reaches this (None: no criterion)."""
    solved_window: int = 100
    """Consecutive episodes of the solved criterion."""
    truncation_is_terminal: bool = False
    """Book compatibility: a time-limit end counts as terminal when bootstrapping targets."""
    success: Callable[[float, bool, bool], bool] = lambda reward, terminated, truncated: bool(terminated and reward > 0)
    """(last reward, terminated, truncated) -> did the episode reach the goal."""
    grid_shape: Optional[tuple[int, int]] = None
    """Grid worlds: (rows, cols) of the discrete states, for the Q-table / state-value plots."""
    action_names: list[str] = field(default_factory=list)
    """Names of discrete actions (plots and the greedy path); empty for continuous actions."""
    notes: dict[str, Any] = field(default_factory=dict)
    """Facts recorded in metrics.json (e.g. the lake that was really built)."""

    @property
    def discrete_observations(self) -> bool:
        return hasattr(self.env.observation_space, "n")

    @property
    def discrete_actions(self) -> bool:
        return hasattr(self.env.action_space, "n")

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return tuple(self.env.observation_space.shape or ())

    def describe_spaces(self) -> str:
        return f"observations {self.env.observation_space}, actions {self.env.action_space}"

    def close(self) -> None:
        self.env.close()


def as_float_obs(obs: Any) -> np.ndarray:
    return np.asarray(obs, dtype=np.float32).reshape(-1)
