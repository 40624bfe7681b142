"""The budget arithmetic of TrainerConfig: continuing a step run on a different interval, and the
caps that debug=smoke sets."""

from __future__ import annotations

import pytest

from adl_runner.kernel.errors import ConfigError
from adl_runner.runner.schema import BudgetCaps, TrainerConfig


@pytest.mark.parametrize(
    ("steps_done", "steps", "interval", "epochs"),
    [
        (60, 80, 20, 4),  # one interval of 60 done; 80 alone would be one interval of 80
        (60, 120, 60, 2),  # 60 divides 120: the interval stays
        (1000, 2000, 500, 4),  # an ordinary resume of a long run: unchanged
        (80, 60, 20, 3),  # lowered below what is done: the task finds nothing left to train
    ],
)
def test_a_continued_step_run_keeps_whole_intervals(steps_done: int, steps: int, interval: int, epochs: int) -> None:
    trainer = TrainerConfig(steps=steps, steps_per_epoch=500).continued_after(steps_done)
    assert (trainer.steps, trainer.steps_per_epoch, trainer.epochs) == (steps, interval, epochs)
    assert steps_done % trainer.steps_per_epoch == 0 and trainer.budget == ("steps", steps)


def test_an_epoch_run_is_never_reshaped() -> None:
    trainer = TrainerConfig(epochs=5)
    assert trainer.continued_after(7) is trainer and trainer.budget == ("epochs", 5)


def test_caps_bound_steps_episodes_and_their_intervals() -> None:
    caps = BudgetCaps(steps=4, episodes=3, pretrain_epochs=1)
    steps = TrainerConfig(steps=40_000, steps_per_epoch=500, caps=caps)
    assert (steps.steps, steps.steps_per_epoch, steps.epochs) == (4, 4, 1)
    episodes = TrainerConfig(episodes=1000, eval_episodes=100, checkpoint_every=50, caps=caps)
    assert (episodes.episodes, episodes.eval_episodes, episodes.checkpoint_every) == (3, 3, 3)
    assert TrainerConfig(caps=caps).episode_budget(agent_default=1000) == 3
    assert TrainerConfig().episode_budget(agent_default=1000) == 1000  # no cap: the agent's book value
    assert TrainerConfig(steps=2, steps_per_epoch=1, caps=caps).steps == 2  # below a cap: unchanged


def test_a_cap_below_one_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match=r"trainer.caps.episodes must be >= 1, got 0"):
        TrainerConfig(caps=BudgetCaps(episodes=0))
