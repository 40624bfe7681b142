"""InfoGAN and StackedGAN without the CLI: the book's parameter counts, loss weights, step
mechanics (which network each update moves), encoder pre-training, saving and sample controls."""

from __future__ import annotations

import dataclasses
import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.keras_state import seed_states
from adl_runner.kernel.phases import PlainPhases
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.gan import infogan, stackedgan  # noqa: F401  (registers them)
from adl_runner.models.gan.hooks import sample_inputs
from adl_runner.models.gan.infogan import InfoGANOptions, InfoGANSample
from adl_runner.models.gan.stackedgan import StackedGANOptions, StackedGANSample

MNIST = (28, 28, 1)


def _build(name: str, shape=(8, 8, 1), **options):
    entry = MODELS.get(name)
    model = entry.build(entry.spec.options(**options), BuildContext(0, shape, 10))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-2))
    return model


def _batch(n: int = 4, shape=(8, 8, 1)):
    rng = np.random.default_rng(0)
    images = rng.random((n, *shape)).astype("float32")
    labels = np.eye(10, dtype="float32")[np.arange(n) % 10]
    return keras.ops.convert_to_tensor(images), keras.ops.convert_to_tensor(labels)


def _values(variables) -> list[np.ndarray]:
    return [np.array(v) for v in variables]


def _moved(before: list[np.ndarray], variables) -> bool:
    return any(not np.array_equal(a, np.asarray(b)) for a, b in zip(before, variables))


# -- parameter counts --------------------------------------------------------------------------
def test_infogan_parameter_counts_with_the_62_dim_noise_it_runs_with() -> None:
    model = MODELS.get("infogan").build(InfoGANOptions(), BuildContext(0, MNIST, 10))
    assert model.input_names == ["z", "labels", "code1", "code2"] and model.latent_dim == 62
    assert model.generator.count_params() == 1_138_433  # Dense(74 -> 6272) + the shared G stack
    assert model.discriminator.count_params() == 1_606_541  # ACGAN's D + two Dense(1) code heads
    assert [model.discriminator.get_layer(name).units for name in ("label", "code1", "code2")] == [10, 1, 1]


def test_stackedgan_parameter_counts() -> None:
    model = MODELS.get("stackedgan").build(StackedGANOptions(), BuildContext(0, MNIST, 10))
    counts = {net.name: net.count_params() for net in (model.enc0, model.enc1, model.gen1, model.gen0,
                                                       model.discriminator, model.dis1)}
    assert counts == {"enc0": 840_640, "enc1": 2_570, "gen1": 429_312, "gen0": 2_593_537,
                      "dis0": 1_285_427, "dis1": 144_691}
    assert model.count_params() == sum(counts.values()) == 5_296_177
    assert model.input_names == ["labels", "z1", "z0"]  # gen1 then gen0, the book's test path
    assert model.gen1.inputs[0].shape[-1] + model.gen1.inputs[1].shape[-1] == 60  # not the comment's 62
    assert model.gen0.inputs[1].shape[-1] == 50 and tuple(model.enc0.outputs[0].shape) == (None, 256)


@pytest.mark.parametrize("cls", [InfoGANOptions, StackedGANOptions])
def test_every_option_field_has_a_docstring(cls) -> None:
    sources = [inspect.getsource(c) for c in cls.__mro__ if dataclasses.is_dataclass(c)]
    for field in dataclasses.fields(cls):
        assert any(f"    {field.name}:" in src and src.split(f"    {field.name}:", 1)[1].splitlines()[1].strip().startswith('"""')
                   for src in sources), field.name


@pytest.mark.parametrize("name, options, fragment", [
    ("infogan", {"code_weight": -0.5}, "code_weight must be >= 0"),
    ("stackedgan", {"encoder_epochs": -1}, "encoder_epochs must be >= 0"),
    ("stackedgan", {"entropy0_weight": -1.0}, "entropy0_weight must be >= 0"),
])
def test_bad_options_are_one_line_errors(name: str, options: dict, fragment: str) -> None:
    """Declared on the options (kernel.ranges), checked as the runner does before the build."""
    from adl_runner.runner.resolve import typed_values

    with pytest.raises(ConfigError, match=f"^model.{fragment}"):
        typed_values(MODELS.get(name).spec.options, options, "model")


# -- InfoGAN -----------------------------------------------------------------------------------
def test_infogan_losses_are_bce_plus_cce_plus_half_mi_per_code() -> None:
    model = _build("infogan")
    batch = 2
    labels = np.eye(10, dtype="float32")[[1, 2]]
    codes = {"code1": np.array([[0.3], [-0.2]], "float32"), "code2": np.array([[0.5], [0.1]], "float32")}
    conditions = {"labels": labels, **codes}
    probabilities = np.full((batch, 10), 0.05, "float32")
    probabilities[:, 1] = 0.55
    q1, q2 = np.array([[0.6], [0.4]], "float32"), np.array([[0.7], [0.2]], "float32")
    source = np.array([[0.8], [0.6]], "float32")
    logs = model.generator_losses([source, probabilities, q1, q2], conditions)
    eps = keras.config.epsilon()
    bce = -np.mean(np.log(source))
    cce = -np.mean(np.log(np.sum(labels * probabilities, axis=1)))
    mi = -np.mean(codes["code1"][:, 0] * np.log(q1[:, 0] + eps)) - np.mean(codes["code2"][:, 0] * np.log(q2[:, 0] + eps))
    assert float(logs["g_mi_loss"]) == pytest.approx(mi, rel=1e-5)
    assert float(logs["g_loss"]) == pytest.approx(bce + cce + 0.5 * mi, rel=1e-4)
    assert float(logs["g_label_acc"]) == 0.5  # argmax is 1 for both; only the first label is 1
    fake = model.discriminator_losses([source, probabilities, q1, q2], [1 - source, probabilities, q1, q2], conditions, conditions)
    d_bce = (-np.mean(np.log(source)) - np.mean(np.log(source))) / 2  # 1 - (1 - p) on the fake half
    assert float(fake["d_loss"]) == pytest.approx(d_bce + cce + 0.5 * mi, rel=1e-4)


