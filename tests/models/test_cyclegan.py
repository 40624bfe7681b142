"""CycleGAN without the CLI: the book's stacks (parameter counts from the spec's layers), PatchGAN
shape, losses, one fused step that moves all four networks, option errors, safe-mode save/load."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import keras
import numpy as np
import pytest

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.hooks import SampleConfig
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.gan import losses
from adl_runner.models.gan.cyclegan import CycleGAN, CycleGANOptions, build_cyclegan, sample_cyclegan

GRAY, COLOR = (32, 32, 1), (32, 32, 3)


def conv(k: int, c_in: int, c_out: int) -> int:
    """Kernel and bias of a Conv2D or Conv2DTranspose."""
    return k * k * c_in * c_out + c_out


def instance_norm(channels: int) -> int:
    return 2 * channels  # gamma and beta per channel


def unet_params(k: int, c_in: int, c_out: int) -> int:
    """The spec's generator table: IN before every encoder/decoder conv (e1's on the raw image)."""
    encoders = [(c_in, 32), (32, 64), (64, 128), (128, 256)]
    decoders = [(256, 128), (256, 64), (128, 32)]  # inputs are the previous layer concatenated with its skip
    total = sum(instance_norm(a) + conv(k, a, b) for a, b in encoders + decoders)
    return total + conv(k, 64, c_out)  # the sigmoid output on d3 (32 + e1's 32 channels)


def discriminator_params(k: int, c_in: int, patchgan: bool) -> int:
    trunk = conv(k, c_in, 32) + conv(k, 32, 64) + conv(k, 64, 128) + conv(k, 128, 256)  # no IN
    return trunk + (conv(k, 256, 1) if patchgan else 4 * 4 * 256 + 1)


@pytest.mark.parametrize("discriminator, kernel, source, d_target, d_source", [
    ("patchgan", 3, GRAY, 390_721, 390_145),
    ("plain", 3, GRAY, 392_513, 391_937),
    ("patchgan", 5, GRAY, 1_084_481, 1_082_881),
])
def test_book_parameter_counts(discriminator: str, kernel: int, source, d_target: int, d_source: int) -> None:
    model = build_cyclegan(CycleGANOptions(discriminator=discriminator, kernel_size=kernel), BuildContext(0, source, 10))
    patchgan = discriminator == "patchgan"
    assert model.d_target.count_params() == discriminator_params(kernel, 3, patchgan) == d_target
    assert model.d_source.count_params() == discriminator_params(kernel, 1, patchgan) == d_source
    assert model.g_target.count_params() == unet_params(kernel, 1, 3)
    assert model.g_source.count_params() == unet_params(kernel, 3, 1)
    if kernel == 3:  # gray -> colour CIFAR, the config's default
        assert (model.g_target.count_params(), model.g_source.count_params()) == (870_757, 870_183)
    assert model.count_params() == sum(n.count_params() for n in (model.g_target, model.g_source, model.d_target, model.d_source))


def test_shapes_and_instance_norm() -> None:
    model = build_cyclegan(CycleGANOptions(), BuildContext(0, GRAY, 10))
    assert model.g_target.output_shape == (None, *COLOR) and model.g_source.output_shape == (None, *GRAY)
    assert model.d_target.output_shape == (None, 2, 2, 1)  # the 2x2 PatchGAN
    assert build_cyclegan(CycleGANOptions(discriminator="plain"), BuildContext(0, GRAY, 10)).d_target.output_shape == (None, 1)
    norms = [layer for layer in model.g_target.layers if isinstance(layer, keras.layers.GroupNormalization)]
    assert len(norms) == 7 and all(n.groups == n.input.shape[-1] and n.epsilon == 1e-3 for n in norms)  # e1-e4, d1-d3: one group per channel
    assert not any(isinstance(layer, keras.layers.GroupNormalization) for layer in model.d_target.layers)
    assert model.g_target.layers[-1].activation is keras.activations.sigmoid
    # Per-example statistics: an image's output does not depend on the rest of its batch.
    images = np.random.default_rng(0).random((3, *GRAY)).astype("float32")
    np.testing.assert_allclose(model.g_target(images)[:1], model.g_target(images[:1]), atol=1e-5)


@pytest.mark.parametrize("options, fragments", [
    ({"discriminator": "foo"}, ["model.discriminator", "'foo'", "patchgan or plain"]),
    ({"kernel_size": 0}, ["model.kernel_size", ">= 1"]),
    ({"cycle_weight": -1.0}, ["model.cycle_weight", ">= 0"]),
    ({"g_lr_scale": 0.0}, ["model.g_lr_scale"]),
])
def test_bad_options_name_the_key(options: dict, fragments: list[str]) -> None:
    from adl_runner.runner.resolve import typed_values

    with pytest.raises(ConfigError) as error:  # declared on CycleGANOptions, checked before the build
        typed_values(CycleGANOptions, options, "model")
    for fragment in fragments:
        assert fragment in str(error.value)


def test_incompatible_inputs_are_refused() -> None:
    with pytest.raises(IncompatibleError, match="multiples of 16.*28x28"):
        build_cyclegan(CycleGANOptions(), BuildContext(0, (28, 28, 1), 10))
    with pytest.raises(IncompatibleError, match="same channels"):
        build_cyclegan(CycleGANOptions(identity=True), BuildContext(0, GRAY, 10))
    model = build_cyclegan(CycleGANOptions(grid_size=4), BuildContext(0, GRAY, 10))
    with pytest.raises(IncompatibleError, match="target_channels"):
        model.keep_test_images(np.zeros((4, *GRAY)), np.zeros((4, *GRAY)))
    with pytest.raises(IncompatibleError, match="model.grid_size=4 .* has 2"):
        model.keep_test_images(np.zeros((2, *GRAY)), np.zeros((2, *COLOR)))


def test_every_option_field_has_a_docstring() -> None:
    source = inspect.getsource(CycleGANOptions)
    for field in dataclasses.fields(CycleGANOptions):
        assert source.split(f"    {field.name}:", 1)[1].splitlines()[1].strip().startswith('"""'), field.name


