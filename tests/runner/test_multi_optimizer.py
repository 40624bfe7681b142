"""Learning-rate control of models with several optimizers: the step schedule, the plateau reduction
and the NaN roll-back set every optimizer at its scale of the configured rate (a GAN's G at half D's)."""

from __future__ import annotations

import keras
import pytest

from adl_runner.kernel.custom_step import CustomStepModel, scaled_optimizers
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext
from adl_runner.models import vae  # noqa: F401  (registers them)
from adl_runner.models.gan import acgan, cgan, cyclegan, dcgan, infogan, lsgan, mlp_gan, stackedgan, wgan  # noqa: F401
from adl_runner.models.gan.cyclegan import CycleGANOptions, build_cyclegan
from adl_runner.runner.callbacks import LearningRateControl, lower_learning_rate
from adl_runner.runner.schema import LRScheduleConfig, PlateauConfig

BASE_LR = 2e-4
STEP_AT_6 = LRScheduleConfig(boundaries=[5], factors=[1.0, 0.1])


def _dcgan() -> keras.Model:
    entry = MODELS.get("dcgan")
    model = entry.build(entry.spec.options(), BuildContext(0, (8, 8, 1), 10))
    model.compile(optimizer=keras.optimizers.RMSprop(BASE_LR))
    return model


def _rates(model: keras.Model) -> dict[str, float]:
    return {name: float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            for name, (optimizer, _) in scaled_optimizers(model).items()}


def _epoch(control: LearningRateControl, epoch: int, val_loss: float = 1.0) -> dict[str, float]:
    """One epoch of the callback; the rates the epoch trained at."""
    control.on_epoch_begin(epoch)
    rates = _rates(control.model)
    control.on_epoch_end(epoch, {"val_loss": val_loss})
    return rates


def test_dcgan_d_and_g_follow_the_step_schedule_with_g_at_half_ds_rate() -> None:
    control = LearningRateControl(BASE_LR, STEP_AT_6, PlateauConfig())
    control.set_model(_dcgan())
    assert _epoch(control, 0) == pytest.approx({"discriminator": 2e-4, "generator": 1e-4})
    assert _epoch(control, 6) == pytest.approx({"discriminator": 2e-5, "generator": 1e-5})


def test_a_plateau_reduction_lowers_d_and_g_and_keeps_their_ratio() -> None:
    control = LearningRateControl(BASE_LR, LRScheduleConfig(), PlateauConfig(enabled=True, factor=0.5, patience=1))
    control.set_model(_dcgan())
    logs: dict[str, float] = {"val_loss": 1.0}
    control.on_epoch_begin(0)
    control.on_epoch_end(0, logs)
    assert logs["learning_rate"] == pytest.approx(2e-4)  # the configured (D's) rate, not G's
    _epoch(control, 1)  # no improvement: x0.5 from epoch 2
    assert _epoch(control, 2) == pytest.approx({"discriminator": 1e-4, "generator": 5e-5})


def test_a_nan_roll_back_under_the_schedule_lowers_d_and_g() -> None:
    control = LearningRateControl(BASE_LR, STEP_AT_6, PlateauConfig())
    control.set_model(_dcgan())
    _epoch(control, 0)
    lower_learning_rate(control.model, 0.1, control)
    control.set_model(_dcgan())  # the roll-back trains on the reloaded checkpoint
    assert _epoch(control, 1) == pytest.approx({"discriminator": 2e-5, "generator": 1e-5})


def test_a_nan_roll_back_without_a_schedule_lowers_d_and_g_below_the_previous_roll_back() -> None:
    model = _dcgan()
    assert lower_learning_rate(model, 0.1, None) == pytest.approx(2e-5)
    assert _rates(model) == pytest.approx({"discriminator": 2e-5, "generator": 1e-5})
    reloaded = _dcgan()  # a checkpoint from before the first roll-back, at the original rates
    assert lower_learning_rate(reloaded, 0.1, None, before=2e-5) == pytest.approx(2e-6)
    assert _rates(reloaded) == pytest.approx({"discriminator": 2e-6, "generator": 1e-6})


