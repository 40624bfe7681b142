"""Reinforcement learning through the real `run`: each agent trains a few episodes on its env,
resumes, evaluates; QWorld converges to the book's values; every bad input is one error line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

TINY_DQN = ("model.hidden_units=[16]", "trainer.batch_size=8", "trainer.eval_episodes=2", "trainer.verbose=none")
TINY_PG = ("model.ae_samples=220", "model.ae_epochs=1", "model.encoder_units=[16,8]", "model.latent_dim=4",
           "env.max_episode_steps=15", "trainer.eval_episodes=1", "trainer.verbose=none")


def _arrays(run_dir: Path) -> dict[str, np.ndarray]:
    with np.load(run_dir / "checkpoints" / "last" / "arrays.npz") as data:
        return {k: data[k] for k in data.files}


# -- QWorld and FrozenLake ------------------------------------------------------------------------
def test_qworld_converges_to_the_book_values(run_cli) -> None:
    result = run_cli("model=q_learning", "env=qworld", "trainer.episodes=300", "trainer.verbose=line")
    assert result.code == 0, result.err
    m = result.metrics()
    # Figs 9.3.9-9.3.10: V(start) = 90, Q(s0, right) = 90, Q(s1, right) = 100, greedy path Right, Right
    assert (m["v_start"], m["q_s0_right"], m["q_s1_right"]) == (90.0, 90.0, 100.0)
    assert [m[f"v_s{s}"] for s in range(6)] == [90.0, 100.0, 0.0, 81.0, 90.0, 0.0]
    assert m["greedy_path"] == "Right,Right"
    assert m["episodes_completed"] == 300 and m["eval_success_rate"] == 1.0
    assert m["epsilon"] == pytest.approx(0.9 ** 22)  # x0.9 per episode while above 0.1
    for name in ("q_table.png", "q_table.csv", "returns.png", "epsilon.png", "history.csv", "run.json", "model_summary.txt",
                 "checkpoints/last/agent.json", "checkpoints/last/arrays.npz"):
        assert (result.run_dir / name).exists(), name
    assert "episode 300/300" in result.out and "mean100 100.00" in result.out
    summary = (result.run_dir / "summary.md").read_text()  # the end block of an episode-loop run
    assert summary.startswith("## train q_learning on qworld: completed in ") and "| eval_success_rate | 1 |" in summary
    assert "## train q_learning on qworld: completed" in result.out
    assert not list(result.run_dir.rglob(".*partial*")) and not list(result.run_dir.rglob(".*.tmp"))


@pytest.mark.parametrize(("slippery", "book_compat", "built"), [(False, False, False), (False, True, True), (True, False, True)])
def test_frozenlake_lakes(run_cli, slippery: bool, book_compat: bool, built: bool) -> None:
    result = run_cli("model=q_learning", "env=frozenlake", f"env.slippery={str(slippery).lower()}",
                     f"env.book_compat={str(book_compat).lower()}", "trainer.episodes=200", "trainer.eval_episodes=20",
                     "trainer.verbose=none")
    assert result.code == 0, result.err
    m = result.metrics()
    assert m["env_slippery"] is built
    assert m["episodes_completed"] == 200
    for key in ("success_rate", "eval_success_rate", "random_success_rate", "mean_return_100", "wall_time_s"):
        assert 0.0 <= m[key], key


def test_tabular_resume_equals_an_uninterrupted_run(run_cli, tmp_path: Path) -> None:
    args = ("model=q_learning", "env=frozenlake", "trainer.eval_episodes=5", "trainer.verbose=none", "trainer.checkpoint_every=50")
    whole = run_cli(*args, "trainer.episodes=300", run_dir=tmp_path / "whole")
    first = run_cli(*args, "trainer.episodes=150", run_dir=tmp_path / "parts")
    second = run_cli(*args, "trainer.episodes=300", run_dir=tmp_path / "parts")
    assert (whole.code, first.code, second.code) == (0, 0, 0), second.err
    assert second.metrics()["resumed_from_episode"] == 150
    a, b = _arrays(whole.run_dir), _arrays(second.run_dir)
    np.testing.assert_array_equal(a["q_table"], b["q_table"])
    np.testing.assert_array_equal(a["history_return"], b["history_return"])
    assert (whole.run_dir / "history.csv").read_text() == (second.run_dir / "history.csv").read_text()


# -- DQN / DDQN ------------------------------------------------------------------------------------
def test_dqn_resume_equals_an_uninterrupted_run_and_evaluates(run_cli, tmp_path: Path) -> None:
    args = ("model=dqn", "env=cartpole", *TINY_DQN, "trainer.deterministic=true", "trainer.checkpoint_every=2")
    whole = run_cli(*args, "trainer.episodes=8", run_dir=tmp_path / "whole")
    first = run_cli(*args, "trainer.episodes=4", run_dir=tmp_path / "parts")
    second = run_cli(*args, "trainer.episodes=8", run_dir=tmp_path / "parts")
    assert (whole.code, first.code, second.code) == (0, 0, 0), second.err
    m = second.metrics()
    assert (m["episodes_completed"], m["resumed_from_episode"]) == (8, 4)
    for key in ("mean_return_100", "solved", "episodes_to_solve", "success_rate", "wall_time_s", "eval_mean_return"):
        assert key in m, key
    a, b = _arrays(whole.run_dir), _arrays(second.run_dir)
    for key in ("history_return", "replay_obs", "replay_actions", "history_epsilon"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    meta_a = json.loads((whole.run_dir / "checkpoints/last/agent.json").read_text())
    meta_b = json.loads((second.run_dir / "checkpoints/last/agent.json").read_text())
    assert meta_a["agent_state"] == meta_b["agent_state"] and meta_a["env_rng"] == meta_b["env_rng"]
    import keras

    wa = keras.saving.load_model(whole.run_dir / "checkpoints/last/q_network.keras").get_weights()
    wb = keras.saving.load_model(second.run_dir / "checkpoints/last/q_network.keras").get_weights()
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)

    ev = run_cli("task=evaluate", f"ckpt={second.run_dir / 'checkpoints' / 'last'}", "trainer.eval_episodes=3", "gif=true",
                 run_dir=tmp_path / "eval")
    assert ev.code == 0, ev.err
    em = ev.metrics()
    assert (em["task"], em["model"], em["env"], em["eval_episodes"]) == ("evaluate", "dqn", "cartpole", 3)
    assert {"eval_mean_return", "eval_std_return", "eval_success_rate"} <= set(em)
    assert (ev.run_dir / "episode.gif").read_bytes()[:3] == b"GIF"
    assert "Greedy episodes: 3" in ev.out


def test_dqn_loss_above_the_bound_stops_with_the_episode(run_cli) -> None:
    # A replay every step (batch 8) gives episode 1 a mean loss, which no net gets below 1e-9.
    result = run_cli("model=dqn", "env=cartpole", *TINY_DQN, "trainer.episodes=3", "model.replay_every=step",
                     "trainer.loss_bound=1e-9")
    line = result.assert_error("error: loss = ", "rose above trainer.loss_bound=1e-09 at episode 1; stopped")
    assert "last good checkpoint: none yet" in line and not (result.run_dir / "metrics.json").exists()


def test_ddqn_runs_on_cartpole_v1(run_cli) -> None:
    result = run_cli("model=ddqn", "env=cartpole", "env.version=v1", *TINY_DQN, "trainer.episodes=3", "model.replay_every=step")
    assert result.code == 0, result.err
    m = result.metrics()
    assert (m["model"], m["gym_id"], m["solved_threshold"]) == ("ddqn", "CartPole-v1", 475.0)


# -- policy gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("model", [pytest.param("reinforce", marks=pytest.mark.slow),
                                   pytest.param("reinforce_baseline", marks=pytest.mark.slow), "actor_critic", "a2c"])
def test_policy_gradient_agents_run_on_mountaincar(run_cli, model: str) -> None:
    result = run_cli(f"model={model}", *TINY_PG, "trainer.episodes=2")
    assert result.code == 0, result.err
    m = result.metrics()
    assert (m["model"], m["env"], m["episodes_completed"], m["solved_threshold"]) == (model, "mountaincar_continuous", 2, 90.0)
    assert np.isfinite(m["mean_return_100"])
    assert (result.run_dir / "checkpoints/last/actor.keras").exists()


def test_a_diverging_state_autoencoder_is_one_error_line_naming_its_phase(run_cli) -> None:
    result = run_cli("model=a2c", *TINY_PG, "trainer.episodes=1", "trainer.loss_bound=1e-9")
    result.assert_error("error: phase state_autoencoder: loss = ", "rose above trainer.loss_bound=1e-09 at epoch 1, step 1",
                        "no epoch of it completed", no_run_dir=True)


@pytest.mark.slow
def test_a2c_resumes_and_evaluates(run_cli, tmp_path: Path) -> None:
    args = ("model=a2c", *TINY_PG, "trainer.checkpoint_every=1")
    assert run_cli(*args, "trainer.episodes=1").code == 0
    second = run_cli(*args, "trainer.episodes=2")
    assert second.code == 0, second.err
    assert (second.metrics()["episodes_completed"], second.metrics()["resumed_from_episode"]) == (2, 1)
    ev = run_cli("task=evaluate", "model=a2c", f"ckpt={second.run_dir}", "trainer.eval_episodes=1", run_dir=tmp_path / "eval")
    assert ev.code == 0, ev.err
    assert ev.metrics()["model"] == "a2c"
    assert "training the state autoencoder" not in ev.out + ev.err  # the checkpoint holds the trained encoder


# -- one name per knob ------------------------------------------------------------------------------
def test_optimizer_learning_rate_reaches_the_policy_gradient_actor(run_cli) -> None:
    from adl_runner.runner.loops.episodes import load_agent_state, read_checkpoint_meta

    result = run_cli("model=reinforce", *TINY_PG, "trainer.episodes=1", "optimizer.learning_rate=0.1")
    assert result.code == 0, result.err
    folder = result.run_dir / "checkpoints" / "last"
    saved, _ = load_agent_state(folder, read_checkpoint_meta(folder))
    actor, value = saved.networks["actor"].optimizer, saved.networks["value"].optimizer
    assert (type(actor).__name__, type(value).__name__) == ("RMSprop", "Adam")  # the book's classes
    assert float(actor.learning_rate) == pytest.approx(0.1)
    assert float(value.learning_rate) == pytest.approx(0.1)  # model.value_lr_scale 1


@pytest.mark.parametrize("model, old_key", [("reinforce", "actor_learning_rate"), ("a2c", "value_learning_rate"),
                                            ("actor_critic", "ae_batch_size"), ("dqn", "batch_size"),
                                            ("q_learning", "learning_rate")])
def test_the_old_per_family_knobs_are_refused(run_cli, model: str, old_key: str) -> None:
    """optimizer.learning_rate, model.value_lr_scale, trainer.batch_size and model.alpha replace them."""
    result = run_cli(f"model={model}", f"model.{old_key}=0.001")
    result.assert_error(f"unknown config key 'model.{old_key}'", "did you mean", no_run_dir=True)


def test_tabular_q_learning_reads_no_optimizer(run_cli) -> None:
    result = run_cli("model=q_learning", "optimizer.learning_rate=0.5")
    result.assert_error("model 'q_learning'", "does not read optimizer.learning_rate=", no_run_dir=True)


# -- bad input ---------------------------------------------------------------------------------------
def test_dqn_on_a_continuous_action_space_is_refused(run_cli) -> None:
    result = run_cli("model=dqn", "env=mountaincar_continuous")
    result.assert_error("model 'dqn' cannot run on env 'mountaincar_continuous'", "discrete action space", no_run_dir=True)


def test_tabular_q_on_cartpole_needs_bins(run_cli) -> None:
    result = run_cli("model=q_learning", "env=cartpole")
    result.assert_error("model 'q_learning' cannot run on env 'cartpole'", "model.bins", no_run_dir=True)
    ok = run_cli("model=q_learning", "env=cartpole", "model.bins=6", "trainer.episodes=3", "trainer.eval_episodes=2",
                 "trainer.verbose=none")
    assert ok.code == 0, ok.err


def test_policy_gradient_on_discrete_actions_is_refused(run_cli) -> None:
    run_cli("model=a2c", "env=cartpole").assert_error("model 'a2c' cannot run on env 'cartpole'", "dqn", no_run_dir=True)


def test_unknown_env_gets_a_suggestion(run_cli) -> None:
    result = run_cli("model=dqn", "env=cartpol")
    result.assert_error("unknown env 'cartpol'", "did you mean 'cartpole'", "frozenlake", no_run_dir=True)


@pytest.mark.parametrize("episodes", ["0", "-3"])
def test_non_positive_episode_count_is_refused(run_cli, episodes: str) -> None:
    run_cli("model=q_learning", f"trainer.episodes={episodes}").assert_error("trainer.episodes must be >= 1", no_run_dir=True)


def test_env_on_a_dataset_model_is_refused(run_cli) -> None:
    run_cli("model=mlp", "env=cartpole").assert_error("model 'mlp' trains on a dataset", "dqn", no_run_dir=True)


def test_evaluate_refuses_another_agents_checkpoint(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=q_learning", "trainer.episodes=5", "trainer.eval_episodes=1", "trainer.verbose=none",
                      run_dir=tmp_path / "q")
    assert trained.code == 0, trained.err
    ckpt = trained.run_dir / "checkpoints" / "last"
    result = run_cli("task=evaluate", "model=dqn", f"ckpt={ckpt}", run_dir=tmp_path / "eval")
    result.assert_error("holds a 'q_learning' agent, not 'dqn'", no_run_dir=True)
    missing = run_cli("task=evaluate", "model=dqn", f"ckpt={tmp_path / 'nowhere'}", run_dir=tmp_path / "eval2")
    missing.assert_error("does not exist", no_run_dir=True)
    fit_ckpt = tmp_path / "x.keras"
    fit_ckpt.write_bytes(b"PK")
    not_agent = run_cli("task=evaluate", "model=dqn", f"ckpt={fit_ckpt}", run_dir=tmp_path / "eval3")
    not_agent.assert_error("not an episode-loop checkpoint", no_run_dir=True)


def test_resume_refuses_another_agent(run_cli, tmp_path: Path) -> None:
    first = run_cli("model=q_learning", "env=frozenlake", "trainer.episodes=3", "trainer.eval_episodes=1", "trainer.verbose=none")
    assert first.code == 0
    again = run_cli("model=q_learning", "env=qworld", "trainer.episodes=3")
    again.assert_error("different env config")
    assert (first.run_dir / "checkpoints" / "last").exists()  # the earlier run is kept


def test_gif_without_pygame_names_the_extra(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trained = run_cli("model=dqn", "env=cartpole", *TINY_DQN, "trainer.episodes=1", run_dir=tmp_path / "dqn")
    assert trained.code == 0, trained.err
    import gymnasium.envs.classic_control.cartpole as cartpole
    from gymnasium.error import DependencyNotInstalled

    def no_pygame(self):
        raise DependencyNotInstalled('pygame is not installed, run `pip install "gymnasium[classic-control]"`')

    monkeypatch.setattr(cartpole.CartPoleEnv, "render", no_pygame)
    result = run_cli("task=evaluate", f"ckpt={trained.run_dir}", "gif=true", run_dir=tmp_path / "eval")
    result.assert_error("gif=true needs pygame", "adl-runner[render]", no_run_dir=True)


def test_ctrl_c_keeps_the_last_checkpoint_and_the_rerun_equals_an_uninterrupted_run(run_cli, tmp_path: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("model=q_learning", "env=frozenlake", "trainer.episodes=120", "trainer.eval_episodes=5", "trainer.verbose=none",
            "trainer.checkpoint_every=25")
    whole = run_cli(*args, run_dir=tmp_path / "whole")
    assert whole.code == 0, whole.err
    from adl_runner.runner.loops import episodes

    real = episodes.run_episode
    calls = {"n": 0}

    def interrupted(*a, **k):
        calls["n"] += 1
        if calls["n"] == 60:  # Ctrl-C during episode 60: episodes 51-59 are lost, 50 are checkpointed
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(episodes, "run_episode", interrupted)
    cut = run_cli(*args, run_dir=tmp_path / "cut")
    assert cut.code == 130 and "resume" in cut.err
    assert "interrupted during episode 60; the last checkpoint holds 50 episodes" in cut.out + cut.err
    meta = json.loads((cut.run_dir / "checkpoints/last/agent.json").read_text())
    assert meta["episodes_completed"] == 50 and cut.metrics()["status"] == "interrupted"
    monkeypatch.setattr(episodes, "run_episode", real)
    rerun = run_cli(*args, run_dir=tmp_path / "cut")
    assert rerun.code == 0, rerun.err
    assert rerun.metrics()["resumed_from_episode"] == 50
    np.testing.assert_array_equal(_arrays(whole.run_dir)["q_table"], _arrays(rerun.run_dir)["q_table"])
    assert (whole.run_dir / "history.csv").read_text() == (rerun.run_dir / "history.csv").read_text()
