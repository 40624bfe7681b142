"""The learning-rate control: step schedule x plateau multiplier, and the book's overwrite."""

from __future__ import annotations

import keras
import pytest

from adl_runner.runner.callbacks import LearningRateControl
from adl_runner.runner.schema import LRScheduleConfig, PlateauConfig


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    return model


def _drive(control: LearningRateControl, val_losses: list[float]) -> list[float]:
    """Run the callback over epochs whose val_loss is given; return the lr each epoch used."""
    control.set_model(_model())
    used = []
    for epoch, loss in enumerate(val_losses):
        control.on_epoch_begin(epoch)
        used.append(float(keras.ops.convert_to_numpy(control.model.optimizer.learning_rate)))
        control.on_epoch_end(epoch, {"val_loss": loss})
    return used


def test_book_step_schedule() -> None:
    schedule = LRScheduleConfig(boundaries=[80, 120, 160, 180], factors=[1.0, 0.1, 0.01, 0.001, 0.0005])
    control = LearningRateControl(1e-3, schedule, PlateauConfig())
    assert [control.schedule_factor(e) for e in (0, 80, 81, 120, 121, 161, 181)] == [1.0, 1.0, 0.1, 0.1, 0.01, 0.001, 0.0005]


def test_plateau_reduction_persists_and_multiplies_the_schedule() -> None:
    plateau = PlateauConfig(enabled=True, factor=0.5, patience=2, min_lr=0.01)
    control = LearningRateControl(1.0, LRScheduleConfig(boundaries=[3], factors=[1.0, 0.1]), plateau)
    used = _drive(control, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # epochs 1-2 do not improve -> x0.5 from epoch 3; the schedule drops to x0.1 after epoch 3;
    # epochs 3-4 do not improve -> x0.25 from epoch 5
    assert used == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.05, 0.025])


def test_book_compat_lets_the_schedule_overwrite_each_reduction() -> None:
    plateau = PlateauConfig(enabled=True, factor=0.5, patience=1, book_compat=True)
    control = LearningRateControl(1.0, LRScheduleConfig(), plateau)
    assert _drive(control, [1.0, 1.0, 1.0, 1.0]) == pytest.approx([1.0, 1.0, 1.0, 1.0])


def test_state_round_trip_for_resume() -> None:
    plateau = PlateauConfig(enabled=True, factor=0.5, patience=1)
    control = LearningRateControl(1.0, LRScheduleConfig(), plateau)
    _drive(control, [1.0, 2.0, 3.0])
    restored = LearningRateControl(1.0, LRScheduleConfig(), plateau)
    restored.set_state(control.get_state())
    assert restored.get_state() == control.get_state()
    assert restored.current_lr(3) == control.current_lr(3) < 1.0
