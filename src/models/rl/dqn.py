"""DQN and Double DQN on CartPole (Listings 9.6.1-9.6.3), with compiled, batched replay steps.

The book's Q-network is Dense(256, relu) x 3 -> Dense(n_actions, linear), mse, Adam (1e-3);
gamma 0.9, epsilon 1.0 -> 0.1 with decay (0.1/1.0)^(1/500) per replay, batch 64, target network
copied every 10 replays, one replay per episode (the book's code; `model.replay_every=step` replays
after every step as Algorithm 9.6.1 has it). The book's memory was unbounded; here it is a ring
buffer of `model.replay_capacity` transitions. Where the book called `predict` per sample and `fit`
per replay, a replay here is one `tf.function` step over the whole batch, and acting evaluates a
NumPy copy of the Q-network refreshed after each update.
DDQN picks a* = argmax Q_online(s') and evaluates it with Q_target(s', a*).
The optimizer and its learning rate are the `optimizer` group's (preset: adam), the replay batch is
`trainer.batch_size` (preset: 64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import keras
import numpy as np
import tensorflow as tf

from adl_runner.data.envs.base import as_float_obs
from adl_runner.kernel.agents import Agent, AgentContext, AgentState, EnvHandle
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import EpisodeSpec
from adl_runner.models.rl.base import decay_epsilon
from adl_runner.models.rl.replay import ReplayBuffer

BOOK_BATCH_SIZE = 64
"""Transitions per replay (Listing 9.6.1), when the runner passes no `trainer.batch_size`."""


@dataclass
class DQNOptions:
    hidden_units: list[int] = ranged(default_factory=lambda: [256, 256, 256], at_least=1, nonempty=True)
    """Units of the ReLU hidden layers of the Q-network (the book: 256, 256, 256)."""
    gamma: float = ranged(0.9, at_least=0, at_most=1)
    """Discount factor (the book: 0.9)."""
    epsilon: float = ranged(1.0, at_least=0, at_most=1)
    """Initial exploration rate (the book's comment says 90%, its code 1.0)."""
    epsilon_min: float = ranged(0.1, at_least=0, at_most=1)
    """Epsilon stops decaying at or below this."""
    epsilon_decay: Optional[float] = ranged(None, above=0, at_most=1)
    """Multiplier per replay; None: (epsilon_min/epsilon)^(1/500), the book's 500-episode schedule."""
    target_update_every: int = ranged(10, at_least=1)
    """Copy the online network into the target network every this many replays (the book: 10)."""
    replay_capacity: int = ranged(100000, at_least=1)
    """Transitions the replay buffer holds; the oldest are overwritten (the book's list was unbounded)."""
    replay_every: str = ranged("episode", choices=("episode", "step"))
    """episode: one replay after each episode (the book's code); step: one after every step (Algorithm 9.6.1)."""
    stop_when_solved: bool = True
    """End training at the episode the solved criterion is first met (the book's script did)."""
    double: bool = False
    """Double DQN target (set by model=ddqn)."""


def accepts(options: DQNOptions, env: EnvHandle) -> Optional[str]:
    if not env.discrete_actions:
        return (f"DQN picks the action with the largest Q-value, which needs a discrete action space; env '{env.name}' "
                f"has continuous actions ({env.env.action_space}): use a policy-gradient model (reinforce, a2c, ...)")
    if env.discrete_observations:
        return f"the Q-network takes a vector observation; env '{env.name}' has discrete states: use model=q_learning"
    return None


def build_q_network(obs_dim: int, n_actions: int, hidden_units: list[int], name: str) -> keras.Model:
    inputs = keras.Input((obs_dim,), name="state")
    x = inputs
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(n_actions, activation="linear", name="action")(x)
    return keras.Model(inputs, outputs, name=name)


class NumpyMLP:
    """A NumPy copy of a Dense-ReLU stack for acting one observation at a time (microseconds)."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.refresh()

    def refresh(self) -> None:
        weights = self.model.get_weights()
        self.layers = list(zip(weights[0::2], weights[1::2]))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return x


class DQNAgent(Agent):
    name = "dqn"

    def __init__(self, options: DQNOptions, env: EnvHandle, ctx: AgentContext) -> None:
        super().__init__(env, ctx.seed)
        self.options = options
        self.name = "ddqn" if options.double else "dqn"
        self.stop_when_solved = options.stop_when_solved
        self.obs_dim = int(np.prod(env.observation_shape))
        self.n_actions = int(env.env.action_space.n)
        self.epsilon = options.epsilon
        if options.epsilon_decay is not None:
            self.decay = options.epsilon_decay
        else:  # the book's schedule: from epsilon to epsilon_min in 500 decays
            self.decay = (options.epsilon_min / options.epsilon) ** (1 / 500) if options.epsilon > 0 else 1.0
        self.q = build_q_network(self.obs_dim, self.n_actions, list(options.hidden_units), "q_network")
        self.target = build_q_network(self.obs_dim, self.n_actions, list(options.hidden_units), "target_q_network")
        self.target.set_weights(self.q.get_weights())
        self.batch_size = ctx.batch_size or BOOK_BATCH_SIZE
        optimizer = ctx.optimizer() if ctx.optimizer is not None else keras.optimizers.Adam(1e-3)
        self.q.compile(optimizer=optimizer, loss="mse")  # the optimizer (and its state) is saved with the network
        self.q.optimizer.build(self.q.trainable_variables)
        self.memory = ReplayBuffer(options.replay_capacity, (self.obs_dim,))
        self.replays = 0
        self.policy = NumpyMLP(self.q)
        self.default_episodes = 3000
        self._losses: list[float] = []
        self._train_step = self._make_train_step()

    def _make_train_step(self):
        q, target, optimizer = self.q, self.target, self.q.optimizer
        gamma, double, n_actions = float(self.options.gamma), bool(self.options.double), self.n_actions
        spec = tf.TensorSpec((None, self.obs_dim), tf.float32)

        @tf.function(input_signature=[spec, tf.TensorSpec((None,), tf.int64), tf.TensorSpec((None,), tf.float32), spec,
                                      tf.TensorSpec((None,), tf.float32)], reduce_retracing=True)
        def train_step(states, actions, rewards, next_states, terminals):
            next_target = target(next_states, training=False)
            if double:
                best = tf.argmax(q(next_states, training=False), axis=1)
                next_value = tf.gather(next_target, best, axis=1, batch_dims=1)
            else:
                next_value = tf.reduce_max(next_target, axis=1)
            y = rewards + gamma * (1.0 - terminals) * next_value
            with tf.GradientTape() as tape:
                q_sa = tf.gather(q(states, training=True), actions, axis=1, batch_dims=1)
                # the book's mse over all actions, where only the taken action's target differs
                loss = tf.reduce_mean(tf.square(tf.stop_gradient(y) - q_sa)) / n_actions
            grads = tape.gradient(loss, q.trainable_variables)
            optimizer.apply_gradients(zip(grads, q.trainable_variables))
            return loss

        return train_step

    def act(self, obs: Any, greedy: bool = False) -> int:
        if not greedy and self.rng.random() <= self.epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(np.argmax(self.policy(as_float_obs(obs)[None])[0]))

    def observe(self, obs: Any, action: Any, reward: float, next_obs: Any, terminal: bool, done: bool) -> None:
        self.memory.add(as_float_obs(obs), action, reward, as_float_obs(next_obs), terminal)
        if self.options.replay_every == "step":
            self.replay()

    def replay(self) -> None:
        if len(self.memory) < self.batch_size:
            return
        batch = self.memory.sample(self.batch_size, self.rng)
        self._losses.append(float(self._train_step(*batch)))
        self.policy.refresh()
        self.epsilon = decay_epsilon(self.epsilon, self.decay, self.options.epsilon_min)
        if self.replays % self.options.target_update_every == 0:  # the 1st, 11th, 21st, ... replay
            self.target.set_weights(self.q.get_weights())
        self.replays += 1

    def end_episode(self) -> dict[str, float]:
        if self.options.replay_every == "episode":
            self.replay()
        logs = {"epsilon": self.epsilon}
        if self._losses:
            logs["loss"] = float(np.mean(self._losses))
            self._losses = []
        return logs

    def greedy_q(self, states: np.ndarray) -> np.ndarray:
        return self.policy(states)

    def get_state(self) -> AgentState:
        state = {**self._base_state(), "replays": self.replays}
        return AgentState(networks={"q_network": self.q, "target_q_network": self.target},
                          arrays=self.memory.state_arrays(), state=state)

    def set_state(self, saved: AgentState) -> None:
        self._set_base_state(saved.state)
        self.replays = int(saved.state["replays"])
        self.q.set_weights(saved.networks["q_network"].get_weights())
        self.target.set_weights(saved.networks["target_q_network"].get_weights())
        loaded_opt = saved.networks["q_network"].optimizer
        if loaded_opt is not None:
            for mine, theirs in zip(self.q.optimizer.variables, loaded_opt.variables):
                mine.assign(theirs)
        self.memory.load_arrays(saved.arrays)
        self.policy.refresh()

    def summary(self) -> str:
        lines: list[str] = []
        self.q.summary(print_fn=lambda line, *a, **k: lines.append(line), line_length=100)
        lines.append(f"{self.name}: gamma {self.options.gamma}, epsilon {self.options.epsilon} -> {self.options.epsilon_min} "
                     f"(x{self.decay:.6f} per replay), batch {self.batch_size}, target copy every "
                     f"{self.options.target_update_every} replays, replay every {self.options.replay_every}, "
                     f"buffer {self.options.replay_capacity}")
        lines.append(f"Q-network params: {self.q.count_params():,}")
        return "\n".join(lines) + "\n"

    def artifacts(self, out: Any) -> dict[str, Any]:
        return {"params": self.q.count_params()}


@MODELS.register("dqn", EpisodeSpec(options=DQNOptions, accepts=accepts, uses_optimizer=True))
def build_dqn(options: DQNOptions, env: EnvHandle, ctx: AgentContext) -> DQNAgent:
    return DQNAgent(options, env, ctx)


@dataclass
class DDQNOptions(DQNOptions):
    double: bool = True
    """Double DQN target: a* from the online network, its value from the target network."""


@MODELS.register("ddqn", EpisodeSpec(options=DDQNOptions, accepts=accepts, uses_optimizer=True))
def build_ddqn(options: DDQNOptions, env: EnvHandle, ctx: AgentContext) -> DQNAgent:
    return DQNAgent(options, env, ctx)
