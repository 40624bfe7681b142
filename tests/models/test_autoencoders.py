"""Chapter 3 autoencoders: exact parameter counts, encoder/decoder sub-models, shape errors, .keras
round trips in safe mode, the book's configs, and the artifact and sample hooks on tiny data.

Graph building and tiny forward passes only; nothing here trains.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import logging
from functools import cache
from pathlib import Path

import keras
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

import adl_runner.models.autoencoders as ae
from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions
from adl_runner.data.synthetic import make_splits
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.hooks import SampleConfig
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext
from adl_runner.runner.artifacts import ArtifactData, ArtifactWriter
from adl_runner.runner.cli import CONF_DIR
from adl_runner.runner.resolve import typed_options
from adl_runner.runner.rundir import RunDir

MNIST = (28, 28, 1)
GRAY32 = (32, 32, 1)


def build(name: str, input_shape: tuple[int, ...], **options) -> keras.Model:
    entry = MODELS.get(name)
    return entry.build(entry.spec.options(**options), BuildContext(0, input_shape, 10))


@cache
def build_default(name: str, input_shape: tuple[int, ...], latent_dim: int | None = None) -> keras.Model:
    return build(name, input_shape, **({} if latent_dim is None else {"latent_dim": latent_dim}))


# --- registration, options, configs -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["autoencoder", "colorization"])
def test_registered_as_reconstruction_models_with_hooks(name: str) -> None:
    spec = MODELS.get(name).spec
    assert (spec.view, spec.objective, spec.loss) == ("image", "reconstruct", "mse")
    assert callable(spec.artifacts) and spec.sample is ae.sample_decoder
    spec.options()  # every option has a default: Options() is the book listing


@pytest.mark.parametrize("options_cls", [ae.AutoencoderOptions, ae.ColorizationOptions])
def test_every_option_has_a_docstring(options_cls: type) -> None:
    tree = ast.parse(inspect.getsource(options_cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    documented = {
        stmt.target.id
        for stmt, after in zip(body, body[1:])
        if isinstance(stmt, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
    }
    assert documented == {f.name for f in dataclasses.fields(options_cls)}


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_configs_bring_the_book_settings() -> None:
    ae_cfg = _compose("model=autoencoder")
    assert (ae_cfg.dataset.name, ae_cfg.optimizer.name, ae_cfg.trainer.epochs, ae_cfg.trainer.batch_size) == (
        "mnist", "adam", 1, 32)
    assert (ae_cfg.trainer.checkpoint.monitor, ae_cfg.trainer.checkpoint.mode) == ("val_loss", "min")
    dae = _compose("model=dae")
    assert (dae.model.name, dae.dataset.name, dae.dataset.sigma, dae.trainer.epochs, dae.trainer.batch_size) == (
        "autoencoder", "mnist", 0.5, 10, 32)
    assert _compose("model=dae", "dataset=mnist_noisy", "dataset.sigma=0.75").dataset.sigma == 0.75
    col = _compose("model=colorization")
    assert (col.dataset.name, col.dataset.gray_input, col.trainer.epochs, col.trainer.batch_size) == (
        "cifar10", True, 30, 32)
    plateau = col.trainer.plateau
    assert plateau.enabled and plateau.monitor == "val_loss"
    assert (plateau.factor, plateau.cooldown, plateau.patience, plateau.min_lr) == (pytest.approx(0.1**0.5), 0, 5, 5e-7)
    assert (col.trainer.checkpoint.monitor, col.trainer.checkpoint.mode) == ("val_loss", "min")
    # A grayscale dataset chosen on the command line still asks the pipeline for gray inputs (and fails there).
    assert _compose("model=colorization", "dataset=mnist").dataset.gray_input is True


# --- exact parameter counts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "latent_dim", "encoder", "decoder", "total"),
    [
        ("autoencoder", MNIST, None, 69_008, 108_993, 178_001),  # Listing 3.2.1, the book's "178 k"
        ("autoencoder", MNIST, 2, 25_090, 65_089, 90_179),  # Listing 3.2.2
        ("colorization", GRAY32, None, 1_418_496, 2_013_315, 3_431_811),  # Listing 3.4.1
    ],
)
def test_exact_parameter_counts(name, shape, latent_dim, encoder, decoder, total) -> None:
    model = build_default(name, shape, latent_dim)
    assert model.get_layer("encoder").count_params() == encoder
    assert model.get_layer("decoder").count_params() == decoder
    assert model.count_params() == total


def test_dae_is_the_listing_3_2_1_network() -> None:
    cfg = _compose("model=dae")
    entry, options = typed_options(MODELS, cfg.model, "model")
    assert entry.build(options, BuildContext(0, MNIST, 10)).count_params() == 178_001


# --- structure and shapes --------------------------------------------------------------------------


def test_encoder_and_decoder_are_named_sub_models_with_the_book_layers() -> None:
    model = build_default("autoencoder", MNIST)
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    assert isinstance(encoder, keras.Model) and isinstance(decoder, keras.Model)
    assert tuple(encoder.output.shape) == (None, 16)
    assert encoder.get_layer("latent_vector").activation is keras.activations.linear
    assert tuple(decoder.output.shape) == (None, *MNIST)
    assert decoder.get_layer("decoder_output").activation is keras.activations.sigmoid
    convs = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.strides, c.padding) for c in convs] == [(32, (2, 2), "same"), (64, (2, 2), "same")]
    transposed = [layer.filters for layer in decoder.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert transposed == [64, 32, 1]


def test_colorization_maps_gray_to_rgb() -> None:
    model = build_default("colorization", GRAY32)
    assert tuple(model.input.shape) == (None, *GRAY32)
    assert tuple(model.output.shape) == (None, 32, 32, 3)
    assert tuple(model.get_layer("encoder").output.shape) == (None, 256)


def test_autoencoder_output_has_the_input_channels() -> None:
    model = build("autoencoder", (32, 32, 3), latent_dim=4)
    assert tuple(model.output.shape) == (None, 32, 32, 3)


@pytest.mark.parametrize(
    ("name", "shape", "fragment"),
    [
        ("autoencoder", (30, 30, 1), "multiples of 4"),
        ("autoencoder", (784,), "rank 3"),
        ("colorization", (28, 28, 1), "multiples of 8"),
        ("colorization", (32, 32, 3), "1-channel gray inputs"),
    ],
)
def test_inputs_the_architecture_cannot_take(name, shape, fragment) -> None:
    with pytest.raises(IncompatibleError, match=fragment):
        build(name, shape)


@pytest.mark.parametrize(
    ("name", "options", "fragment"),
    [
        ("autoencoder", {"latent_dim": 0}, "latent_dim must be >= 1"),
        ("autoencoder", {"filters": []}, "model.filters must not be empty"),
        ("colorization", {"kernel_size": 0}, "model.kernel_size must be >= 1"),
    ],
)
def test_bad_options(name, options, fragment) -> None:
    """Declared on the options (kernel.ranges), checked as the runner does before the build."""
    from adl_runner.runner.resolve import typed_values

    with pytest.raises(ConfigError, match=fragment):
        typed_values(MODELS.get(name).spec.options, options, "model")


@pytest.mark.parametrize(("name", "shape"), [("autoencoder", MNIST), ("colorization", GRAY32)])
def test_keras_round_trip_in_safe_mode_keeps_encoder_and_decoder(tmp_path: Path, name, shape) -> None:
    model = build_default(name, shape)
    x = np.random.default_rng(1).random((2, *shape), dtype=np.float32)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.name == name and loaded.count_params() == model.count_params()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6)
    z = keras.ops.convert_to_numpy(loaded.get_layer("encoder")(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.get_layer("decoder")(z)),
                               keras.ops.convert_to_numpy(model(x)), atol=1e-6)


# --- artifacts and sampling ------------------------------------------------------------------------


def _data(shape=MNIST, **options) -> ArtifactData:
    splits = make_splits(shape, 10, 32, 30, seed=0)
    opts = PipelineOptions(view="image", batch_size=16, targets="images", **options)
    return ArtifactData(ArrayPipeline(splits.x_train, splits.y_train, splits.x_test, splits.y_test, 10, opts))


def _pngs(path: Path) -> set[str]:
    return {p.name for p in path.glob("*.png")}


def test_artifacts_of_a_16_dim_dae(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="runner"):
        ae.write_autoencoder_artifacts(build_default("autoencoder", MNIST), _data(noise_sigma=0.5),
                                       ArtifactWriter(RunDir(tmp_path)))
    assert _pngs(tmp_path) == {"input_and_decoded.png", "corrupted_and_denoised.png", "latent_pca.png"}
    assert "digits_over_latent.png skipped: the latent manifold needs a 2-dim latent, this one has 16" in caplog.text


def test_artifacts_of_a_2_dim_autoencoder(tmp_path: Path) -> None:
    ae.write_autoencoder_artifacts(build_default("autoencoder", MNIST, 2), _data(), ArtifactWriter(RunDir(tmp_path)))
    assert _pngs(tmp_path) == {"input_and_decoded.png", "latent_2dim.png", "digits_over_latent.png"}


def test_colorization_artifacts(tmp_path: Path) -> None:
    ae.write_colorization_artifacts(build_default("colorization", GRAY32), _data((32, 32, 3), gray_input=True),
                                    ArtifactWriter(RunDir(tmp_path)))
    assert _pngs(tmp_path) == {"test_color.png", "test_gray.png", "colorized.png"}


def test_denoising_grid_is_original_noisy_denoised_per_set_of_nine() -> None:
    original, noisy, denoised = (np.full((27, 2, 2, 1), v, np.float32) for v in (0.0, 0.5, 1.0))
    grid = ae._denoising_rows(original, noisy, denoised)
    assert grid.shape == (81, 2, 2, 1)
    assert [float(grid[i * 9, 0, 0, 0]) for i in range(9)] == [0.0, 0.5, 1.0] * 3


def _sample(model: keras.Model, tmp_path: Path, **options) -> list[Path]:
    return ae.sample_decoder(model, SampleConfig(**options), ArtifactWriter(RunDir(tmp_path)))


def test_sample_modes(tmp_path: Path) -> None:
    two = build_default("autoencoder", MNIST, 2)
    assert [p.name for p in _sample(two, tmp_path, latent=[0.5, -1.0])] == ["sample_latent.png"]
    assert [p.name for p in _sample(two, tmp_path, grid=3)] == ["digits_over_latent.png"]
    sixteen = build_default("autoencoder", MNIST)
    assert [p.name for p in _sample(sixteen, tmp_path, n=4)] == ["samples.png"]


def test_sample_refuses_a_label_and_a_latent_of_the_wrong_length(tmp_path: Path) -> None:
    two = build_default("autoencoder", MNIST, 2)
    with pytest.raises(ConfigError, match="sample.label needs a conditional model; 'autoencoder' is unconditional"):
        _sample(two, tmp_path, label=3)
    with pytest.raises(ConfigError, match="sample.latent has 3 value.*takes a 2-dim latent"):
        _sample(two, tmp_path, latent=[1.0, 2.0, 3.0])
    assert not list(tmp_path.iterdir())

