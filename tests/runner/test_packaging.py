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


def test_one_import_name_and_no_generic_top_level_packages(tmp_path: Path) -> None:
    """The distribution installs `adl_runner` (and Hydra's plugin namespace), never a top-level
    `runner`, `models` or `data` that a user's own module could shadow or be shadowed by."""
    from importlib.metadata import distribution

    top_level = set(distribution("adl-runner").read_text("top_level.txt").split())
    assert top_level == {"adl_runner", "hydra_plugins"}
    # A user's own `models`/`data` beside the working dir does not change what the runner imports.
    (tmp_path / "models.py").write_text("raise SystemExit('the user module was imported')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "__init__.py").write_text("raise SystemExit('the user package was imported')\n")
    code = "from adl_runner.runner.families import load_families; load_families(); print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_python_dash_m_is_the_run_command(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "adl_runner", "model=mlpp"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown model 'mlpp'"), proc.stderr
