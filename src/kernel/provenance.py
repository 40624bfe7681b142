"""What run.json records: versions, device, git commit, seed, command line and times."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "hydra-core", "omegaconf", "adl-runner")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit() -> str | None:
    """The commit of the checkout the runner was imported from (None for a wheel install)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def devices() -> list[str]:
    import tensorflow as tf

    return [f"{d.device_type}:{d.name}" for d in tf.config.list_physical_devices()]


def run_info(seed: int, started: float, finished: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "argv": sys.argv,
        "seed": seed,
        "started": started,
        "finished": finished,
        "wall_time_s": round(finished - started, 3),
        "versions": package_versions(),
        "devices": devices(),
        "host": platform.node(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
        **(extra or {}),
    }
