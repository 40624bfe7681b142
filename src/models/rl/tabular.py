"""Tabular Q-learning (Listings 9.3.1 QWorld and 9.5.1 FrozenLake).

Update: Q[s,a] += alpha * (r + gamma * max_a' Q[s',a'] - Q[s,a]), with no bootstrap from a
terminal state. alpha = 1 is the Bellman overwrite of QWorld; FrozenLake's code uses TD(0) with
alpha = 0.1 (its Table 9.5.1 caption's "learning rate = 0.5": `model.alpha=0.5`). Epsilon-greedy,
epsilon multiplied by `epsilon_decay` while above `epsilon_min`, per episode (QWorld) or per step
(the FrozenLake code; its text says per episode: `model.decay_per=episode`). Null options take the
book's value for the env.

alpha is a model option, not `optimizer.learning_rate`: no network or optimizer is trained, and its
book value depends on the env (null picks it), which an optimizer's always-set learning rate could
not express.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from adl_runner.kernel.agents import Agent, AgentContext, AgentState, EnvHandle
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import EpisodeSpec
from adl_runner.models.figures import q_table_figure
from adl_runner.models.rl.base import decay_epsilon

# The book's values per env: QWorld (Listing 9.3.1) and FrozenLake (Listing 9.5.1, code over text).
BOOK = {
    "qworld": {"alpha": 1.0, "epsilon_decay": 0.9, "decay_per": "episode", "episodes": 2000},
    "frozenlake": {"alpha": 0.1, "epsilon_decay": (0.1 / 0.9) ** (1.0 / 40000), "decay_per": "step", "episodes": 40000},
}
OTHER = {"alpha": 0.1, "epsilon_decay": 0.999, "decay_per": "episode", "episodes": 2000}


@dataclass
class QLearningOptions:
    gamma: float = ranged(0.9, at_least=0, at_most=1)
    """Discount factor (the book: 0.9)."""
    alpha: Optional[float] = ranged(None, above=0, at_most=1)
    """TD(0) step size; 1.0 = the Bellman overwrite. None: QWorld 1.0, FrozenLake 0.1 (the code)."""
    epsilon: float = ranged(0.9, at_least=0, at_most=1)
    """Initial exploration rate."""
    epsilon_min: float = ranged(0.1, at_least=0, at_most=1)
    """Epsilon stops decaying once at or below this."""
    epsilon_decay: Optional[float] = ranged(None, above=0, at_most=1)
    """Multiplier per decay; None: QWorld 0.9, FrozenLake (0.1/0.9)^(1/40000)."""
    decay_per: Optional[str] = ranged(None, choices=("episode", "step"))
    """episode or step; None: QWorld episode, FrozenLake step (the code; the text says episode)."""
    bins: Optional[int] = ranged(None, at_least=2)
    """Discretise a continuous observation into this many bins per dimension (needed for cartpole)."""


def accepts(options: QLearningOptions, env: EnvHandle) -> Optional[str]:
    if not env.discrete_actions:
        return f"a Q-table needs discrete actions, and env '{env.name}' has continuous ones ({env.env.action_space})"
    if not env.discrete_observations and options.bins is None:
        return (f"a Q-table needs discrete states, and env '{env.name}' has continuous observations "
                f"({env.env.observation_space}); set model.bins=N to discretise each dimension into N bins")
    return None


class QLearningAgent(Agent):
    name = "q_learning"

    def __init__(self, options: QLearningOptions, env: EnvHandle, ctx: AgentContext) -> None:
        super().__init__(env, ctx.seed)
        book = BOOK.get(env.name, OTHER)
        self.gamma = options.gamma
        self.alpha = options.alpha if options.alpha is not None else book["alpha"]
        self.decay = options.epsilon_decay if options.epsilon_decay is not None else book["epsilon_decay"]
        self.decay_per = options.decay_per or book["decay_per"]
        self.epsilon_min = options.epsilon_min
        self.epsilon = options.epsilon
        self.default_episodes = book["episodes"]
        space = env.env.observation_space
        if hasattr(space, "n"):
            self.n_states, self.bins = int(space.n), None
        else:
            self.bins = options.bins
            low = np.clip(space.low, -4.0, 4.0)
            high = np.clip(space.high, -4.0, 4.0)
            self.edges = [np.linspace(lo, hi, self.bins + 1)[1:-1] for lo, hi in zip(low, high)]
            self.n_states = self.bins ** len(self.edges)
        self.q = np.zeros((self.n_states, int(env.env.action_space.n)))

    def state_index(self, obs: Any) -> int:
        if self.bins is None:
            return int(obs)
        index = 0
        for value, edges in zip(np.asarray(obs).reshape(-1), self.edges):
            index = index * self.bins + int(np.searchsorted(edges, value))
        return index

    def act(self, obs: Any, greedy: bool = False) -> int:
        if not greedy and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.q.shape[1]))
        return int(np.argmax(self.q[self.state_index(obs)]))

    def observe(self, obs: Any, action: Any, reward: float, next_obs: Any, terminal: bool, done: bool) -> None:
        s, s2 = self.state_index(obs), self.state_index(next_obs)
        target = reward + (0.0 if terminal else self.gamma * float(np.max(self.q[s2])))
        self.q[s, action] += self.alpha * (target - self.q[s, action])
        if self.decay_per == "step":
            self.epsilon = decay_epsilon(self.epsilon, self.decay, self.epsilon_min)

    def end_episode(self) -> dict[str, float]:
        if self.decay_per == "episode":
            self.epsilon = decay_epsilon(self.epsilon, self.decay, self.epsilon_min)
        return {"epsilon": self.epsilon}

    def get_state(self) -> AgentState:
        return AgentState(arrays={"q_table": self.q.copy()}, state=self._base_state())

    def set_state(self, saved: AgentState) -> None:
        self._set_base_state(saved.state)
        self.q = np.array(saved.arrays["q_table"], dtype=np.float64)

    def summary(self) -> str:
        return (f"tabular Q-learning: Q-table {self.q.shape[0]} states x {self.q.shape[1]} actions, gamma {self.gamma}, "
                f"alpha {self.alpha}, epsilon decay {self.decay:.7f} per {self.decay_per}\n")

    # -- results --------------------------------------------------------------------------------
    def greedy_path(self, max_steps: int = 50) -> list[str]:
        """Actions of the greedy policy from the start state (deterministic envs)."""
        env = self.env.env
        obs, _ = env.reset(seed=0)
        names = self.env.action_names or [str(i) for i in range(self.q.shape[1])]
        path = []
        for _ in range(max_steps):
            action = int(np.argmax(self.q[self.state_index(obs)]))
            path.append(names[action])
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
        return path

    def artifacts(self, out: Any) -> dict[str, Any]:
        values = self.q.max(axis=1)
        metrics: dict[str, Any] = {"v_start": float(values[0])}
        if self.env.grid_shape is not None and self.bins is None:
            # flat keys: V(s) per state, Q(s, a) of the start state, and the greedy path from the start
            metrics.update({f"v_s{s}": round(float(v), 6) for s, v in enumerate(values)})
            names = self.env.action_names
            metrics.update({f"q_s{s}_{names[a].lower()}": round(float(self.q[s, a]), 6)
                            for s in (0, 1) for a in range(self.q.shape[1])})
            if not self.env.notes.get("env_slippery", False):
                metrics["greedy_path"] = ",".join(self.greedy_path())
            out.figure("q_table", q_table_figure(self.q, self.env.grid_shape, self.env.action_names))
        header = "state," + ",".join(self.env.action_names or [str(i) for i in range(self.q.shape[1])])
        out.table("q_table", header + "\n" + "\n".join(
            f"{s}," + ",".join(f"{v:.6g}" for v in row) for s, row in enumerate(self.q)) + "\n")
        return metrics


@MODELS.register("q_learning", EpisodeSpec(options=QLearningOptions, accepts=accepts))
def build_q_learning(options: QLearningOptions, env: EnvHandle, ctx: AgentContext) -> QLearningAgent:
    return QLearningAgent(options, env, ctx)