def _batch(seed: int = 0, n: int = 4, source=GRAY, target=COLOR):
    rng = np.random.default_rng(seed)
    return (keras.ops.convert_to_tensor(rng.random((n, *source)).astype("float32")),
            keras.ops.convert_to_tensor(rng.random((n, *target)).astype("float32")))


def _compiled(**options) -> CycleGAN:
    model = build_cyclegan(CycleGANOptions(grid_size=4, **options), BuildContext(0, GRAY, 10))
    schedule = keras.optimizers.schedules.InverseTimeDecay(2e-4, decay_steps=1, decay_rate=6e-8)
    model.compile(optimizer=keras.optimizers.RMSprop(schedule))
    return model


def test_the_book_losses_by_hand() -> None:
    """Eq. 7.1.13 with lambda1 = 1, lambda2 = 10, computed here from the networks' outputs."""
    model = _compiled()
    x, y = _batch()
    logs = model.generator_losses(x, y, training=False)
    g_x, f_y = model.g_target(x), model.g_source(y)
    gan = np.mean((np.asarray(model.d_source(f_y)) - 1) ** 2) + np.mean((np.asarray(model.d_target(g_x)) - 1) ** 2)
    cycle = np.mean(np.abs(np.asarray(model.g_source(g_x)) - np.asarray(x))) + np.mean(np.abs(np.asarray(model.g_target(f_y)) - np.asarray(y)))
    assert float(logs["gan_loss"]) == pytest.approx(gan, rel=1e-5)
    assert float(logs["cycle_loss"]) == pytest.approx(cycle, rel=1e-5)
    assert float(logs["adv_loss"]) == pytest.approx(gan + 10 * cycle, rel=1e-5)
    assert "identity_loss" not in logs
    assert float(losses.absolute_error(np.array([1.0, 3.0]), np.array([2.0, 1.0]))) == pytest.approx(1.5)


