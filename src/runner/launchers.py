"""What a launcher or search preset needs before any job starts: its Hydra plugin (an optional
extra of the package) and, for SLURM, `sbatch`. Each missing piece is one line naming the fix.
Pure Python: runs in the CLI before Hydra, long before TensorFlow."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Needs:
    """A preset's plugin module, the extra that installs it, and a program it calls (if any)."""

    plugin: str
    extra: str
    program: str | None = None


PRESETS: dict[tuple[str, str], Needs] = {
    ("launcher", "local_parallel"): Needs("hydra_plugins.hydra_joblib_launcher", "joblib"),
    ("launcher", "submitit_local"): Needs("hydra_plugins.hydra_submitit_launcher", "submitit"),
    ("launcher", "slurm"): Needs("hydra_plugins.hydra_submitit_launcher", "submitit", program="sbatch"),
    ("hparams_search", "mlp_optuna"): Needs("hydra_plugins.hydra_optuna_sweeper", "optuna"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def preset_problem(group: str, option: str | None, multirun: bool) -> str | None:
    """None if `group=option` can run here, else the one line that says what is missing."""
    needs = PRESETS.get((group, option or ""))
    if needs is None:
        return None
    if not multirun:
        return f"{group}={option} runs the jobs of a sweep: add -m (--multirun)"
    if not _installed(needs.plugin):
        return (f"{group}={option} needs the {needs.plugin.rsplit('.', 1)[1]} Hydra plugin, which is not installed: "
                f"pip install 'adl-runner[{needs.extra}]'")
    if needs.program is not None and shutil.which(needs.program) is None:
        return (f"{group}={option} submits jobs with SLURM's `{needs.program}`, which is not on PATH here; "
                f"run it on a SLURM login node, or use launcher=submitit_local on this machine")
    return None