def test_infogan_step_moves_both_networks_and_grids_hold_labels_and_codes() -> None:
    model = _build("infogan")
    names = [v.name for v in model.grid_inputs]
    assert names == ["grid_z", "grid_labels", "grid_code1", "grid_code2"]
    assert list(np.asarray(model.grid_inputs[1]).argmax(1)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]
    g, d = _values(model.generator.trainable_variables), _values(model.discriminator.trainable_variables)
    logs = model.train_step(_batch())
    assert set(logs) == {"d_loss", "d_label_acc", "d_mi_loss", "g_loss", "g_label_acc", "g_mi_loss", "d_acc", "d_real_acc", "d_fake_acc", "g_acc"}
    assert _moved(g, model.generator.trainable_variables) and _moved(d, model.discriminator.trainable_variables)


# -- StackedGAN --------------------------------------------------------------------------------
def test_a_stackedgan_step_makes_four_updates_and_leaves_the_encoder_alone() -> None:
    model = _build("stackedgan")
    nets = {"gen1": model.gen1, "gen0": model.gen0, "dis0": model.discriminator, "dis1": model.dis1,
            "enc0": model.enc0, "enc1": model.enc1}
    before = {name: _values(net.trainable_variables) for name, net in nets.items()}
    logs = model.train_step(_batch())
    assert set(logs) == {"dis1_loss", "dis0_loss", "adv1_loss", "enc1_acc", "adv0_loss", "encoder_acc"}
    optimizers = [model.d1_optimizer, model.d_optimizer, model.g1_optimizer, model.optimizer]
    assert len({id(o) for o in optimizers}) == 4 and [int(o.iterations) for o in optimizers] == [1, 1, 1, 1]
    moved = {name: _moved(before[name], net.trainable_variables) for name, net in nets.items()}
    assert moved == {"gen1": True, "gen0": True, "dis0": True, "dis1": True, "enc0": False, "enc1": False}
    # gen0's optimizer is the model's: its step counter is the runner's training step.
    assert model.optimizer.variables and len(model.optimizer.variables) != len(model.g1_optimizer.variables)


def test_stackedgan_entropy_weights_scale_the_q_losses() -> None:
    model = _build("stackedgan")
    images, _ = _batch()
    z0 = keras.random.normal((4, 50), seed=1)
    fakes = keras.random.uniform((4, 8, 8, 1), seed=2)
    book = float(model.dis0_losses(images, fakes, z0, training=False)["dis0_loss"])
    model.weights_["entropy0"] = 0.0
    without = float(model.dis0_losses(images, fakes, z0, training=False)["dis0_loss"])
    q_real, q_fake = model.discriminator(images)[1], model.discriminator(fakes)[1]
    entropy = (np.mean((np.asarray(z0) - np.asarray(q_real)) ** 2) + np.mean((np.asarray(z0) - np.asarray(q_fake)) ** 2)) / 2
    assert book - without == pytest.approx(10.0 * entropy, rel=1e-4)


def test_stackedgan_pretrains_its_encoder_and_saves_every_optimizer(tmp_path) -> None:
    model = _build("stackedgan", encoder_epochs=2)
    images, labels = _batch(16)
    stream = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8).repeat(2)
    enc0 = _values(model.enc0.trainable_variables)
    accuracy = model.pretrain(stream, 2, None, PlainPhases(verbose=0))
    assert 0.0 <= accuracy <= 1.0 and _moved(enc0, model.enc0.trainable_variables)
    model.train_step(_batch())
    model.save(tmp_path / "s.keras")
    loaded = keras.saving.load_model(tmp_path / "s.keras", safe_mode=True)
    for name in ("optimizer", "d_optimizer", "g1_optimizer", "d1_optimizer"):
        for a, b in zip(getattr(model, name).variables, getattr(loaded, name).variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(seed_states(model)["rng_0"], seed_states(loaded)["rng_0"])
    np.testing.assert_allclose(loaded.grid_images(), model.grid_images(), atol=1e-6)


def test_stackedgan_sample_controls_set_or_sweep_all_50_dims() -> None:
    generator = _build("stackedgan").generator
    rng = np.random.default_rng(0)
    (labels, z1, z0), suffix = sample_inputs(generator, StackedGANSample(label=3, z0="-4:4"), rng, "normal")
    assert suffix == "_label_3_z0_-4_to_4" and list(labels.argmax(1)) == [3] * 16
    assert z0.shape == (16, 50) and np.allclose(z0, np.linspace(-4, 4, 16)[:, None])  # the book's --p0
    assert z1.std() > 0.1  # random N(0, 0.5) when not given
    (_, z1, _), _ = sample_inputs(generator, StackedGANSample(z1="0.25"), rng, "normal")
    assert np.all(z1 == 0.25)
    with pytest.raises(ConfigError, match="sample.z0='4:' does not parse.*-4:4"):
        sample_inputs(generator, StackedGANSample(z0="4:"), rng, "normal")
    with pytest.raises(IncompatibleError, match="sample.code1 needs .*InfoGAN"):
        sample_inputs(generator, InfoGANSample(code1="0"), rng, "normal")
    with pytest.raises(IncompatibleError, match="sample.z0 needs .*StackedGAN"):
        sample_inputs(_build("infogan").generator, StackedGANSample(z0="0"), rng, "uniform")
