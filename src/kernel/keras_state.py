"""The random-number-generator state of any Keras model, for checkpoints that resume exactly.

Keras saves a model's weights and its optimizer, but not the state of its `SeedGenerator`s: the
ones inside `Dropout` and other random layers, a VAE's sampling layer, a GAN's noise generator. A
model loaded from a `.keras` file starts them afresh, so a resumed run draws other dropout masks
(and noise) than the run it continues. Everything here works on those states, in one fixed order
(every layer in `_flatten_layers()` order, each layer's generators in creation order), which the
same architecture rebuilt from its config reproduces. Keys are `rng_<i>`.

Two users: `models.gan.base.AdversarialModel` keeps them among its own variables (inside the
weights file), and the runner's checkpoints (`save_model` / `restore_from_file`) store them for any
model in one extra member of the `.keras` zip, `seed_states.npz`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

MEMBER = "seed_states.npz"
"""The zip member of a `.keras` checkpoint that holds the states (`save_model`)."""
PREFIX = "rng_"


def seed_generators(model: keras.Layer) -> list[Any]:
    """Every `SeedGenerator` of `model` and its sub-layers, in a fixed order."""
    return [generator for layer in model._flatten_layers() for generator in layer._seed_generators]


def is_seed_key(key: Any) -> bool:
    return str(key).startswith(PREFIX)


def seed_states(model: keras.Layer) -> dict[str, np.ndarray]:
    """`{"rng_0": state, ...}`: a copy of every generator's state."""
    return {f"{PREFIX}{i}": keras.ops.convert_to_numpy(g.state) for i, g in enumerate(seed_generators(model))}


def restore_seed_states(model: keras.Layer, states: Mapping[str, Any], *, strict: bool = False) -> int:
    """Set every generator whose `rng_<i>` is in `states`; returns how many were set. `strict`:
    the number of states must match the model's generators (a checkpoint of another architecture)."""
    generators = seed_generators(model)
    keys = [key for key in states if is_seed_key(key)]
    if strict and len(keys) != len(generators):
        raise ValueError(f"the checkpoint holds {len(keys)} random-generator states, the model has {len(generators)}")
    restored = 0
    for i, generator in enumerate(generators):
        key = f"{PREFIX}{i}"
        if key in states:
            generator.state.assign(np.asarray(states[key]))
            restored += 1
    return restored


def save_model(model: keras.Model, path: str | Path) -> None:
    """`model.save(path)`, plus the generators' states as the zip member `seed_states.npz` (Keras
    ignores a member it does not know; `restore_from_file` reads it)."""
    model.save(path)
    states = seed_states(model)
    if not states:
        return
    buffer = io.BytesIO()
    # numpy's stubs type **kwds as the `allow_pickle: bool` keyword; the arrays are what savez stores.
    np.savez(buffer, **states)  # type: ignore[arg-type]
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(MEMBER, buffer.getvalue())


def restore_from_file(model: keras.Model, path: str | Path) -> int:
    """Set `model`'s generators from the `seed_states.npz` of the `.keras` file it was loaded
    from; returns how many were set (0: a file written by a plain `model.save`)."""
    with zipfile.ZipFile(path) as archive:
        if MEMBER not in archive.namelist():
            return 0
        data = archive.read(MEMBER)
    with np.load(io.BytesIO(data)) as stored:
        return restore_seed_states(model, {key: stored[key] for key in stored.files}, strict=True)
