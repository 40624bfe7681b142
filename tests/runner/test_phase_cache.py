"""The phase cache: a pre-training phase trained once per key and reused by later runs; another key
trains again; a damaged entry is rebuilt with one warning line."""

from __future__ import annotations

import json
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_runner.runner.phase_cache import ENTRY, WEIGHTS, PhaseCache
from adl_runner.runner.phases import RunPhases
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import TrainerConfig

EPOCHS, STEPS = 2, 3
KEY = {"data_sha256": "a", "version": 1}


def _model(seed: int = 1) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def _stream() -> tf.data.Dataset:
    x = np.random.default_rng(0).normal(size=(EPOCHS * STEPS * 4, 5)).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices((x, x.sum(axis=1, keepdims=True))).batch(4)


def _train(tmp_path, run: str, model: keras.Model, cache: dict | None = KEY) -> dict:
    phases = RunPhases(RunDir(tmp_path / run), TrainerConfig(verbose="line"), {"model": {"name": "tiny"}},
                       cache=PhaseCache(tmp_path / "cache"))
    return phases.train("warmup", model, _stream(), epochs=EPOCHS, steps_per_epoch=STEPS, cache=cache)


def _untrainable(seed: int = 1) -> keras.Model:
    model = _model(seed)
    model.fit = None  # restored from the cache, or this raises
    return model


def _assert_same(a: keras.Model, b: keras.Model) -> None:
    for x, y in zip(a.weights + a.optimizer.variables, b.weights + b.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_a_second_run_reuses_the_phase_without_training(tmp_path) -> None:
    trained = _model()
    history = _train(tmp_path, "first", trained)
    reused = _untrainable()
    assert _train(tmp_path, "second", reused) == history
    _assert_same(trained, reused)
    # the run dir holds the phase's checkpoint as if trained there: a resumed job restores it from its own dir
    assert RunDir(tmp_path / "second").phase_weights("warmup").is_file()
    _assert_same(trained, _train(tmp_path, "second", again := _untrainable()) and again)


@pytest.mark.parametrize("change", ["family key", "initial weights"])
def test_another_key_trains_again(tmp_path, capsys, change: str) -> None:
    _train(tmp_path, "first", _model())
    capsys.readouterr()
    if change == "family key":
        _train(tmp_path, "second", _model(), cache={**KEY, "data_sha256": "b"})
    else:
        _train(tmp_path, "second", _model(seed=2))
    assert f"Epoch {EPOCHS}/{EPOCHS}" in capsys.readouterr().out
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_a_phase_without_a_key_is_not_cached(tmp_path) -> None:
    _train(tmp_path, "first", _model(), cache=None)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("damage", ["weights", "entry"])
def test_a_damaged_entry_is_rebuilt_with_one_warning(tmp_path, capsys, caplog, damage: str) -> None:
    trained = _model()
    _train(tmp_path, "first", trained)
    (entry,) = (tmp_path / "cache").iterdir()
    target = entry / (WEIGHTS if damage == "weights" else ENTRY)
    target.write_bytes(target.read_bytes()[:-40] + b"x" * 40)
    capsys.readouterr()
    with caplog.at_level(logging.WARNING, logger="runner"):
        rebuilt = _model()
        _train(tmp_path, "second", rebuilt)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0] and str(entry) in warnings[0]
    assert "training the phase again" in warnings[0]
    assert f"Epoch {EPOCHS}/{EPOCHS}" in capsys.readouterr().out
    _assert_same(trained, rebuilt)  # the same training: the same weights
    assert json.loads((entry / ENTRY).read_text())["key"]["family"] == KEY  # the entry was written anew
    _train(tmp_path, "third", reused := _untrainable())
    _assert_same(trained, reused)


def test_a_policy_gradient_autoencoder_from_the_cache_leaves_the_agent_as_training_does(tmp_path, capsys) -> None:
    from adl_runner.kernel.agents import AgentContext
    from adl_runner.kernel.registry import ENVS, MODELS
    from adl_runner.runner.families import load_families

    load_families()
    entry, env_entry = MODELS.get("reinforce"), ENVS.get("mountaincar_continuous")
    options = entry.spec.options(ae_samples=110, ae_epochs=2, encoder_units=[8], latent_dim=4)

    def build(run: str, seed: int = 0):
        keras.utils.set_random_seed(seed)
        env = env_entry.build(env_entry.spec.options(max_episode_steps=5))
        phases = RunPhases(RunDir(tmp_path / run), TrainerConfig(verbose="line"), {"model": {"name": "reinforce"}},
                           cache=PhaseCache(tmp_path / "cache"))
        return entry.build(options, env, AgentContext(seed=seed, log=lambda *_: None, phases=phases))

    trained = build("first")
    assert "Epoch 2/2" in capsys.readouterr().out
    cached = build("second")  # a new run: restored from the cache, not trained
    assert "Epoch" not in capsys.readouterr().out
    for a, b in zip(trained.encoder.weights, cached.encoder.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert trained.ae_loss == cached.ae_loss
    assert trained.rng.bit_generator.state == cached.rng.bit_generator.state  # the episodes draw the same numbers
    build("other seed", seed=1)
    assert "Epoch 2/2" in capsys.readouterr().out  # other random states: another key
