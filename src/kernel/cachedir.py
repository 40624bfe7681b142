"""Where the runner caches what it can rebuild (the GAN metrics' MNIST judge): a per-user folder.

Never the data dir, which may be shared between users or mounted read-only. The platform's
convention: `$XDG_CACHE_HOME/adl-runner` (else `~/.cache/adl-runner`) on Linux and other Unixes,
`~/Library/Caches/adl-runner` on macOS; `ADL_RUNNER_CACHE_DIR` moves it anywhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE_DIR_VARIABLE = "ADL_RUNNER_CACHE_DIR"
APP_NAME = "adl-runner"


def user_cache_dir() -> Path:
    """The runner's cache folder (not created here: a cache is made by the first writer)."""
    chosen = os.environ.get(CACHE_DIR_VARIABLE)
    if chosen:
        return Path(chosen).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / APP_NAME