def test_a_nan_roll_back_lowers_both_decay_schedules_from_their_own_initial_rates() -> None:
    entry = MODELS.get("dcgan")
    model = entry.build(entry.spec.options(), BuildContext(0, (8, 8, 1), 10))
    model.compile(optimizer=keras.optimizers.RMSprop(
        keras.optimizers.schedules.InverseTimeDecay(BASE_LR, decay_steps=1, decay_rate=6e-8)))
    lower_learning_rate(model, 0.1, None)
    configs = {name: optimizer._learning_rate.get_config() for name, (optimizer, _) in scaled_optimizers(model).items()}
    assert configs["discriminator"]["initial_learning_rate"] == pytest.approx(2e-5)
    assert configs["generator"]["initial_learning_rate"] == pytest.approx(1e-5)
    assert configs["generator"]["decay_rate"] == pytest.approx(3e-8)  # G's halved decay is kept


def test_cyclegan_discriminators_and_generators_follow_the_schedule_with_their_scales() -> None:
    model = build_cyclegan(CycleGANOptions(grid_size=4, g_lr_scale=0.25), BuildContext(0, (16, 16, 1), 10))
    model.compile(optimizer=keras.optimizers.RMSprop(BASE_LR))
    control = LearningRateControl(BASE_LR, STEP_AT_6, PlateauConfig())
    control.set_model(model)
    assert _epoch(control, 0) == pytest.approx({"d_target": 2e-4, "d_source": 2e-4, "generators": 5e-5})
    assert _epoch(control, 6) == pytest.approx({"d_target": 2e-5, "d_source": 2e-5, "generators": 5e-6})


BOOK = {"discriminator": 1.0, "generator": 0.5}


@pytest.mark.parametrize("name, shape, scales", [
    *[(name, (8, 8, 1), BOOK) for name in ("dcgan", "lsgan", "cgan", "acgan", "infogan")],
    ("wgan", (8, 8, 1), {"discriminator": 1.0, "generator": 1.0}),
    ("gan_mlp", (64,), {"discriminator": 1.0, "generator": 1.0}),
    ("stackedgan", (8, 8, 1), {"dis0": 1.0, "dis1": 1.0, "gen0": 0.5, "gen1": 0.5}),
    ("cyclegan", (16, 16, 1), {"d_target": 1.0, "d_source": 1.0, "generators": 0.5}),
    ("vae_mlp", (64,), {"optimizer": 1.0}),
])
def test_every_custom_step_family_lists_all_its_optimizers_with_their_scales(name: str, shape, scales) -> None:
    entry = MODELS.get(name)
    model = entry.build(entry.spec.options(), BuildContext(0, shape, 10))
    model.compile(optimizer=keras.optimizers.RMSprop(BASE_LR))
    listed = scaled_optimizers(model)  # raises on an optimizer left out
    assert {key: scale for key, (_, scale) in listed.items()} == scales
    assert len({id(optimizer) for optimizer, _ in listed.values()}) == len(scales)


class _HiddenOptimizer(CustomStepModel):
    """A model whose step would also apply an optimizer it does not list."""

    def __init__(self) -> None:
        super().__init__(name="hidden")
        self.dense = keras.layers.Dense(1)
        self.second_optimizer = keras.optimizers.SGD(0.1)

    def call(self, inputs):
        return self.dense(inputs)


def test_an_optimizer_the_model_does_not_list_is_refused_in_one_line() -> None:
    model = _HiddenOptimizer()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    control = LearningRateControl(0.1, STEP_AT_6, PlateauConfig())
    control.set_model(model)
    with pytest.raises(ConfigError, match="cannot set the learning rate of hidden's second_optimizer, which its "
                                          "scaled_optimizers\\(\\) does not list") as error:
        control.on_epoch_begin(0)
    assert "\n" not in str(error.value)


def test_a_plain_keras_model_is_its_one_optimizer_at_scale_one() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    assert scaled_optimizers(model) == {"optimizer": (model.optimizer, 1.0)}
