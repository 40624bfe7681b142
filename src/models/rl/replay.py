"""A bounded experience-replay buffer: NumPy ring arrays, sampled in batches without replacement."""

from __future__ import annotations

import numpy as np


class ReplayBuffer:
    """(s, a, r, s', terminal) transitions; the oldest is overwritten once `capacity` is reached."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], action_dtype: type = np.int64) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.actions = np.zeros((capacity,), dtype=action_dtype)
        self.rewards = np.zeros((capacity,), dtype=np.float32)
        self.terminals = np.zeros((capacity,), dtype=np.float32)
        self.size = 0
        self.next = 0  # slot of the next write

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, reward: float, next_obs, terminal: bool) -> None:
        i = self.next
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminals[i] = next_obs, float(terminal)
        self.next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """`batch_size` distinct transitions (the book's random.sample), as arrays."""
        if batch_size > self.size:
            raise ValueError(f"cannot sample {batch_size} transitions from a buffer holding {self.size}")
        idx = rng.choice(self.size, size=batch_size, replace=False)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.terminals[idx]

    # -- checkpoints: only the filled part is stored ------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        n = self.size
        return {"replay_obs": self.obs[:n], "replay_next_obs": self.next_obs[:n], "replay_actions": self.actions[:n],
                "replay_rewards": self.rewards[:n], "replay_terminals": self.terminals[:n],
                "replay_meta": np.array([self.size, self.next, self.capacity], dtype=np.int64)}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        size, nxt, capacity = (int(v) for v in arrays["replay_meta"])
        if capacity != self.capacity:
            raise ValueError(f"the checkpoint's replay buffer holds up to {capacity} transitions, this run asks for {self.capacity}")
        self.size, self.next = size, nxt
        self.obs[:size], self.next_obs[:size] = arrays["replay_obs"], arrays["replay_next_obs"]
        self.actions[:size], self.rewards[:size] = arrays["replay_actions"], arrays["replay_rewards"]
        self.terminals[:size] = arrays["replay_terminals"]
