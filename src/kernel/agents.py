"""The agent and environment protocol: the contract between the episode loop
(`runner.loops.episodes`) and the agent families (`models.rl`).

An environment is an `EnvHandle`: the gymnasium env plus the book's criteria (solved threshold,
what counts as a success, whether a time-limit end bootstraps). An agent family registers in
`MODELS` with an `EpisodeSpec` and a builder `build(options, env: EnvHandle, ctx: AgentContext) -> Agent`;
`accepts(env) -> str | None` says why an env cannot be used (None: it can). The knobs every family
shares are not model options: a trained network's learning rate comes from the `optimizer` group
(`ctx.optimizer`) and its batch size from `trainer.batch_size` (`ctx.batch_size`), so each has one
name across all families. All randomness of an agent comes from `self.rng` (a NumPy Generator whose
state is checkpointed in its `AgentState`), so a resumed run continues the same stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from adl_runner.kernel.phases import PhaseRunner, PlainPhases


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



@dataclass
class AgentContext:
    """What the runner gives an agent builder besides its options and env."""

    seed: int
    optimizer: Optional[Callable[[], Any]] = None
    """Builds the `optimizer=` group's optimizer (a fresh instance per call); None: the agent's book optimizer."""
    batch_size: Optional[int] = None
    """`trainer.batch_size`, for an agent that trains on batches; None: the agent's book value."""
    log: Callable[[str], None] = print
    phases: PhaseRunner = field(default_factory=lambda: PlainPhases(verbose=0))
    """Runs a pre-training `fit` (the policy-gradient state autoencoder): the runner's, when training."""
    pretrain_epochs_cap: Optional[int] = None
    """An upper bound on the epochs of the agent's own first phase (debug=smoke); None: its own value."""


@dataclass
class AgentState:
    """Everything a checkpoint holds: Keras networks (saved as .keras), arrays (npz), JSON state."""

    networks: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


class Agent:
    """Base class: epsilon bookkeeping and RNG state; subclasses act and learn."""

    name = "agent"
    stop_when_solved = False

    def __init__(self, env: EnvHandle, seed: int) -> None:
        self.env = env
        self.rng = np.random.default_rng(seed)
        self.epsilon: Optional[float] = None

    # -- acting and learning --------------------------------------------------------------------
    def act(self, obs: Any, greedy: bool = False) -> Any:
        raise NotImplementedError

    def random_action(self) -> Any:
        space = self.env.env.action_space
        if hasattr(space, "n"):
            return int(self.rng.integers(space.n))
        return self.rng.uniform(space.low, space.high).astype(np.float32)

    def observe(self, obs: Any, action: Any, reward: float, next_obs: Any, terminal: bool, done: bool) -> None:
        """One transition; `terminal` = no bootstrapping from next_obs, `done` = the episode ended."""

    def end_episode(self) -> dict[str, float]:
        """Learning at the end of an episode; returns values to log (loss, epsilon, ...)."""
        return {}

    # -- checkpoints ----------------------------------------------------------------------------
    def get_state(self) -> AgentState:
        return AgentState(state=self._base_state())

    def set_state(self, saved: AgentState) -> None:
        self._set_base_state(saved.state)

    def _base_state(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "epsilon": self.epsilon}

    def _set_base_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.epsilon = state.get("epsilon")

    # -- reporting ------------------------------------------------------------------------------
    def summary(self) -> str:
        return f"{self.name}\n"

    def artifacts(self, out: Any) -> dict[str, Any]:
        """Write the agent's own figures; returns extra metrics."""
        return {}

