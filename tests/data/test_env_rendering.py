"""Rendering an episode's frames (task=evaluate gif=true) off-screen, quietly, on a headless machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_an_rgb_array_cartpole_renders_without_sdls_display_error() -> None:
    pytest.importorskip("pygame")
    script = ("from adl_runner.data.envs.catalog import CartPoleOptions, build_cartpole\n"
              "env = build_cartpole(CartPoleOptions(), render_mode='rgb_array').env\n"
              "env.reset(seed=0)\n"
              "print(env.render().shape)\n")
    environ = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "SDL_VIDEODRIVER")}
    environ["PYTHONPATH"] = str(REPO / ".pkg")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(400, 600, 3)"
    assert "XDG_RUNTIME_DIR" not in done.stderr
