"""Checkpoints carry every random generator's state (dropout masks), for any model: a model loaded
from one draws exactly what the saved model would have drawn next."""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from adl_runner.kernel.errors import CheckpointError
from adl_runner.kernel.keras_state import MEMBER, restore_from_file, save_model, seed_generators, seed_states
from adl_runner.runner.tasks.common import load_checkpoint


def _dropout_mlp() -> keras.Model:
    inputs = keras.Input((8,))
    x = keras.layers.Dropout(0.5)(keras.layers.Dense(16)(inputs))
    outputs = keras.layers.Dense(2)(keras.layers.Dropout(0.3)(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def _advanced(model: keras.Model) -> keras.Model:
    """A few training steps move the dropout generators away from their initial states."""
    x, y = np.ones((16, 8), np.float32), np.zeros((16, 2), np.float32)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    return model


def _next_masks(model: keras.Model) -> np.ndarray:
    return np.asarray(model(np.ones((4, 8), np.float32), training=True))


def test_a_functional_model_with_dropout_resumes_its_dropout_stream(tmp_path: Path) -> None:
    model = _advanced(_dropout_mlp())
    path = tmp_path / "m.keras"
    save_model(model, path)
    loaded = load_checkpoint(path)
    assert len(seed_generators(loaded)) == 2
    for key, state in seed_states(model).items():
        np.testing.assert_array_equal(state, seed_states(loaded)[key])
    np.testing.assert_array_equal(_next_masks(model), _next_masks(loaded))
    # Plain Keras starts the generators afresh: the reason this exists.
    fresh = keras.saving.load_model(path)
    assert any((seed_states(fresh)[k] != v).any() for k, v in seed_states(model).items())


def test_a_file_from_plain_model_save_still_loads(tmp_path: Path) -> None:
    model = _advanced(_dropout_mlp())
    model.save(tmp_path / "plain.keras")
    assert restore_from_file(load_checkpoint(tmp_path / "plain.keras"), tmp_path / "plain.keras") == 0


def test_a_model_without_generators_gets_no_extra_member(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    save_model(model, tmp_path / "d.keras")
    with zipfile.ZipFile(tmp_path / "d.keras") as archive:
        assert MEMBER not in archive.namelist()


def test_states_of_another_architecture_are_refused(tmp_path: Path) -> None:
    model = _advanced(_dropout_mlp())
    path = tmp_path / "m.keras"
    save_model(model, path)
    one = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.5)])
    one.save(tmp_path / "other.keras")
    with zipfile.ZipFile(path) as archive:
        member = archive.read(MEMBER)
    with zipfile.ZipFile(tmp_path / "other.keras", "a") as archive:
        archive.writestr(MEMBER, member)  # two states for a model with one generator
    with pytest.raises(CheckpointError, match="holds 2 random-generator states, the model has 1"):
        load_checkpoint(tmp_path / "other.keras")
