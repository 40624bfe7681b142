"""The GAN family without the CLI: the book's parameter counts, options, losses and step mechanics."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from adl_runner.kernel.custom_step import scaled_optimizer
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.gan import acgan, cgan, dcgan, lsgan, mlp_gan, stackedgan, wgan  # noqa: F401  (registers them)
from adl_runner.models.gan.hooks import parse_code
from adl_runner.models.gan.options import BookGANOptions, WGANOptions
from adl_runner.runner.resolve import typed_values
from adl_runner.runner.schema import TrainerConfig

MNIST = (28, 28, 1)


@pytest.mark.parametrize(
    "name, shape, generator_params, discriminator_params",
    [
        ("dcgan", MNIST, 1_301_505, 1_080_577),
        ("lsgan", MNIST, 1_301_505, 1_080_577),
        ("wgan", MNIST, 1_301_505, 1_080_577),
        ("cgan", MNIST, 1_364_225, 1_090_001),
        ("acgan", MNIST, 1_364_225, 1_606_283),
        ("gan_mlp", (784,), 296_434, 280_801),
    ],
)
def test_book_parameter_counts(name: str, shape, generator_params: int, discriminator_params: int) -> None:
    entry = MODELS.get(name)
    model = entry.build(entry.spec.options(), BuildContext(0, shape, 10))
    assert model.generator.count_params() == generator_params
    assert model.discriminator.count_params() == discriminator_params
    assert model.count_params() == generator_params + discriminator_params
    if name != "gan_mlp":  # BatchNorm moving statistics: (128 + 128 + 64 + 32) x 2
        assert sum(int(np.prod(w.shape)) for w in model.generator.non_trainable_weights) == 704


@pytest.mark.parametrize("cls", [BookGANOptions, WGANOptions, mlp_gan.MLPGANOptions])
def test_every_option_field_has_a_docstring(cls) -> None:
    import inspect

    sources = [inspect.getsource(c) for c in cls.__mro__ if dataclasses.is_dataclass(c)]
    for field in dataclasses.fields(cls):
        documented = [src for src in sources if f"    {field.name}:" in src
                      and src.split(f"    {field.name}:", 1)[1].splitlines()[1].strip().startswith('"""')]
        assert documented, field.name


def test_the_generator_optimizer_gets_half_the_lr_and_decay() -> None:
    schedule = keras.optimizers.schedules.InverseTimeDecay(2e-4, decay_steps=1, decay_rate=6e-8)
    half = scaled_optimizer(keras.optimizers.RMSprop(schedule), 0.5)
    config = half.get_config()["learning_rate"]["config"]
    assert config["initial_learning_rate"] == pytest.approx(1e-4) and config["decay_rate"] == pytest.approx(3e-8)
    assert scaled_optimizer(keras.optimizers.Adam(1e-4), 1.0).get_config()["learning_rate"] == pytest.approx(1e-4)


def _tiny(name: str, **options):
    entry = MODELS.get(name)
    model = entry.build(entry.spec.options(**options), BuildContext(0, (8, 8, 1), 10))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-2))
    return model


def test_a_wgan_step_trains_the_critic_n_times_and_clips_it() -> None:
    model = _tiny("wgan", n_critic=3, clip_value=0.01)
    images = np.random.default_rng(0).random((3 * 4, 8, 8, 1)).astype("float32")
    logs = model.train_step(keras.ops.convert_to_tensor(images))
    assert set(logs) == {"d_loss", "d_real", "d_fake", "g_loss", "d_acc", "d_real_acc", "d_fake_acc", "g_acc"}
    assert int(model.d_optimizer.iterations) == 6 and int(model.optimizer.iterations) == 1  # 2 updates per critic step
    for weight in model.discriminator.trainable_weights:
        assert float(np.abs(np.asarray(weight)).max()) <= 0.01 + 1e-7


class _ModeSpy:
    """Stands in for a network and records the `training` flag of every call."""

    def __init__(self, network, modes: list) -> None:
        self.network, self.modes = network, modes

    def __call__(self, inputs, training=False):
        self.modes.append(training)
        return self.network(inputs, training=training)

    def __getattr__(self, name: str):
        return getattr(self.network, name)


