"""The runner's pre-training phases: progress lines, the NaN guard, an exact resume, no redo."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_runner.kernel.errors import RunnerError
from adl_runner.runner.callbacks import LossDiverged
from adl_runner.runner.phases import RunPhases
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import TrainerConfig

EPOCHS, STEPS = 4, 3


def _model() -> keras.Model:
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.2),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def _stream(poison_at: int | None = None) -> tf.data.Dataset:
    x = np.random.default_rng(0).normal(size=(EPOCHS * STEPS * 4, 5)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    if poison_at is not None:
        y[poison_at] = np.nan
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(4)


class KilledAfter(keras.callbacks.Callback):
    """Simulates a kill once `epochs` epochs are checkpointed (a callback after the checkpoint's)."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


def _phases(tmp_path, model_config: str = "tiny") -> RunPhases:
    return RunPhases(RunDir(tmp_path), TrainerConfig(verbose="line"), {"model": {"name": model_config}})


def test_a_phase_prints_one_line_per_epoch_and_checkpoints_it(tmp_path, capsys) -> None:
    history = _phases(tmp_path).train("warmup", _model(), _stream(), epochs=EPOCHS, steps_per_epoch=STEPS)
    out = capsys.readouterr().out
    assert [f"Epoch {e}/{EPOCHS}" in out for e in range(1, EPOCHS + 1)] == [True] * EPOCHS
    assert len(history["loss"]) == EPOCHS
    assert RunDir(tmp_path).phase_weights("warmup").exists()


@pytest.mark.parametrize("epoch", [1, 2])
def test_a_nan_in_a_phase_is_one_error_naming_the_phase_and_keeps_its_completed_epochs(tmp_path, epoch: int) -> None:
    rundir = RunDir(tmp_path / "run")
    rundir.path.mkdir()  # a fresh run dir, which a failed setup removes
    with pytest.raises(LossDiverged) as caught, rundir.removed_if_failed_fresh():
        _phases(rundir.path).train("warmup", _model(), _stream(poison_at=(epoch - 1) * STEPS * 4 + 1), epochs=EPOCHS,
                                   steps_per_epoch=STEPS)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"phase warmup: loss became nan at epoch {epoch}, step 1")
    if epoch == 1:
        assert "no epoch of it completed" in message and not rundir.path.exists()
    else:
        assert f"kept: its checkpoint after epoch 1, {rundir.phase_weights('warmup')}" in message
        assert rundir.phase_weights("warmup").exists()


def test_a_killed_phase_resumes_exactly_and_a_done_phase_is_not_redone(tmp_path, monkeypatch) -> None:
    whole = _model()
    _phases(tmp_path / "whole").train("warmup", whole, _stream(), epochs=EPOCHS, steps_per_epoch=STEPS)

    killed = _model()
    fit = killed.fit
    monkeypatch.setattr(killed, "fit", lambda *a, callbacks, **k: fit(*a, callbacks=[*callbacks, KilledAfter(2)], **k))
    with pytest.raises(KeyboardInterrupt):
        _phases(tmp_path / "killed").train("warmup", killed, _stream(), epochs=EPOCHS, steps_per_epoch=STEPS)
    resumed = _model()  # the next job builds the model afresh
    history = _phases(tmp_path / "killed").train("warmup", resumed, _stream(), epochs=EPOCHS, steps_per_epoch=STEPS)
    assert len(history["loss"]) == EPOCHS
    for a, b in zip(whole.weights + whole.optimizer.variables, resumed.weights + resumed.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)

    again = _model()
    again.fit = None  # a completed phase is restored, never trained again
    _phases(tmp_path / "killed").train("warmup", again, _stream(), epochs=EPOCHS, steps_per_epoch=STEPS)
    for a, b in zip(whole.weights, again.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_phase_checkpoint_of_another_config_is_refused_in_one_line(tmp_path) -> None:
    _phases(tmp_path).train("warmup", _model(), _stream(), epochs=1, steps_per_epoch=STEPS)
    with pytest.raises(RunnerError) as caught:
        _phases(tmp_path, model_config="wide").train("warmup", _model(), _stream(), epochs=EPOCHS, steps_per_epoch=STEPS)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"phase warmup: {RunDir(tmp_path).phase_weights('warmup')} was trained with a different model config")


def test_the_policy_gradient_state_autoencoder_is_a_phase_restored_on_a_rebuild(tmp_path, capsys) -> None:
    from adl_runner.kernel.agents import AgentContext
    from adl_runner.kernel.registry import ENVS, MODELS
    from adl_runner.runner.families import load_families

    load_families()
    entry, env_entry = MODELS.get("reinforce"), ENVS.get("mountaincar_continuous")
    options = entry.spec.options(ae_samples=110, ae_epochs=2, encoder_units=[8], latent_dim=4)

    def build():
        env = env_entry.build(env_entry.spec.options(max_episode_steps=5))
        return entry.build(options, env, AgentContext(seed=0, log=lambda *_: None, phases=_phases(tmp_path)))

    first = build()
    assert "Epoch 2/2" in capsys.readouterr().out
    second = build()  # a resumed job builds the agent again: the phase is restored, not retrained
    assert "Epoch" not in capsys.readouterr().out
    for a, b in zip(first.encoder.weights, second.encoder.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
