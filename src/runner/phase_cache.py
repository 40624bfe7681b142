"""Pre-training phases trained once per configuration and reused by every later run: the
policy-gradient state autoencoder (about 3 minutes at the book's size) is fixed by its network, its
random states, its seed and its recipe, not by the run that needs it.

A family opts in by passing `cache={...}` to `PhaseRunner.train`: what fixes the phase that the
runner cannot see (a digest of its data, its shuffle seed, batch size, a code version it bumps when
the network or its training changes). The key adds what the runner sees: the phase's name, epochs
and steps, the model's initial weights (so its architecture and initialisation), its optimizer and
loss, `trainer.loss_bound` (a cached phase must have passed this run's guard), and the Keras and
TensorFlow versions. It is the SHA-256 of all that as canonical JSON.

An entry is a folder `<user cache dir>/phases/<phase>-<key[:16]>/` (`kernel.cachedir`:
`ADL_RUNNER_CACHE_DIR` moves it; deleting the folder clears it) written whole and swapped in
atomically, holding the phase's checkpoint (`weights.keras`, the model and its optimizer) and
`entry.json` (the full key, the history, the checkpoint's SHA-256). A hit copies the checkpoint into
the run dir's phase checkpoint, so the run resumes and reads exactly as one that trained the phase;
weights are loaded weights-only (no config or code is deserialised from the cache). An entry that
does not match its own digest or cannot be read is rebuilt, with one warning line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any, Mapping

import keras
import numpy as np
import tensorflow as tf

from adl_runner.data.store import file_digest
from adl_runner.kernel.cachedir import user_cache_dir
from adl_runner.kernel.files import write_dir_atomic

log = logging.getLogger("runner")

WEIGHTS, ENTRY = "weights.keras", "entry.json"


def phase_key(name: str, model: keras.Model, cache: Mapping[str, Any], *, epochs: int, steps_per_epoch: int,
              loss_bound: float | None) -> dict[str, Any]:
    """Everything that fixes what a phase trains (see the module docstring), as JSON-ready values."""
    initial = hashlib.sha256()
    for weight in model.weights:
        value = np.asarray(keras.ops.convert_to_numpy(weight))
        initial.update(f"{value.dtype}{value.shape}".encode())
        initial.update(value.tobytes())
    return {
        "phase": name, "epochs": epochs, "steps_per_epoch": steps_per_epoch, "loss_bound": loss_bound,
        "initial_weights_sha256": initial.hexdigest(),
        "optimizer": _optimizer(model.optimizer),
        "loss": repr(model.loss), "keras": keras.__version__, "tensorflow": tf.__version__, "family": dict(cache),
    }


def _optimizer(optimizer: keras.optimizers.Optimizer | None) -> dict[str, Any] | None:
    """Its class and settings; not its name, which Keras numbers by how many were made before (adam_1)."""
    if optimizer is None:
        return None
    return {"class": type(optimizer).__name__, **{k: v for k, v in optimizer.get_config().items() if k != "name"}}


class PhaseCache:
    """Entries of trained phases under `root` (default `<user cache dir>/phases`)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else user_cache_dir() / "phases"

    def folder(self, key: Mapping[str, Any]) -> Path:
        return self.root / f"{key['phase']}-{_digest(key)[:16]}"

    def load(self, key: Mapping[str, Any]) -> tuple[Path, dict[str, list[float]]] | None:
        """(the cached checkpoint, its history), or None when there is no sound entry for `key`."""
        folder = self.folder(key)
        if not folder.exists():
            return None
        try:
            entry = json.loads((folder / ENTRY).read_text())
            problem = ("another key" if entry.get("key") != _plain(key)
                       else "its weights do not match their digest" if file_digest(folder / WEIGHTS, "sha256") != entry["weights_sha256"]
                       else None)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = f"unreadable ({(str(exc).splitlines() or [type(exc).__name__])[0]})"
        if problem is not None:
            log.warning("phase cache entry %s is %s; training the phase again", folder,
                        problem if problem.startswith("unreadable") else f"damaged: {problem}")
            return None
        return folder / WEIGHTS, entry["history"]

    def save(self, key: Mapping[str, Any], weights: Path, history: Mapping[str, list[float]]) -> None:
        """Store a trained phase's checkpoint `weights` (a run dir's) under `key`; a cache that cannot
        be written only costs the next run the training (one warning line)."""
        folder = self.folder(key)

        def write(tmp: Path) -> None:
            shutil.copyfile(weights, tmp / WEIGHTS)
            entry = {"key": _plain(key), "history": history, "weights_sha256": file_digest(tmp / WEIGHTS, "sha256")}
            (tmp / ENTRY).write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n")

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            write_dir_atomic(folder, write)
        except OSError as exc:
            log.warning("phase %s could not be cached in %s (%s); it will be trained again next time", key["phase"], folder, exc)
            return
        log.info("phase %s cached in %s", key["phase"], folder)


def _plain(key: Mapping[str, Any]) -> Any:
    """`key` as it reads back from entry.json (tuples as lists, anything else JSON lacks as its str)."""
    return json.loads(json.dumps(key, sort_keys=True, default=str))


def _digest(key: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(_plain(key), sort_keys=True).encode()).hexdigest()