@pytest.mark.parametrize("book", [False, True])
@pytest.mark.parametrize("name, generators, calls", [
    ("wgan", ("generator",), ["fakes", "fakes", "g"]),  # n_critic 2: two critic steps, one G step
    ("stackedgan", ("gen1", "gen0"), ["fakes", "fakes", "g", "g"]),  # dis1, dis0, adv1, adv0
])
def test_the_discriminators_fakes_come_from_a_generator_in_training_mode_unless_the_book_switch_is_on(
        name: str, generators: tuple[str, ...], calls: list[str], book: bool, monkeypatch) -> None:
    options = {"n_critic": 2} if name == "wgan" else {}
    model = _tiny(name, book_inference_fakes=book, **options)
    modes: list = []
    for attribute in generators:  # a class property outranks the instance's attribute; monkeypatch undoes it
        spy = _ModeSpy(getattr(model, attribute), modes)
        monkeypatch.setattr(type(model), attribute, property(lambda self, spy=spy: spy), raising=False)
    images = np.random.default_rng(0).random((2 * 4 if name == "wgan" else 4, 8, 8, 1)).astype("float32")
    labels = np.eye(10, dtype="float32")[np.arange(len(images)) % 10]
    model.train_step(keras.ops.convert_to_tensor(images) if name == "wgan"
                     else (keras.ops.convert_to_tensor(images), keras.ops.convert_to_tensor(labels)))
    assert modes == [call == "g" or not book for call in calls]


class _BatchSpy:
    """Stands in for D and records (batch size, training flag) of every call."""

    def __init__(self, network, calls: list) -> None:
        self.network, self.calls = network, calls

    def __call__(self, inputs, training=False):
        first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        self.calls.append((int(first.shape[0]), bool(training)))
        return self.network(inputs, training=training)

    def __getattr__(self, name: str):
        return getattr(self.network, name)


@pytest.mark.parametrize("name", ["dcgan", "cgan", "acgan"])
@pytest.mark.parametrize("book", [False, True])
def test_the_batch_norm_switch_trains_d_as_the_book_did(name: str, book: bool) -> None:
    """Fig 5.1.5's switch: D's update sees [real; fake] as one batch (BatchNorm statistics over
    both) and G's update runs D in inference mode, as the book's frozen D; without it, two halves
    and training mode."""
    model = _tiny(name, discriminator_batch_norm=book)
    calls: list = []
    model.discriminator = _BatchSpy(model.discriminator, calls)
    images = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    labels = np.eye(10, dtype="float32")[[1, 2, 3, 4]]
    logs = model.train_step((keras.ops.convert_to_tensor(images), keras.ops.convert_to_tensor(labels)))
    assert calls == ([(8, True), (4, False)] if book else [(4, True), (4, True), (4, True)])
    assert all(np.isfinite(float(v)) for v in logs.values())


