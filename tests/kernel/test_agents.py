"""The agent and env protocol of the kernel: light to import, and an agent's RNG survives a checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

import adl_runner
from adl_runner.kernel.agents import Agent, AgentState, EnvHandle


def test_the_protocol_imports_without_keras_or_tensorflow() -> None:
    # A fresh interpreter on the package under test (the venv's editable install may point elsewhere).
    package_root = str(Path(adl_runner.__file__).parent.parent)
    code = ("import sys, adl_runner.kernel.agents; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'gymnasium') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


class CountingAgent(Agent):
    """An agent with state of its own besides the base class's RNG and epsilon."""

    def __init__(self, env: EnvHandle, seed: int) -> None:
        super().__init__(env, seed)
        self.steps = 0

    def act(self, obs: Any, greedy: bool = False) -> Any:
        self.steps += 1
        return self.random_action()

    def get_state(self) -> AgentState:
        return AgentState(state={**self._base_state(), "steps": self.steps})

    def set_state(self, saved: AgentState) -> None:
        self._set_base_state(saved.state)
        self.steps = saved.state["steps"]


def test_an_agent_round_trips_its_rng_through_get_state_and_set_state() -> None:
    env = EnvHandle(name="toy", env=SimpleNamespace(action_space=SimpleNamespace(n=1000)), gym_id="Toy-v0")
    agent = CountingAgent(env, seed=3)
    agent.epsilon = 0.25
    for _ in range(7):
        agent.act(None)
    saved = agent.get_state()
    expected = [agent.act(None) for _ in range(20)]

    # The JSON state is what a checkpoint writes; a differently seeded agent takes it over.
    restored = CountingAgent(env, seed=99)
    restored.set_state(AgentState(state=json.loads(json.dumps(saved.state))))
    assert (restored.epsilon, restored.steps) == (0.25, 7)
    assert [restored.act(None) for _ in range(20)] == expected
    assert restored.rng.random() == agent.rng.random()
    assert np.array_equal(restored.rng.integers(1 << 30, size=5), agent.rng.integers(1 << 30, size=5))
