"""The book's 6-state QWorld (Listing 9.3.1) as a gymnasium env: `gymnasium.make("adl/QWorld-v0")`.

    0 1 2        start 0; 2 = Goal (+100 on entering), 5 = Hole (-100 on entering); both terminal
    3 4 5        actions 0 Left, 1 Down, 2 Right, 3 Up; deterministic transitions
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

GOAL, HOLE, START = 2, 5, 0
ACTIONS = ["Left", "Down", "Right", "Up"]
TRANSITIONS = np.array([[0, 3, 1, 0], [0, 4, 2, 1], [2, 2, 2, 2], [3, 3, 4, 0], [3, 4, 5, 1], [5, 5, 5, 5]])
REWARDS = np.zeros((6, 4))
REWARDS[1, 2] = 100.0   # entering the goal from (0,1)
REWARDS[4, 2] = -100.0  # entering the hole from (1,1)
GYM_ID = "adl/QWorld-v0"


class QWorldEnv(gymnasium.Env):
    """Deterministic 2x3 grid of Listing 9.3.1; observation = state index."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space = spaces.Discrete(6)
        self.action_space = spaces.Discrete(4)
        self.render_mode = render_mode
        self.state = START

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.state = START
        return self.state, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict]:
        action = int(action)
        reward = float(REWARDS[self.state, action])
        self.state = int(TRANSITIONS[self.state, action])
        return self.state, reward, self.state in (GOAL, HOLE), False, {}

    def render(self) -> Any:
        cells = ["S", ".", "G", ".", ".", "H"]
        if self.render_mode == "ansi":
            marks = [("*" if i == self.state else c) for i, c in enumerate(cells)]
            return " ".join(marks[:3]) + "\n" + " ".join(marks[3:]) + "\n"
        if self.render_mode == "rgb_array":
            size = 40
            image = np.full((2 * size, 3 * size, 3), 230, dtype=np.uint8)
            colours = {GOAL: (60, 180, 75), HOLE: (40, 40, 40), START: (200, 200, 255)}
            for i in range(6):
                r, c = divmod(i, 3)
                image[r * size + 1:(r + 1) * size - 1, c * size + 1:(c + 1) * size - 1] = colours.get(i, (245, 245, 245))
            r, c = divmod(self.state, 3)
            image[r * size + 12:(r + 1) * size - 12, c * size + 12:(c + 1) * size - 12] = (220, 40, 40)
            return image
        return None


if GYM_ID not in gymnasium.registry:
    gymnasium.register(id=GYM_ID, entry_point="adl_runner.data.envs.qworld:QWorldEnv", max_episode_steps=100)
