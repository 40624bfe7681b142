"""Observation helpers shared by the agents (the environment protocol, `EnvHandle`, is in
`adl_runner.kernel.agents`)."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_float_obs(obs: Any) -> np.ndarray:
    return np.asarray(obs, dtype=np.float32).reshape(-1)
