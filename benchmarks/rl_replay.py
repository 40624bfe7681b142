"""rl_replay: DQN steps per second against the book's per-sample predict/fit loop."""

from __future__ import annotations

import time
from typing import Any, Callable

from harness import Settings, alternate, median, ratio, target


def rl_replay(s: Settings) -> dict[str, Any]:
    """DQN on CartPole-v0 (the book's network, batch 64, one replay per episode, greedy acting so
    that every step queries the network): environment steps per second of (1) the book's loop, with
    `predict` per step and per replayed sample and one `fit` per replay (re-implemented here only),
    (2) a hand-written loop with a compiled act and a compiled batched replay step, (3) the runner's
    agent through its episode loop. Networks are built and traced before the clock starts."""
    import random

    import keras
    import numpy as np
    import tensorflow as tf

    from adl_runner.kernel.agents import AgentContext
    from adl_runner.kernel.registry import ENVS, MODELS
    from adl_runner.runner.families import load_families
    from adl_runner.runner.loops.episodes import run_episode

    load_families()
    episodes = 2 if s.quick else 10
    gamma, batch = 0.9, 64

    def make_env():
        entry = ENVS.get("cartpole")
        return entry.build(entry.spec.options())

    def q_net(name: str) -> keras.Model:
        inputs = keras.Input((4,))
        x = inputs
        for _ in range(3):
            x = keras.layers.Dense(256, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(2)(x), name=name)

    def fill(memory: list, env, n: int = 256) -> None:
        obs, _ = env.env.reset(seed=0)
        rng = np.random.default_rng(0)
        while len(memory) < n:
            action = int(rng.integers(2))
            nxt, r, term, trunc, _ = env.env.step(action)
            remember(memory, obs, action, r, nxt, term)
            obs = nxt if not (term or trunc) else env.env.reset()[0]

    def remember(memory: list, obs: Any, action: int, r: float, nxt: Any, term: bool) -> None:
        memory.append((np.asarray(obs, np.float32), action, float(r), np.asarray(nxt, np.float32), bool(term)))

    def play_episode(env: Any, act: Callable[[Any], int], memory: list) -> int:
        """One episode acting by `act(observation)`, its transitions appended to `memory`; its steps."""
        obs, _ = env.env.reset()
        steps = 0
        while True:
            action = act(obs)
            nxt, r, term, trunc, _ = env.env.step(action)
            remember(memory, obs, action, r, nxt, term)
            obs, steps = nxt, steps + 1
            if term or trunc:
                return steps

    # (1) the book's loop (Listing 9.6.1): predict per step, predict per replayed sample, fit per replay
    def book_setup():
        env, q, target = make_env(), q_net("q"), q_net("target")
        q.compile(optimizer=keras.optimizers.Adam(), loss="mse")
        target.set_weights(q.get_weights())
        memory: list = []
        fill(memory, env)
        q.predict(np.zeros((1, 4), np.float32), verbose=0)
        target.predict(np.zeros((1, 4), np.float32), verbose=0)
        q.fit(np.zeros((64, 4), np.float32), np.zeros((64, 2), np.float32), batch_size=64, epochs=1, verbose=0)
        return env, q, target, memory

    def book_run(state) -> int:
        env, q, target, memory = state
        # one episode a repetition: each costs ~130 predict calls (seconds to minutes)
        steps = play_episode(env, lambda obs: int(np.argmax(q.predict(np.asarray(obs, np.float32)[None], verbose=0)[0])),
                             memory)
        states, targets = [], []
        for st, a, r, nx, done in random.sample(memory, batch):
            q_values = q.predict(st[None], verbose=0)
            q_values[0][a] = r if done else r + gamma * np.amax(target.predict(nx[None], verbose=0)[0])
            states.append(st)
            targets.append(q_values[0])
        q.fit(np.array(states), np.array(targets), batch_size=batch, epochs=1, verbose=0)
        return steps

    # (2) hand-written: compiled act, compiled batched replay step
    def hand_setup():
        env, q, target = make_env(), q_net("q"), q_net("target")
        target.set_weights(q.get_weights())
        opt = keras.optimizers.Adam()
        opt.build(q.trainable_variables)

        @tf.function
        def act(x):
            return tf.argmax(q(x[None], training=False)[0])

        @tf.function
        def step(s_, a_, r_, s2_, t_):
            y = r_ + gamma * (1.0 - t_) * tf.reduce_max(target(s2_, training=False), axis=1)
            with tf.GradientTape() as tape:
                qa = tf.gather(q(s_, training=True), a_, axis=1, batch_dims=1)
                loss = tf.reduce_mean(tf.square(y - qa)) / 2
            opt.apply_gradients(zip(tape.gradient(loss, q.trainable_variables), q.trainable_variables))
            return loss

        memory: list = []
        fill(memory, env)
        act(tf.zeros((4,)))
        state = (env, act, step, memory)
        replay(state)
        return state

    def replay(state) -> None:
        _, _, step, memory = state
        items = random.sample(memory, batch)
        s_, a_, r_, s2_, t_ = (np.array(col) for col in zip(*items))
        step(s_.astype(np.float32), a_.astype(np.int64), r_.astype(np.float32), s2_.astype(np.float32), t_.astype(np.float32))

    def hand_run(state) -> int:
        env, act, _, memory = state
        steps = 0
        for _ in range(episodes):
            steps += play_episode(env, lambda obs: int(act(tf.constant(np.asarray(obs, np.float32)))), memory)
            replay(state)
        return steps

    # (3) the runner's DQN agent in its episode loop
    def runner_setup():
        env = make_env()
        entry = MODELS.get("dqn")
        agent = entry.build(entry.spec.options(epsilon=0.0, epsilon_min=0.0), env, AgentContext(seed=0))
        memory: list = []
        fill(memory, env)
        for item in memory:
            agent.memory.add(*item)
        agent.replay()
        return env, agent

    def runner_run(state) -> int:
        env, agent = state
        steps = 0
        for _ in range(episodes):
            steps += run_episode(agent, env, learn=True, greedy=False)[1]
            agent.end_episode()
        return steps

    setups = {"book_style": book_setup, "hand_written": hand_setup, "runner": runner_setup}
    runs = {"book_style": book_run, "hand_written": hand_run, "runner": runner_run}
    states = {name: setup() for name, setup in setups.items()}

    def timed(name: str) -> Callable[[], float]:
        def case() -> float:
            start = time.perf_counter()
            steps = runs[name](states[name])
            return steps / (time.perf_counter() - start)
        return case

    timings = alternate({name: timed(name) for name in runs}, s.reps)
    med = {name: median(values) for name, values in timings.items()}
    vs_book = ratio(med["runner"], med["book_style"])
    vs_hand = ratio(med["runner"], med["hand_written"])
    return {
        "units": "environment steps per second (higher is better), learning included",
        "timings": timings,
        "medians": med,
        "ratios": {"runner_vs_book_style": vs_book, "runner_vs_hand_written": vs_hand},
        "targets": {"runner_vs_book_style": target(vs_book, ">=", 10.0),
                    "runner_vs_hand_written": target(vs_hand, ">=", 0.8)},
        "data": {"env": "CartPole-v0", "episodes_per_rep": episodes, "book_style_episodes_per_rep": 1, "batch": batch, "network": "4-256-256-256-2",
                 "acting": "greedy (network queried every step)", "replay": "one per episode"},
    }
