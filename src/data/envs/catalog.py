"""The registered environments: `env=qworld|frozenlake|cartpole|mountaincar_continuous`."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import Optional

import gymnasium

from adl_runner.data.envs import qworld
from adl_runner.kernel.agents import EnvHandle
from adl_runner.kernel.errors import require_one_of
from adl_runner.kernel.registry import ENVS
from adl_runner.kernel.specs import EnvSpec

log = logging.getLogger(__name__)
GRID_ACTIONS = ["Left", "Down", "Right", "Up"]


def _make(gym_id: str, max_episode_steps: Optional[int], render_mode: Optional[str], **kwargs) -> gymnasium.Env:
    extra = {"max_episode_steps": max_episode_steps} if max_episode_steps is not None else {}
    if gym_id.startswith(("CartPole", "MountainCar")):
        extra["disable_env_checker"] = True  # the checker's warnings only; the API is the same
    if render_mode == "rgb_array":
        # Frames are drawn off-screen: without a display driver chosen, SDL probes for one and prints
        # "error: XDG_RUNTIME_DIR is invalid" on a headless machine, though the GIF is fine.
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    with warnings.catch_warnings():  # CartPole-v0 is "out of date" for gymnasium; it is the book's env
        warnings.simplefilter("ignore", DeprecationWarning)
        return gymnasium.make(gym_id, render_mode=render_mode, **extra, **kwargs)


@dataclass
class QWorldOptions:
    max_episode_steps: int = 100
    """Time limit of one episode (the book has none; an epsilon-greedy walk always ends long before)."""


@ENVS.register("qworld", EnvSpec(options=QWorldOptions))
def build_qworld(options: QWorldOptions, render_mode: Optional[str] = None) -> EnvHandle:
    env = _make(qworld.GYM_ID, options.max_episode_steps, render_mode)
    return EnvHandle("qworld", env, qworld.GYM_ID, grid_shape=(2, 3), action_names=list(qworld.ACTIONS))


@dataclass
class FrozenLakeOptions:
    slippery: bool = True
    """The slippery lake (each move goes sideways with probability 2/3); false: deterministic moves."""
    book_compat: bool = False
    """The book's script set is_slippery after gym.make, which has no effect: its "non-slippery" rows
    ran the slippery lake. True reproduces that: slippery=false still builds the slippery lake."""
    map_name: str = "4x4"
    """4x4 (the book: SFFF/FHFH/FFFH/HFFG) or 8x8."""
    max_episode_steps: Optional[int] = None
    """Time limit; None: gymnasium's (100 for 4x4)."""

    def __post_init__(self) -> None:
        require_one_of("env.map_name", self.map_name, ("4x4", "8x8"))


@ENVS.register("frozenlake", EnvSpec(options=FrozenLakeOptions))
def build_frozenlake(options: FrozenLakeOptions, render_mode: Optional[str] = None) -> EnvHandle:
    slippery = options.slippery or options.book_compat
    if options.book_compat and not options.slippery:
        log.info("env.book_compat: the book's 'non-slippery' FrozenLake was really slippery; building the slippery lake")
    env = _make("FrozenLake-v1", options.max_episode_steps, render_mode, is_slippery=slippery, map_name=options.map_name)
    side = 4 if options.map_name == "4x4" else 8
    return EnvHandle("frozenlake", env, "FrozenLake-v1", grid_shape=(side, side), action_names=list(GRID_ACTIONS),
                     notes={"env_slippery": slippery})


@dataclass
class CartPoleOptions:
    version: str = "v0"
    """v0: the book's CartPole-v0 (200 steps, solved at mean >= 195 over 100 episodes); v1: 500 / 475."""
    book_compat: bool = False
    """The book treated the 200-step time-limit end as terminal in the DQN targets; false bootstraps it."""
    max_episode_steps: Optional[int] = None
    """Time limit; None: the version's own (200 or 500)."""

    def __post_init__(self) -> None:
        require_one_of("env.version", self.version, ("v0", "v1"))


@ENVS.register("cartpole", EnvSpec(options=CartPoleOptions))
def build_cartpole(options: CartPoleOptions, render_mode: Optional[str] = None) -> EnvHandle:
    gym_id = f"CartPole-{options.version}"
    env = _make(gym_id, options.max_episode_steps, render_mode)
    return EnvHandle(
        "cartpole", env, gym_id,
        solved_threshold=195.0 if options.version == "v0" else 475.0,
        truncation_is_terminal=options.book_compat,
        success=lambda reward, terminated, truncated: bool(truncated and not terminated),  # kept it up
        action_names=["Left", "Right"],
    )


@dataclass
class MountainCarContinuousOptions:
    book_compat: bool = False
    """The book's gym ended an episode with one `done`, time limit or flag alike: true drops
    Actor-Critic's bootstrap V(s') at the 999-step limit too (truncation is terminal) and makes
    A2C bootstrap unless the last reward was > 0, as the book's code; false: the time limit is not
    terminal, and both bootstrap from V(s') there."""
    max_episode_steps: Optional[int] = None
    """Time limit; None: gymnasium's 999."""


@ENVS.register("mountaincar_continuous", EnvSpec(options=MountainCarContinuousOptions))
def build_mountaincar_continuous(options: MountainCarContinuousOptions, render_mode: Optional[str] = None) -> EnvHandle:
    env = _make("MountainCarContinuous-v0", options.max_episode_steps, render_mode)
    return EnvHandle("mountaincar_continuous", env, "MountainCarContinuous-v0", solved_threshold=90.0,
                     truncation_is_terminal=options.book_compat, notes={"book_compat": options.book_compat})