def test_identity_loss_adds_lambda3_times_its_l1() -> None:
    model = build_cyclegan(CycleGANOptions(identity=True, target_channels=1, grid_size=4), BuildContext(0, GRAY, 10))
    x, y = _batch(target=GRAY)
    logs = model.generator_losses(x, y, training=False)
    identity = np.mean(np.abs(np.asarray(model.g_source(x)) - np.asarray(x))) + np.mean(np.abs(np.asarray(model.g_target(y)) - np.asarray(y)))
    assert float(logs["identity_loss"]) == pytest.approx(identity, rel=1e-5)
    assert float(logs["adv_loss"]) == pytest.approx(float(logs["gan_loss"]) + 10 * float(logs["cycle_loss"]) + 0.5 * identity, rel=1e-5)


def test_one_step_updates_all_four_networks_with_the_book_optimizers() -> None:
    model = _compiled()
    before = {name: [np.array(w) for w in getattr(model, name).trainable_weights]
              for name in ("g_target", "g_source", "d_target", "d_source")}
    logs = model.train_step(_batch())
    assert set(logs) == {"d_target_loss", "d_source_loss", "adv_loss", "gan_loss", "cycle_loss"}
    for name, weights in before.items():
        after = getattr(model, name).trainable_weights
        assert all(not np.array_equal(a, np.asarray(b)) for a, b in zip(weights, after)), name
    assert [int(o.iterations) for o in (model.optimizer, model.d_target_optimizer, model.d_source_optimizer)] == [1, 1, 1]
    g_rate = model.optimizer.get_config()["learning_rate"]["config"]
    assert g_rate["initial_learning_rate"] == pytest.approx(1e-4) and g_rate["decay_rate"] == pytest.approx(3e-8)
    d_rate = model.d_source_optimizer.get_config()["learning_rate"]["config"]
    assert d_rate["initial_learning_rate"] == pytest.approx(2e-4) and d_rate["decay_rate"] == pytest.approx(6e-8)
    assert model.d_source_optimizer is not model.d_target_optimizer


def test_save_and_load_in_safe_mode_keeps_everything(tmp_path: Path) -> None:
    model = _compiled(discriminator="plain")
    x, y = _batch(n=6)
    model.keep_test_images(np.asarray(x), np.asarray(y))
    model.train_step(_batch(1))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded, CycleGAN) and loaded.count_params() == model.count_params()
    np.testing.assert_array_equal(np.asarray(loaded.grid_source), np.asarray(x)[:4])
    np.testing.assert_array_equal(np.asarray(loaded.grid_target), np.asarray(y)[:4])
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for mine, theirs in ((model.optimizer, loaded.optimizer), (model.d_target_optimizer, loaded.d_target_optimizer),
                         (model.d_source_optimizer, loaded.d_source_optimizer)):
        assert int(theirs.iterations) == 1
        for a, b in zip(mine.variables, theirs.variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The next step from the loaded model equals the next step of the original.
    batch = _batch(2)
    model.reset_metrics()  # the step returns running means: compare this step's alone
    assert float(model.train_step(batch)["adv_loss"]) == pytest.approx(float(loaded.train_step(batch)["adv_loss"]), rel=1e-6)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


class _Writer:
    def __init__(self) -> None:
        self.grids: dict[str, np.ndarray] = {}

    def image_grid(self, name: str, images: np.ndarray, cols: int, title: str | None = None) -> str:
        self.grids[name] = images
        return name


def test_sample_translates_the_stored_test_images_both_ways() -> None:
    model = _compiled()
    x, y = _batch()
    model.keep_test_images(np.asarray(x), np.asarray(y))
    out = _Writer()
    sample_cyclegan(model, SampleConfig(n=3), out)
    assert set(out.grids) == {"sample_source", "sample_source_to_target", "sample_target", "sample_target_to_source"}
    np.testing.assert_allclose(out.grids["sample_source_to_target"], model.g_target(x[:3]), atol=1e-6)
    np.testing.assert_allclose(out.grids["sample_target_to_source"], model.g_source(y[:3]), atol=1e-6)
    with pytest.raises(IncompatibleError, match="sample.label"):
        sample_cyclegan(model, SampleConfig(label=3), out)
    with pytest.raises(IncompatibleError, match="last.keras"):
        sample_cyclegan(model.g_target, SampleConfig(), out)
