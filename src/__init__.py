"""adl-runner: a Hydra-driven experiment runner for the books' deep-learning experiments.

Installed as one import package. Its layers, lowest first, each importing only those below it:

- `adl_runner.kernel`: errors, registries, family specs, atomic files and locks, protocols,
  Keras state helpers. Imports nothing else of adl_runner.
- `adl_runner.data`, `adl_runner.models`: the dataset and model families (kernel only; models may
  use data utilities).
- `adl_runner.runner`: the CLI, tasks, training loops, run dir and reports; knows no family by name.
"""

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from pathlib import Path

    import keras


def load(path: "str | Path", network: "str | None" = None) -> "keras.Model":
    """A ready Keras model from any checkpoint or run dir of any family (runner.api.load)."""
    from adl_runner.runner.api import load as load_model  # TensorFlow is imported here, not by `import adl_runner`

    return load_model(path, network)


def run(overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Run one job in-process from `run` overrides and return its metrics (runner.api.run)."""
    from adl_runner.runner.api import run as run_job

    return run_job(overrides)


__all__ = ["load", "run"]
