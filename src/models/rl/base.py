"""Helpers the agent families share. The agent interface of the episode loop (`Agent`,
`AgentContext`, `AgentState`, `EnvHandle`) is the kernel's: `adl_runner.kernel.agents`."""

from __future__ import annotations


def decay_epsilon(epsilon: float, decay: float, minimum: float) -> float:
    """The book's rule: multiply by `decay` while epsilon is above `minimum`."""
    return epsilon * decay if epsilon > minimum else epsilon
