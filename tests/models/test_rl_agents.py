"""Pieces of the episode loop: the replay buffer, the solved criterion, QWorld, tabular updates, DQN targets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adl_runner.kernel.agents import AgentContext, EnvHandle
from adl_runner.kernel.registry import ENVS, MODELS
from adl_runner.runner.families import load_families
from adl_runner.runner.loops.episodes import History

load_families()


def _env(name: str, **options) -> EnvHandle:
    entry = ENVS.get(name)
    return entry.build(entry.spec.options(**options))


# -- replay buffer -----------------------------------------------------------------------------------
def test_replay_buffer_is_bounded_and_overwrites_the_oldest() -> None:
    from adl_runner.models.rl.replay import ReplayBuffer

    buf = ReplayBuffer(5, (2,))
    for i in range(7):
        buf.add([i, i], i % 2, float(i), [i + 1, i + 1], i == 6)
    assert len(buf) == 5
    assert sorted(buf.rewards.tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]  # 0 and 1 were overwritten
    rng = np.random.default_rng(0)
    s, a, r, s2, t = buf.sample(5, rng)
    assert sorted(r.tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]  # without replacement
    np.testing.assert_array_equal(s2[:, 0], s[:, 0] + 1)
    assert t[r == 6.0].tolist() == [1.0]
    with pytest.raises(ValueError):
        buf.sample(6, rng)


def test_replay_buffer_state_round_trip() -> None:
    from adl_runner.models.rl.replay import ReplayBuffer

    buf = ReplayBuffer(4, (3,))
    for i in range(6):
        buf.add(np.full(3, i), 1, float(i), np.full(3, i + 1), False)
    copy = ReplayBuffer(4, (3,))
    copy.load_arrays(buf.state_arrays())
    assert (copy.size, copy.next) == (buf.size, buf.next)
    a, b = buf.sample(4, np.random.default_rng(1)), copy.sample(4, np.random.default_rng(1))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="holds up to 4"):
        ReplayBuffer(8, (3,)).load_arrays(buf.state_arrays())


# -- the solved criterion ----------------------------------------------------------------------------
def test_cartpole_v0_is_solved_at_mean_195_over_100_consecutive_episodes() -> None:
    env = _env("cartpole")
    assert (env.solved_threshold, env.solved_window, env.gym_id) == (195.0, 100, "CartPole-v0")
    assert env.env.spec.max_episode_steps == 200
    h = History()
    for _ in range(99):
        h.add(200.0, 200, True, {})
        assert not h.check_solved(env)  # fewer than 100 episodes: never solved
    h.add(200.0, 200, True, {})
    assert h.check_solved(env) and h.solved_at == 100
    h.add(0.0, 10, False, {})
    assert h.solved_at == 100  # the first episode that met it is kept

    h2 = History()
    for ret in [195.0] * 99 + [194.0]:
        h2.add(ret, int(ret), False, {})
    assert not h2.check_solved(env)  # mean 194.99
    h2.add(196.0, 196, False, {})  # the window slides: mean of the last 100 = 195.01
    assert h2.check_solved(env) and h2.solved_at == 101
    assert _env("cartpole", version="v1").solved_threshold == 475.0
    assert math.isnan(History().mean_return())


@pytest.mark.parametrize("name", ["cartpole", "mountaincar_continuous"])
def test_time_limit_end_bootstraps_unless_the_book_switch_asks(name: str) -> None:
    """The book's gym said `done` at the time limit: its DQN and Actor-Critic dropped V(s') there."""
    assert _env(name).truncation_is_terminal is False
    assert _env(name, book_compat=True).truncation_is_terminal is True


@pytest.mark.parametrize("book_compat", [False, True])
def test_the_episode_loop_hands_actor_critic_a_terminal_time_limit_only_under_the_book_switch(book_compat: bool) -> None:
    """env.book_compat=true: the limit reaches the agent as terminal, so Actor-Critic's y drops gamma V(s') at any done."""
    from adl_runner.runner.loops.episodes import run_episode

    class Recorder:
        def __init__(self) -> None:
            self.terminals: list[bool] = []

        def act(self, obs, greedy: bool = False):
            return np.zeros(1, dtype=np.float32)

        def observe(self, obs, action, reward, next_obs, terminal: bool, done: bool) -> None:
            self.terminals.append(terminal)

    agent = Recorder()
    run_episode(agent, _env("mountaincar_continuous", max_episode_steps=3, book_compat=book_compat), learn=True, greedy=False, seed=0)
    assert agent.terminals == [False, False, book_compat]  # no flag in 3 steps: only the time limit ends it


def test_cartpole_success_is_the_time_limit() -> None:
    env = _env("cartpole")
    assert env.success(1.0, False, True) and not env.success(1.0, True, False)


# -- QWorld and the tabular update -------------------------------------------------------------------
def test_qworld_is_the_books_world() -> None:
    env = _env("qworld").env
    obs, info = env.reset(seed=0)
    assert (obs, info) == (0, {})
    assert env.step(2)[:4] == (1, 0.0, False, False)
    assert env.step(2)[:4] == (2, 100.0, True, False)  # the goal
    env.reset()
    env.step(1)  # down to 3
    env.step(2)  # right to 4
    assert env.step(2)[:3] == (5, -100.0, True)  # the hole


def test_frozenlake_book_compat_builds_the_slippery_lake() -> None:
    assert _env("frozenlake", slippery=False).env.unwrapped.P[0][2][0][0] == 1.0  # deterministic
    assert _env("frozenlake", slippery=False, book_compat=True).env.unwrapped.P[0][2][0][0] == pytest.approx(1 / 3)


def test_bellman_overwrite_and_td0_update() -> None:
    entry = MODELS.get("q_learning")
    agent = entry.build(entry.spec.options(), _env("qworld"), AgentContext(seed=0))
    agent.observe(1, 2, 100.0, 2, True, True)
    assert agent.q[1, 2] == 100.0
    agent.observe(0, 2, 0.0, 1, False, False)
    assert agent.q[0, 2] == pytest.approx(90.0)  # r + 0.9 * max Q[1]
    td = entry.build(entry.spec.options(), _env("frozenlake"), AgentContext(seed=0))
    assert td.alpha == 0.1 and td.decay_per == "step"
    td.observe(14, 2, 1.0, 15, True, True)
    assert td.q[14, 2] == pytest.approx(0.1)


# -- DQN / DDQN targets --------------------------------------------------------------------------------
@pytest.mark.parametrize("double", [False, True])
def test_dqn_replay_step_moves_q_toward_the_book_target(double: bool) -> None:
    entry = MODELS.get("ddqn" if double else "dqn")
    agent = entry.build(entry.spec.options(hidden_units=[8]), _env("cartpole"), AgentContext(seed=0, batch_size=4))
    rng = np.random.default_rng(0)
    s, s2 = rng.normal(size=(4, 4)).astype(np.float32), rng.normal(size=(4, 4)).astype(np.float32)
    a = np.array([0, 1, 0, 1])
    r = np.ones(4, np.float32)
    t = np.array([0, 0, 1, 0], np.float32)
    q_next_target, q_next_online = agent.target(s2).numpy(), agent.q(s2).numpy()
    if double:
        nxt = q_next_target[np.arange(4), q_next_online.argmax(1)]
    else:
        nxt = q_next_target.max(1)
    y = r + 0.9 * (1 - t) * nxt
    before = agent.q(s).numpy()[np.arange(4), a]
    loss = float(agent._train_step(s, a, r, s2, t))
    assert loss == pytest.approx(np.mean((y - before) ** 2) / 2, rel=1e-4)
    after = agent.q(s).numpy()[np.arange(4), a]
    assert np.mean((y - after) ** 2) < np.mean((y - before) ** 2)


# -- A2C's entropy term ------------------------------------------------------------------------------
@pytest.mark.parametrize("book_compat", [False, True])
def test_a2c_entropy_weight_acts_only_when_not_book_compat(book_compat: bool) -> None:
    """The book computed the entropy once as a constant, so beta changed nothing; by default it has a gradient.

    Zero rewards ending in a terminal state give R_t = 0 = V(s_t) (the value head starts at zero), so
    the policy's only gradient is the entropy bonus's: it widens the policy, unless book_compat."""
    entry = MODELS.get("a2c")
    env = _env("mountaincar_continuous", max_episode_steps=5)
    options = entry.spec.options(ae_samples=110, ae_epochs=1, encoder_units=[8], latent_dim=4, book_compat=book_compat)
    agent = entry.build(options, env, AgentContext(seed=0, log=lambda *_: None))
    assert agent.beta == 0.9 and agent.gamma == 0.95  # the book's A2C values
    obs = np.array([-0.5, 0.0], np.float32)
    before = agent._policy(obs)[1]
    for step in range(3):
        agent.act(obs)
        agent.observe(obs, np.zeros(1), 0.0, obs, step == 2, step == 2)
    agent.end_episode()
    after = agent._policy(obs)[1]
    if book_compat:
        assert after == pytest.approx(before, abs=1e-7)
    else:
        assert after > before + 1e-4


# -- ln pi of which action -----------------------------------------------------------------------------
@pytest.mark.parametrize("book_compat", [False, True])
def test_reinforce_logp_of_the_executed_action_or_the_books_resampled_one(book_compat: bool) -> None:
    """A positive y pulls the mean toward the executed action. The book's logp model resampled the action in
    its graph (mean + stddev * eps, clipped): inside [-1, 1] the mean then gets no gradient and the stddev
    shrinks whatever was executed."""
    entry = MODELS.get("reinforce")
    env = _env("mountaincar_continuous", max_episode_steps=5)
    options = entry.spec.options(ae_samples=110, ae_epochs=1, encoder_units=[8], latent_dim=4, book_compat=book_compat)
    agent = entry.build(options, env, AgentContext(seed=0, log=lambda *_: None))
    obs = np.array([-0.5, 0.0], np.float32)
    mean0, std0 = agent._policy(obs)
    assert (mean0, std0) == (pytest.approx(0.0), pytest.approx(math.log(2.0)))
    agent._last_sample = 0.5  # the executed action
    agent.observe(obs, np.array([0.5], np.float32), 1.0, obs, True, True)
    agent.end_episode()  # one step: y = gamma^0 R_0 = 1
    mean1, std1 = agent._policy(obs)
    if book_compat:
        assert mean1 == pytest.approx(mean0, abs=1e-7)  # |eps * 0.69| < 1 here (eps from the seeded agent rng)
        assert std1 < std0
    else:
        assert mean1 > mean0 + 1e-4


# -- the shared knobs: optimizer.learning_rate and trainer.batch_size reach the agents -----------------
def test_dqn_replays_batches_of_the_runners_batch_size_and_trains_with_its_optimizer() -> None:
    import keras

    entry = MODELS.get("dqn")
    ctx = AgentContext(seed=0, optimizer=lambda: keras.optimizers.SGD(0.25), batch_size=3)
    agent = entry.build(entry.spec.options(hidden_units=[8]), _env("cartpole"), ctx)
    assert isinstance(agent.q.optimizer, keras.optimizers.SGD)
    assert float(agent.q.optimizer.learning_rate) == pytest.approx(0.25)
    for _ in range(2):
        agent.observe(np.zeros(4), 0, 1.0, np.zeros(4), False, False)
    agent.replay()
    assert agent.replays == 0  # 2 transitions: fewer than one batch of 3
    agent.observe(np.zeros(4), 0, 1.0, np.zeros(4), False, False)
    agent.replay()
    assert agent.replays == 1
    book = entry.build(entry.spec.options(hidden_units=[8]), _env("cartpole"), AgentContext(seed=0))
    assert book.batch_size == 64  # no trainer.batch_size: the book's


def _policy_gradient(ctx_optimizer=None, **options):
    entry = MODELS.get("reinforce_baseline")
    env = _env("mountaincar_continuous", max_episode_steps=5)
    opts = entry.spec.options(ae_samples=110, ae_epochs=1, encoder_units=[8], latent_dim=4, **options)
    return entry.build(opts, env, AgentContext(seed=0, optimizer=ctx_optimizer, log=lambda *_: None))


def test_policy_gradient_actor_uses_the_optimizer_group_and_the_value_adam_its_scaled_rate() -> None:
    import keras

    book = _policy_gradient()  # no optimizer from the runner: the book's RMSprop 1e-3 / Adam 1e-3
    assert isinstance(book.actor.optimizer, keras.optimizers.RMSprop)
    assert isinstance(book.value.optimizer, keras.optimizers.Adam)
    assert float(book.actor.optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(book.value.optimizer.learning_rate) == pytest.approx(1e-3)
    agent = _policy_gradient(lambda: keras.optimizers.SGD(0.1), value_lr_scale=0.5)
    assert isinstance(agent.actor.optimizer, keras.optimizers.SGD)
    assert float(agent.actor.optimizer.learning_rate) == pytest.approx(0.1)
    assert isinstance(agent.value.optimizer, keras.optimizers.Adam)  # the book's class, whatever the actor's
    assert float(agent.value.optimizer.learning_rate) == pytest.approx(0.05)


def test_value_optimizer_scales_a_keras2_decay_too() -> None:
    import keras

    from adl_runner.models.rl.policy_gradient import value_optimizer

    schedule = keras.optimizers.schedules.InverseTimeDecay(0.2, decay_steps=1, decay_rate=0.01)
    rate = value_optimizer(keras.optimizers.RMSprop(schedule), 0.5).get_config()["learning_rate"]["config"]
    assert (rate["initial_learning_rate"], rate["decay_rate"]) == (pytest.approx(0.1), pytest.approx(0.005))


def test_value_lr_scale_must_be_positive() -> None:
    from adl_runner.kernel.errors import ConfigError
    from adl_runner.runner.resolve import typed_values

    with pytest.raises(ConfigError, match="model.value_lr_scale must be > 0"):
        typed_values(MODELS.get("a2c").spec.options, {"value_lr_scale": 0.0}, "model")
