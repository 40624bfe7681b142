"""The runner's cache folder: the variable, the XDG convention, macOS, never relative."""

from __future__ import annotations

from pathlib import Path

import pytest

from adl_runner.kernel import cachedir
from adl_runner.kernel.cachedir import CACHE_DIR_VARIABLE, user_cache_dir


@pytest.fixture
def linux_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(cachedir.sys, "platform", "linux")
    return tmp_path


def test_the_variable_wins(linux_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(linux_home / "xdg"))
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(linux_home / "mine"))
    assert user_cache_dir() == linux_home / "mine"


def test_linux_follows_xdg_and_falls_back_to_dot_cache(linux_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert user_cache_dir() == linux_home / ".cache" / "adl-runner"
    monkeypatch.setenv("XDG_CACHE_HOME", str(linux_home / "xdg"))
    assert user_cache_dir() == linux_home / "xdg" / "adl-runner"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid by the XDG spec: ignored
    assert user_cache_dir() == linux_home / ".cache" / "adl-runner"


def test_macos_uses_library_caches(linux_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cachedir.sys, "platform", "darwin")
    monkeypatch.setenv("XDG_CACHE_HOME", str(linux_home / "xdg"))
    assert user_cache_dir() == linux_home / "Library" / "Caches" / "adl-runner"
