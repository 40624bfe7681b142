"""The Python API, `adl_runner.load` and `adl_runner.run`: what the `run` command does, from a
notebook or a script, with errors raised (`adl_runner.kernel.errors`) rather than printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import keras

from adl_runner.kernel.errors import CheckpointError, ConfigError, IncompatibleError, RunnerError
from adl_runner.runner.cli import _OUTCOME, main
from adl_runner.runner.loops.episodes import CHECKPOINT_META, read_checkpoint_meta
from adl_runner.runner.tasks.common import RUN_DIR_CHECKPOINTS, load_checkpoint


def load(path: str | Path, network: Optional[str] = None) -> keras.Model:
    """A ready Keras model from any checkpoint of any family: a `.keras` file (a classifier, a VAE, a
    whole GAN, a generator), a run dir (its best checkpoint, else its last), or an agent's
    checkpoint folder (`<run dir>/checkpoints/last`: its one network, or the one named `network`).
    Loaded in Keras' safe mode with the runner's custom classes registered."""
    path = Path(path).expanduser()
    folder = next((f for f in (path, path / "checkpoints" / "last") if (f / CHECKPOINT_META).is_file()), None)
    if folder is not None:
        return _agent_network(folder, network)
    if network is not None:
        raise ConfigError(f"network={network!r} names a network of an agent's checkpoint; {path} is not one")
    if (path / "checkpoints").is_dir():
        found = [path / "checkpoints" / name for name in RUN_DIR_CHECKPOINTS if (path / "checkpoints" / name).exists()]
        if not found:
            raise CheckpointError(f"run dir {path} holds no checkpoint ({', '.join(RUN_DIR_CHECKPOINTS)} in checkpoints/)")
        path = found[0]
    return load_checkpoint(path)


def _agent_network(folder: Path, network: Optional[str]) -> keras.Model:
    names = read_checkpoint_meta(folder).get("networks", [])
    if not names:
        raise IncompatibleError(f"checkpoint {folder} holds an agent with no Keras network (a table: arrays.npz)")
    if network is None and len(names) > 1:
        raise ConfigError(f"checkpoint {folder} holds the networks {', '.join(names)}: name one, load(path, network=...)")
    chosen = network or names[0]
    if chosen not in names:
        raise ConfigError(f"checkpoint {folder} holds no network {chosen!r}; its networks: {', '.join(names)}")
    return load_checkpoint(folder / f"{chosen}.keras")


def run(overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Run one job in this process through the `run` command's entry point (the same checks, run
    dir and files) and return its metrics (what metrics.json holds). A refused command line or a
    failed job raises the runner's error (ConfigError, DataError, IncompatibleError, ...)."""
    if isinstance(overrides, str):
        raise ConfigError("adl_runner.run takes a list of overrides, e.g. run(['model=mlp', 'trainer.epochs=1'])")
    flags = [arg for arg in overrides if arg.startswith("-")]
    if flags:
        raise ConfigError(f"adl_runner.run runs one job from key=value overrides; {flags[0]} is a flag of the `run` "
                          f"command (a sweep: call run once per job)")
    code = main(list(overrides), raising=True)
    if code != 0 or "metrics" not in _OUTCOME:
        raise RunnerError(f"the job ended with exit code {code} and no metrics")
    return dict(_OUTCOME["metrics"])