def test_the_batch_norm_switch_makes_wgan_clip_the_moving_statistics_too() -> None:
    model = _tiny("wgan", n_critic=1, clip_value=0.01, discriminator_batch_norm=True)
    model.train_step(keras.ops.convert_to_tensor(np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")))
    moving = [w for w in model.discriminator.weights if "moving" in w.path]
    assert moving and all(float(np.abs(np.asarray(w)).max()) <= 0.01 + 1e-7 for w in model.discriminator.weights)


def test_accuracies_are_the_share_d_judges_right() -> None:
    model = _tiny("dcgan")
    sure = keras.ops.convert_to_tensor(np.array([[0.9], [0.8], [0.2], [0.7]], "float32"))
    fooled = keras.ops.convert_to_tensor(np.array([[0.6], [0.1], [0.3], [0.4]], "float32"))
    accuracies = {k: float(v) for k, v in model.discriminator_accuracies(sure, fooled).items()}
    assert accuracies == pytest.approx({"d_real_acc": 0.75, "d_fake_acc": 0.75, "d_acc": 0.75})
    assert float(_tiny("wgan").judged_real(keras.ops.convert_to_tensor(np.array([[0.1], [-0.1]], "float32")))) == 0.5


def test_the_book_log_switch_prints_the_books_line_every_step(capfd) -> None:
    model = _tiny("dcgan", book_log=True)
    images = keras.ops.convert_to_tensor(np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32"))
    model.train_step(images)
    model.train_step(images)
    lines = [line for line in capfd.readouterr().out.splitlines() if "adversarial" in line]
    assert [line.split(":")[0] for line in lines] == ["0", "1"]
    assert lines[0].startswith("0: [discriminator loss: ") and "] [adversarial loss: " in lines[0] and ", acc: " in lines[0]


def test_acgan_and_cgan_steps_use_the_labels() -> None:
    images = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    labels = np.eye(10, dtype="float32")[[1, 2, 3, 4]]
    for name in ("acgan", "cgan"):
        model = _tiny(name)
        logs = model.train_step((keras.ops.convert_to_tensor(images), keras.ops.convert_to_tensor(labels)))
        assert all(np.isfinite(float(v)) for v in logs.values())
        # ACGAN's D classifies the digit of real and of fake images; CGAN's D only judges real/fake
        assert ({"d_label_acc", "d_fake_label_acc"} <= set(logs)) == (name == "acgan")


def test_grid_inputs_are_fixed_and_saved_with_the_model(tmp_path) -> None:
    model = _tiny("acgan")
    first = model.grid_images()
    np.testing.assert_array_equal(first, model.grid_images())
    labels = np.asarray(model.grid_inputs[1])
    assert list(labels.argmax(axis=1)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]  # the book's grid labels
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.grid_images(), first, atol=1e-6)


def test_mlp_gan_works_in_signed_pixels_and_grids_come_back_in_unit_range() -> None:
    model = MODELS.get("gan_mlp").build(mlp_gan.MLPGANOptions(), BuildContext(0, (64,), 10))
    images = model.grid_images()
    assert images.shape == (36, 8, 8, 1) and images.min() >= 0.0 and images.max() <= 1.0


@pytest.mark.parametrize(
    "text, expected",
    [("0.5", [0.5, 0.5, 0.5]), ("-2:2", [-2.0, 0.0, 2.0]), ("1", [1.0, 1.0, 1.0])],
)
def test_code_values_and_sweeps_parse(text: str, expected: list[float]) -> None:
    np.testing.assert_allclose(parse_code(text, "sample.code1", 3)[:, 0], expected)


@pytest.mark.parametrize("text", ["abc", "1:2:3", "-2:", ":"])
def test_bad_code_ranges_are_one_line_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="sample.code1=.* does not parse; give a number"):
        parse_code(text, "sample.code1", 4)


@pytest.mark.parametrize(
    "name, shape, options, error, fragment",
    [
        ("dcgan", (30, 30, 1), {}, ConfigError, "multiple of 4"),
        ("dcgan", (784,), {}, IncompatibleError, "image inputs"),
        ("wgan", MNIST, {"n_critic": 0}, ConfigError, "n_critic must be >= 1"),
        ("wgan", MNIST, {"clip_value": 0.0}, ConfigError, "clip_value must be > 0"),
        ("gan_mlp", (784,), {"g_loss": "minimax"}, ConfigError, "model.g_loss must be non_saturating or saturating"),
        ("stackedgan", MNIST, {"book_log": True}, ConfigError, "book_log prints the one-D line"),
    ],
)
def test_bad_options_and_shapes_are_one_line_errors(name, shape, options, error, fragment) -> None:
    entry = MODELS.get(name)
    with pytest.raises(error, match=fragment):  # the options' declared ranges, then the build, as the runner does
        entry.build(typed_values(entry.spec.options, options, "model"), BuildContext(0, shape, 10))


def test_steps_define_the_epochs_of_a_step_based_run() -> None:
    trainer = TrainerConfig(steps=40_000, steps_per_epoch=500)
    assert trainer.epochs == 80 and trainer.steps_per_epoch == 500
    assert TrainerConfig(steps=3, steps_per_epoch=500).steps_per_epoch == 3  # a short run is one interval
    with pytest.raises(ConfigError, match="needs trainer.steps_per_epoch"):
        TrainerConfig(steps=10)
    with pytest.raises(ConfigError, match="not a multiple"):
        TrainerConfig(steps=1001, steps_per_epoch=500)


def test_quality_is_measured_first_every_n_and_last() -> None:
    from adl_runner.runner.callbacks import QualityMonitor

    calls: list[int] = []
    monitor = QualityMonitor(lambda model: calls.append(len(calls)) or {"fid": 1.0}, every=3, last_epoch=7)
    logged = []
    for epoch in range(2, 7):  # a resumed run: epochs 3..7
        logs: dict = {}
        monitor.on_epoch_end(epoch, logs)
        logged.append("fid" in logs)
    assert logged == [True, False, False, True, True]  # first of this invocation, epoch 6 (every 3), the last


def test_measurement_inputs_are_fixed_and_cycle_the_labels() -> None:
    from adl_runner.models.gan.quality import measurement_inputs

    model = _tiny("acgan")
    (z1, labels1), labels = measurement_inputs(model.generator, 12)
    (z2, _), _ = measurement_inputs(model.generator, 12)
    np.testing.assert_array_equal(z1, z2)
    assert list(labels) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1] and labels1.argmax(axis=1).tolist() == list(labels)


def test_a_nan_in_either_gan_loss_stops_with_the_step(tmp_path) -> None:
    from adl_runner.kernel.errors import RunnerError
    from adl_runner.runner.callbacks import StopOnNaN
    from adl_runner.runner.rundir import RunDir

    guard = StopOnNaN(RunDir(tmp_path))
    guard.on_epoch_begin(3)
    guard.on_train_batch_end(0, {"d_loss": 0.7, "g_loss": 0.8, "d_label_acc": 0.5})
    with pytest.raises(RunnerError, match=r"g_loss became nan at epoch 4, step 12; stopped \(last good checkpoint: none yet\)"):
        guard.on_train_batch_end(11, {"d_loss": 0.7, "g_loss": float("nan")})
