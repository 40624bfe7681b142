"""The agent interface of the episode loop (`runner.loops.episodes`).

An agent family registers in `MODELS` with an `EpisodeSpec` and a builder
`build(options, env: EnvHandle, ctx: AgentContext) -> Agent`; `accepts(env) -> str | None` says
why an env cannot be used (None: it can). The knobs every family shares are not model options: a
trained network's learning rate comes from the `optimizer` group (`ctx.optimizer`) and its batch
size from `trainer.batch_size` (`ctx.batch_size`), so each has one name across all families. All randomness of an agent comes from `self.rng`
(a NumPy Generator whose state is checkpointed), so a resumed run continues the same stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from adl_runner.data.envs.base import EnvHandle
from adl_runner.kernel.phases import PhaseRunner, PlainPhases


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


def decay_epsilon(epsilon: float, decay: float, minimum: float) -> float:
    """The book's rule: multiply by `decay` while epsilon is above `minimum`."""
    return epsilon * decay if epsilon > minimum else epsilon
