"""Policy-gradient agents of chapter 10 on MountainCarContinuous: REINFORCE, REINFORCE with baseline,
Actor-Critic and A2C (Listings 10.2.1-10.6.4).

Shared pieces, as the book builds them: a state-feature autoencoder (2 -> 256 -> 128 -> 32 -> ... -> 2,
mse, Adam, trained on random states before any episode) whose encoder is frozen inside the actor and
the critic; a Gaussian policy (mean Dense(1), stddev softplus(Dense(1)) + 1e-10, zero-initialised);
a value head Dense(1). Losses are the book's: logp_loss = -(ln pi(a|s) y + beta H) with y from
Table 10.6.1, value_loss = -V(s) y (REINFORCE-baseline, Actor-Critic) or mse to R_t (A2C).

The book called `model.fit` on one sample per experience; here the same sequence of per-experience
optimizer steps (`model.update=sequential`, the default) runs inside one compiled `tf.function` per
episode (Actor-Critic: per step), and `model.update=batch` takes one step on the episode's mean loss.
ln pi is taken of the action the agent executed. The book's logp model drew a new action inside its
graph (a reparameterised sample mean + stddev * eps, clipped to [-1, 1]) and took ln pi of that: the
new action is unrelated to the reward in y, the gradient with respect to the mean is zero unless the
sample was clipped, and the one with respect to the stddev is -1/stddev. A2C's entropy term has a
gradient here; the book computed the entropy once, as a constant, so beta had no effect.
`model.book_compat=true` keeps both of the book's behaviours.

Learning rates, as the book's classes: the actor trains with the `optimizer` group (preset: rmsprop,
1e-3), the value network with Adam at `model.value_lr_scale` x that learning rate (preset: 1, the
book's Adam 1e-3), so `optimizer.learning_rate` moves both and keeps their ratio. The state
autoencoder trains at `trainer.batch_size` (preset: 32).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Optional

import keras
import numpy as np
import tensorflow as tf

from adl_runner.data.envs.base import as_float_obs
from adl_runner.kernel.agents import Agent, AgentContext, AgentState, EnvHandle
from adl_runner.kernel.custom_step import scaled_optimizer
from adl_runner.kernel.phases import RestoredPhases
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import EpisodeSpec, capped

METHODS = ("reinforce", "reinforce_baseline", "actor_critic", "a2c")
BOOK_AE_BATCH_SIZE = 32
"""The state autoencoder's batch (the book's), when the runner passes no `trainer.batch_size`."""
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
AUTOENCODER_VERSION = 1
"""Part of the state autoencoder's cache key: bump it when its network or its training changes, and
every cached autoencoder is trained again (the runner's phase cache, docs/performance.md)."""


@dataclass
class PolicyGradientOptions:
    gamma: Optional[float] = ranged(None, at_least=0, at_most=1)
    """Discount factor; None: 0.99 (A2C: 0.95), the book's values."""
    beta: Optional[float] = ranged(None, at_least=0)
    """Entropy weight in logp_loss; None: 0 (A2C: 0.9)."""
    value_lr_scale: float = ranged(1.0, above=0)
    """The value network's Adam learning rate (and decay) relative to the actor's `optimizer.learning_rate`
    (the book: 1e-3 both)."""
    encoder_units: list[int] = ranged(default_factory=lambda: [256, 128], at_least=1, nonempty=True)
    """Hidden units of the state-feature encoder (the decoder mirrors them)."""
    latent_dim: int = ranged(32, at_least=1)
    """Size of the state feature phi(s)."""
    ae_samples: int = ranged(220000, at_least=1)
    """Random states the autoencoder is trained on (the book: 200,000 train + 20,000 validation)."""
    ae_epochs: int = ranged(10, at_least=1)
    """Autoencoder epochs (the book: 10)."""
    update: str = ranged("sequential", choices=("sequential", "batch"))
    """sequential: one optimizer step per experience, as the book's per-sample fit; batch: one per episode."""
    book_compat: bool = False
    """The book's code: ln pi of a new clipped, reparameterised sample instead of the executed action, and (A2C)
    an entropy computed once as a constant, so beta has no gradient effect."""


def accepts(options: PolicyGradientOptions, env: EnvHandle) -> Optional[str]:
    space = env.env.action_space
    if env.discrete_actions:
        return (f"the book's policy-gradient agents sample a continuous action from a Gaussian policy; env '{env.name}' "
                f"has discrete actions ({space}): use model=dqn or ddqn")
    if tuple(space.shape) != (1,):
        return f"the Gaussian policy here drives one action dimension; env '{env.name}' has actions of shape {space.shape}"
    if env.discrete_observations:
        return f"the state encoder takes a vector observation; env '{env.name}' has discrete states"
    return None


def value_optimizer(actor_optimizer: keras.optimizers.Optimizer, scale: float) -> keras.optimizers.Adam:
    """The book's Adam for the value network, at `scale` x the actor's learning rate (and decay)."""
    rate = scaled_optimizer(actor_optimizer, scale).get_config()["learning_rate"]
    return keras.optimizers.Adam.from_config({"learning_rate": rate})


def _dense_forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x


def softplus(x: Any) -> Any:
    return np.logaddexp(0.0, x)


class PolicyGradientAgent(Agent):
    def __init__(self, method: str, options: PolicyGradientOptions, env: EnvHandle, ctx: AgentContext) -> None:
        super().__init__(env, ctx.seed)
        self.method, self.name, self.options = method, method, options
        self.gamma = options.gamma if options.gamma is not None else (0.95 if method == "a2c" else 0.99)
        self.beta = options.beta if options.beta is not None else (0.9 if method == "a2c" else 0.0)
        self.default_episodes = 1000
        space = env.env.action_space
        self.low, self.high = float(space.low[0]), float(space.high[0])
        self.obs_dim = int(np.prod(env.observation_shape))
        obs_space = env.env.observation_space
        self.obs_low = np.clip(obs_space.low, -10, 10).astype(np.float32)
        self.obs_high = np.clip(obs_space.high, -10, 10).astype(np.float32)
        self.encoder = self._build_encoder()
        self.ae_loss = self._train_autoencoder(ctx)
        self.encoder.trainable = False
        self.actor, self.value = self._build_heads()
        actor_optimizer = ctx.optimizer() if ctx.optimizer is not None else keras.optimizers.RMSprop(1e-3)
        self.actor.compile(optimizer=actor_optimizer, loss="mse")
        self.value.compile(optimizer=value_optimizer(actor_optimizer, options.value_lr_scale), loss="mse")
        self.actor.optimizer.build(self.actor.trainable_variables)
        self.value.optimizer.build(self.value.trainable_variables)
        self.memory: list[tuple] = []
        self.step_index = 0
        self._losses: list[float] = []
        self._next_policy: Optional[tuple[np.ndarray, float, float]] = None
        self._train = self._make_train()
        self.refresh()

    # -- networks ---------------------------------------------------------------------------------
    def _build_encoder(self) -> keras.Model:
        inputs = keras.Input((self.obs_dim,), name="state")
        x = inputs
        for units in self.options.encoder_units:
            x = keras.layers.Dense(units, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(self.options.latent_dim, name="feature")(x), name="encoder")

    def _train_autoencoder(self, ctx: AgentContext) -> float:
        latent = keras.Input((self.options.latent_dim,))
        x = latent
        for units in reversed(self.options.encoder_units):
            x = keras.layers.Dense(units, activation="relu")(x)
        decoder = keras.Model(latent, keras.layers.Dense(self.obs_dim)(x), name="decoder")
        inputs = keras.Input((self.obs_dim,))
        autoencoder = keras.Model(inputs, decoder(self.encoder(inputs)), name="autoencoder")
        autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        n = self.options.ae_samples
        states = self.rng.uniform(self.obs_low, self.obs_high, size=(n, self.obs_dim)).astype(np.float32)
        split = max(1, n * 10 // 11)  # the book's 200,000 / 20,000
        epochs = capped(self.options.ae_epochs, ctx.pretrain_epochs_cap)
        if not isinstance(ctx.phases, RestoredPhases):
            ctx.log(f"training the state autoencoder on {n} random states ({epochs} epochs)")
        batch = ctx.batch_size or BOOK_AE_BATCH_SIZE
        # A seeded reshuffle per pass, so that a resumed phase sees the batches an unbroken one would.
        passes = (tf.data.Dataset.from_tensor_slices((states[:split], states[:split]))
                  .shuffle(split, seed=ctx.seed, reshuffle_each_iteration=True).batch(batch).repeat())
        # Trained once per configuration: the states (so the env's bounds, their number and the seed), the
        # shuffle, the batch and this code fix it; the runner adds the initial weights and the fit's settings.
        cache = {"version": AUTOENCODER_VERSION, "states_sha256": hashlib.sha256(states.tobytes()).hexdigest(),
                 "train_states": split, "batch_size": batch, "shuffle_seed": ctx.seed}
        history = ctx.phases.train("state_autoencoder", autoencoder, passes, epochs=epochs,
                                   steps_per_epoch=math.ceil(split / batch),
                                   validation=(states[split:], states[split:]) if split < n else None, cache=cache)
        losses = history.get("val_loss") or history.get("loss")
        return losses[-1] if losses else math.nan  # none: a checkpoint restores the trained encoder

    def _build_heads(self) -> tuple[keras.Model, keras.Model]:
        inputs = keras.Input((self.obs_dim,), name="state")
        feature = self.encoder(inputs)
        mean = keras.layers.Dense(1, kernel_initializer="zeros", name="mean")(feature)
        stddev = keras.layers.Dense(1, kernel_initializer="zeros", name="stddev")(feature)  # softplus + 1e-10 applied in the loss
        actor = keras.Model(inputs, keras.layers.Concatenate(name="policy")([mean, stddev]), name="actor")
        value_inputs = keras.Input((self.obs_dim,), name="state")
        value = keras.Model(value_inputs, keras.layers.Dense(1, kernel_initializer="zeros", name="value")(self.encoder(value_inputs)), name="value")
        return actor, value

    def refresh(self) -> None:
        """NumPy copies of the networks for acting one step at a time."""
        enc = [(l.kernel.numpy(), l.bias.numpy()) for l in self.encoder.layers if isinstance(l, keras.layers.Dense)]
        self._enc = enc
        heads = {l.name: (l.kernel.numpy(), l.bias.numpy()) for l in self.actor.layers if l.name in ("mean", "stddev")}
        self._mean, self._std = heads["mean"], heads["stddev"]
        vl = self.value.get_layer("value")
        self._value = (vl.kernel.numpy(), vl.bias.numpy())

    def _policy(self, obs: np.ndarray) -> tuple[float, float]:
        phi = _dense_forward(self._enc, obs[None])
        mean = float((phi @ self._mean[0] + self._mean[1])[0, 0])
        std = float(softplus((phi @ self._std[0] + self._std[1])[0, 0]) + 1e-10)
        return mean, std

    def value_of(self, obs: np.ndarray) -> float:
        phi = _dense_forward(self._enc, obs[None])
        return float((phi @ self._value[0] + self._value[1])[0, 0])

    # -- the compiled update ------------------------------------------------------------------------
    def _make_train(self):
        actor, value, method = self.actor, self.value, self.method
        gamma, beta, sequential = float(self.gamma), float(self.beta), self.options.update == "sequential"
        constant_entropy = book_logp = self.options.book_compat
        low, high = self.low, self.high
        actor_opt, value_opt = actor.optimizer, value.optimizer
        S = tf.TensorSpec((None, self.obs_dim), tf.float32)
        V = tf.TensorSpec((None,), tf.float32)

        def gaussian(states):
            out = actor(states, training=True)
            return out[:, 0], tf.math.softplus(out[:, 1]) + 1e-10

        def factors(states, rewards, next_states, terminals, discounts):
            """y of Table 10.6.1 (no gradient) and the value network's target."""
            if method == "reinforce":
                return discounts * rewards, rewards
            v = value(states, training=False)[:, 0]
            if method == "reinforce_baseline":
                return discounts * (rewards - v), rewards
            if method == "actor_critic":
                v_next = value(next_states, training=False)[:, 0]
                return discounts * (rewards + gamma * (1.0 - terminals) * v_next - v), rewards
            return rewards - v, rewards  # a2c: R_t - V(s_t), and R_t for the mse value loss

        def update(states, actions, rewards, next_states, terminals, discounts):
            y, target = factors(states, rewards, next_states, terminals, discounts)
            y = tf.stop_gradient(y)
            with tf.GradientTape() as tape:
                mean, std = gaussian(states)
                if book_logp:  # `actions` holds fresh N(0, 1) noise: the book's in-graph resampled action
                    actions = tf.clip_by_value(mean + std * actions, low, high)
                logp = -0.5 * tf.square((actions - mean) / std) - tf.math.log(std) - LOG_SQRT_2PI
                entropy = 0.5 + LOG_SQRT_2PI + tf.math.log(std)
                if constant_entropy:
                    entropy = tf.stop_gradient(entropy)
                loss = -tf.reduce_mean(logp * y + beta * entropy)
            grads = tape.gradient(loss, actor.trainable_variables)
            actor_opt.apply_gradients(zip(grads, actor.trainable_variables))
            if method != "reinforce":
                with tf.GradientTape() as tape:
                    v = value(states, training=True)[:, 0]
                    vloss = tf.reduce_mean(tf.square(v - target)) if method == "a2c" else -tf.reduce_mean(v * y)
                grads = tape.gradient(vloss, value.trainable_variables)
                value_opt.apply_gradients(zip(grads, value.trainable_variables))
            return loss

        if method == "actor_critic":
            # online: one experience per call, and in the same call the updated policy at s', which the
            # next act() uses instead of copying every weight back to NumPy after each step
            def step(states, actions, rewards, next_states, terminals, discounts):
                loss = update(states, actions, rewards, next_states, terminals, discounts)
                out = actor(next_states, training=False)
                return tf.stack([loss, out[0, 0], tf.math.softplus(out[0, 1]) + 1e-10])

            return tf.function(step, input_signature=[S, V, V, S, V, V], reduce_retracing=True).get_concrete_function()

        @tf.function(input_signature=[S, V, V, S, V, V], reduce_retracing=True)
        def train(states, actions, rewards, next_states, terminals, discounts):
            if not sequential:
                return update(states, actions, rewards, next_states, terminals, discounts)
            total = tf.constant(0.0)
            n = tf.shape(states)[0]
            for i in tf.range(n):
                sl = slice(i, i + 1)
                total += update(states[sl], actions[sl], rewards[sl], next_states[sl], terminals[sl], discounts[sl])
            return total / tf.cast(tf.maximum(n, 1), tf.float32)

        return train

    # -- acting and learning --------------------------------------------------------------------
    def act(self, obs: Any, greedy: bool = False) -> np.ndarray:
        obs = as_float_obs(obs)
        cached = self._next_policy
        if cached is not None and np.array_equal(cached[0], obs):  # Actor-Critic: computed by the last update
            mean, std = cached[1], cached[2]
        else:
            mean, std = self._policy(obs)
        sample = mean if greedy else float(self.rng.normal(mean, std))
        self._last_sample = sample
        return np.array([min(max(sample, self.low), self.high)], dtype=np.float32)

    def observe(self, obs: Any, action: Any, reward: float, next_obs: Any, terminal: bool, done: bool) -> None:
        item = (as_float_obs(obs), float(self._last_sample), float(reward), as_float_obs(next_obs), float(terminal))
        if self.method == "actor_critic":  # online: one update per step
            out = self._train(item[0][None], self._logp_actions(np.array([item[1]], np.float32)), np.array([item[2]], np.float32),
                              item[3][None], np.array([item[4]], np.float32),
                              np.array([self.gamma ** self.step_index], np.float32)).numpy()
            self._losses.append(float(out[0]))
            self._next_policy = (item[3], float(out[1]), float(out[2]))
        else:
            self.memory.append(item)
        self.step_index += 1
        self._last_reward, self._last_terminal, self._last_next = reward, terminal, item[3]

    def _logp_actions(self, actions: np.ndarray) -> np.ndarray:
        """The executed actions, or with model.book_compat the noise of the book's resampled ones."""
        return self.rng.standard_normal(actions.shape).astype(np.float32) if self.options.book_compat else actions

    def _run(self, items: list[tuple], discounts: np.ndarray, rewards: Optional[np.ndarray]) -> None:
        states = np.stack([it[0] for it in items])
        actions = self._logp_actions(np.array([it[1] for it in items], dtype=np.float32))
        r = rewards if rewards is not None else np.array([it[2] for it in items], dtype=np.float32)
        next_states = np.stack([it[3] for it in items])
        terminals = np.array([it[4] for it in items], dtype=np.float32)
        self._losses.append(float(self._train(states, actions, r.astype(np.float32), next_states, terminals, discounts.astype(np.float32))))

    def end_episode(self) -> dict[str, float]:
        if self.memory:
            rewards = np.array([it[2] for it in self.memory], dtype=np.float64)
            if self.method == "a2c":
                if self.env.notes.get("book_compat") or self.options.book_compat:
                    last = 0.0 if self._last_reward > 0 else self.value_of(self._last_next)  # the book's reward > 0 test
                else:
                    last = 0.0 if self._last_terminal else self.value_of(self._last_next)
                returns = np.zeros_like(rewards)
                running = last
                for t in range(len(rewards) - 1, -1, -1):
                    running = rewards[t] + self.gamma * running
                    returns[t] = running
                order = list(range(len(rewards) - 1, -1, -1))  # the book trains walking the memory backwards
                items = [self.memory[t] for t in order]
                self._run(items, np.ones(len(items)), returns[order])
            else:
                returns = np.zeros_like(rewards)
                running = 0.0
                for t in range(len(rewards) - 1, -1, -1):
                    running = rewards[t] + self.gamma * running
                    returns[t] = running
                self._run(self.memory, self.gamma ** np.arange(len(rewards)), returns)
        if self.memory or self.method == "actor_critic":
            self.refresh()
        self._next_policy = None
        self.memory, self.step_index = [], 0
        logs: dict[str, float] = {}
        if self._losses:
            logs["loss"] = float(np.mean(self._losses))
            self._losses = []
        return logs

    # -- checkpoints ----------------------------------------------------------------------------
    def get_state(self) -> AgentState:
        return AgentState(networks={"actor": self.actor, "value": self.value}, state=self._base_state())

    def set_state(self, saved: AgentState) -> None:
        self._set_base_state(saved.state)
        self._next_policy = None
        for name, mine in (("actor", self.actor), ("value", self.value)):
            theirs = saved.networks[name]
            mine.set_weights(theirs.get_weights())
            if theirs.optimizer is not None:
                for a, b in zip(mine.optimizer.variables, theirs.optimizer.variables):
                    a.assign(b)
        self.refresh()

    def summary(self) -> str:
        lines: list[str] = []
        for model in (self.actor, self.value):
            model.summary(print_fn=lambda line, *a, **k: lines.append(line), line_length=100)
        lines.append(f"{self.method}: gamma {self.gamma}, beta {self.beta}, update {self.options.update}, "
                     f"state autoencoder final loss {self.ae_loss:.3g}")
        return "\n".join(lines) + "\n"

    def artifacts(self, out: Any) -> dict[str, Any]:
        return {"params": self.actor.count_params() + self.value.get_layer("value").count_params(),
                "autoencoder_loss": self.ae_loss}


def _register(method: str) -> None:
    @MODELS.register(method, EpisodeSpec(options=PolicyGradientOptions, accepts=accepts, uses_optimizer=True))
    def build(options: PolicyGradientOptions, env: EnvHandle, ctx: AgentContext) -> PolicyGradientAgent:
        return PolicyGradientAgent(method, options, env, ctx)


for _method in METHODS:
    _register(_method)
