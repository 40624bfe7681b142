"""Budgets through the real `run`: raising one on a finished run continues it (step-exactly for
steps), lowering one below what is done changes nothing, and `debug=smoke` caps every budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

TINY_GAN = ("model=dcgan", "dataset=synthetic", "dataset.options.shape=[8,8,1]", "dataset.options.n_train=64",
            "dataset.options.n_test=16", "logger.tensorboard=false", "trainer.batch_size=8",
            "trainer.deterministic=true", "logger.plots=false")
QWORLD = ("model=q_learning", "env=qworld", "trainer.eval_episodes=2", "trainer.verbose=none", "trainer.checkpoint_every=2")


def _log(run_dir: Path) -> str:
    return (run_dir / "run.log").read_text()


def test_raising_steps_continues_a_finished_run_to_exactly_the_new_budget(resume_pair, run_cli) -> None:
    # dcgan's interval (steps_per_epoch=500) is min(500, steps): 3 steps are one interval of 3, 5 one
    # of 5, so 5 continues 3 at intervals of gcd(3, 5) = 1.
    resumed, straight_state, resumed_state = resume_pair(TINY_GAN, total=5, first=3)
    assert resumed.metrics()["resumed_from_epoch"] == 3  # intervals of one step
    assert "resuming from" in _log(resumed.run_dir)
    assert len(straight_state) == len(resumed_state)
    for a, b in zip(straight_state, resumed_state):
        np.testing.assert_array_equal(a, b)

    lowered = run_cli(*TINY_GAN, "trainer.steps=4", run_dir=resumed.run_dir)
    assert lowered.code == 0, lowered.err
    assert "already holds 5 steps, more than trainer.steps=4; nothing to do" in _log(lowered.run_dir)
    assert lowered.metrics()["steps_completed"] == 5


def test_raising_episodes_continues_a_finished_run_and_lowering_them_does_nothing(run_cli) -> None:
    first = run_cli(*QWORLD, "trainer.episodes=3")
    assert first.code == 0, first.err
    raised = run_cli(*QWORLD, "trainer.episodes=5")
    assert raised.code == 0, raised.err
    metrics = raised.metrics()
    assert (metrics["resumed_from_episode"], metrics["episodes_completed"]) == (3, 5)

    lowered = run_cli(*QWORLD, "trainer.episodes=4")
    assert lowered.code == 0, lowered.err
    assert "already holds 5 episodes, more than trainer.episodes=4; nothing to do" in _log(lowered.run_dir)
    assert lowered.metrics()["episodes_completed"] == 5
    again = run_cli(*QWORLD, "trainer.episodes=5")
    assert again.code == 0, again.err
    assert "already holds this completed run; nothing to do" in _log(again.run_dir)


SMOKE = ("debug=smoke", "logger.plots=false", "trainer.verbose=none")


@pytest.mark.parametrize(
    ("args", "done"),
    [
        (("model=mlp",), {"epochs_completed": 1}),
        (("model=vae_mlp",), {"epochs_completed": 1}),
        (("model=dcgan",), {"steps_completed": 4}),  # its preset: 40,000
        (("model=stackedgan",), {"steps_completed": 4}),  # 10,000, after 10 encoder epochs
        (("model=dqn", "env=cartpole"), {"episodes_completed": 3, "eval_episodes": 3}),  # 1,000 and 100
        pytest.param(("model=reinforce",), {"episodes_completed": 3, "eval_episodes": 3},  # after 10 autoencoder epochs
                     marks=pytest.mark.slow),  # ~12 s: one autoencoder epoch over 220,000 states
    ],
    ids=["classifier", "vae", "gan", "stackedgan", "agent", "pretraining_agent"],
)
def test_smoke_caps_every_budget_of_every_kind_of_model(run_cli, args: tuple[str, ...], done: dict) -> None:
    result = run_cli(*args, *SMOKE)
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert {key: metrics[key] for key in done} == done
    pretraining = {"model=stackedgan": "pre-training the encoder for 1 epochs", "model=reinforce": "random states (1 epochs)"}
    if args[0] in pretraining:
        assert pretraining[args[0]] in _log(result.run_dir)
