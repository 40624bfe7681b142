"""A plain wheel install (not the checkout) finds its configs and the book-table sweeper."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_install_finds_the_configs(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(REPO)], check=True, timeout=300)
    wheel = next(wheels.glob("adl_runner-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, timeout=300)
    code = (
        "import adl_runner.runner.cli as cli, sys\n"
        "assert str(cli.CONF_DIR).startswith(sys.argv[1]), cli.CONF_DIR\n"
        "assert cli.validate(['experiment=book/table_1_5_1'], True) is None\n"
        "sys.exit(cli.main(['model=mlpp']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", code, str(target)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "unknown model 'mlpp'" in proc.stderr
