"""The chapter 8 VAE family: exact book parameter counts, the loss terms, one training step,
.keras round trips in safe mode, and the sample hook's checks. Tiny batches only."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import textwrap
from functools import cache
from pathlib import Path

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

import adl_runner.models.vae as vae
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.hooks import SampleConfig
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext
from adl_runner.runner.artifacts import ArtifactWriter
from adl_runner.runner.resolve import typed_values
from adl_runner.runner.rundir import RunDir

MNIST = {"flat": (784,), "image": (28, 28, 1)}
NAMES = ("vae_mlp", "vae_cnn", "cvae", "beta_vae")


def build(name: str, **options) -> vae.VAE:
    entry = MODELS.get(name)
    return entry.build(entry.spec.options(**options), BuildContext(0, MNIST[entry.spec.view], 10))


@cache
def build_default(name: str) -> vae.VAE:
    return build(name)


# --- registration, options -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_registered_for_the_runner(name: str) -> None:
    spec = MODELS.get(name).spec
    conditional = name in ("cvae", "beta_vae")
    assert spec.view == ("flat" if name == "vae_mlp" else "image")
    assert spec.objective == ("self_conditional" if conditional else "self")
    assert spec.sample is vae.sample_vae
    assert callable(spec.artifacts)
    assert OmegaConf.to_object(OmegaConf.structured(spec.options)) == spec.options()


@pytest.mark.parametrize("cls", [vae.VAEMLPOptions, vae.VAECNNOptions])
def test_every_option_field_has_a_docstring(cls) -> None:
    documented = set()
    for klass in cls.__mro__:
        if not dataclasses.is_dataclass(klass):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        documented |= {
            stmt.target.id
            for stmt, nxt in zip(body, body[1:])
            if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
        }
    assert documented == {f.name for f in dataclasses.fields(cls)}


# --- exact parameter counts: VAE.count_params() = encoder + decoder (the book's totals) -------------

COUNTS = [
    # name, total, encoder, decoder (chapter 8 of the book / the spec's hand checks)
    ("vae_mlp", 807_700, 403_972, 403_728),  # 401,920 + 1,026 + 1,026 | 1,536 + 402,192
    ("vae_cnn", 134_165, 69_076, 65_089),
    ("cvae", 174_437, 77_988, 96_449),
    ("beta_vae", 174_437, 77_988, 96_449),  # the book's beta-VAE is its CVAE with beta > 1
]


@pytest.mark.parametrize(("name", "total", "encoder", "decoder"), COUNTS)
def test_book_parameter_counts(name: str, total: int, encoder: int, decoder: int) -> None:
    model = build_default(name)
    assert model.count_params() == total
    assert (model.encoder.count_params(), model.decoder.count_params()) == (encoder, decoder)
    assert model.latent_dim == 2
    assert not model.compiled  # the runner compiles


def test_cvae_feeds_the_label_to_both_networks() -> None:
    model = build_default("cvae")
    assert model.conditional and model.num_labels == 10
    assert [tuple(t.shape) for t in model.encoder.inputs] == [(None, 28, 28, 1), (None, 10)]
    assert [tuple(t.shape) for t in model.decoder.inputs] == [(None, 2), (None, 10)]
    assert tuple(model.decoder.output.shape) == (None, 28, 28, 1)
    assert [tuple(t.shape) for t in model.inputs] == [(None, 28, 28, 1)]  # the data input, for task=evaluate


def test_book_options_are_the_defaults_and_beta_vae_yaml_sets_beta() -> None:
    assert vae.VAEMLPOptions().intermediate_dim == 512
    cnn = vae.VAECNNOptions()
    assert (cnn.filters, cnn.conv_layers, cnn.kernel_size, cnn.dense_units, cnn.latent_dim) == (16, 2, 3, 16, 2)
    conf = Path(__file__).resolve().parents[2] / "conf" / "model"
    beta = OmegaConf.load(conf / "beta_vae.yaml")
    assert (beta.model.beta, beta.model.reconstruction, beta.trainer.epochs) == (9.0, "bce", 30)
    mlp = OmegaConf.load(conf / "vae_mlp.yaml")
    assert (mlp.trainer.epochs, mlp.trainer.checkpoint.monitor, mlp.trainer.checkpoint.mode) == (50, "val_loss", "min")


@pytest.mark.parametrize(
    ("name", "options", "shape", "error", "fragment"),
    [
        ("vae_mlp", {"reconstruction": "l1"}, (784,), ConfigError, "model.reconstruction must be mse or bce, got 'l1'"),
        ("vae_mlp", {"latent_dim": 1}, (784,), ConfigError, "model.latent_dim must be >= 2 (the latent plots are 2-D)"),
        ("vae_cnn", {"beta": -1.0}, (28, 28, 1), ConfigError, "beta must be >= 0"),
        ("vae_mlp", {}, (28, 28, 1), IncompatibleError, "needs flat inputs"),
        ("vae_cnn", {}, (30, 30, 1), IncompatibleError, "divisible by 4"),
    ],
)
def test_bad_options_and_shapes_are_one_line_errors(name, options, shape, error, fragment) -> None:
    entry = MODELS.get(name)
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):  # ranges, then the build
        entry.build(typed_values(entry.spec.options, options, "model"), BuildContext(0, shape, 10))


# --- the loss ----------------------------------------------------------------------------------------


def test_kl_formula_on_a_known_case() -> None:
    z_mean = np.array([[0.0, 0.0], [1.0, 2.0]], dtype=np.float32)
    z_log_var = np.array([[0.0, 0.0], [0.0, math.log(2.0)]], dtype=np.float32)
    kl = keras.ops.convert_to_numpy(vae.kl_divergence(z_mean, z_log_var))
    # KL(N(mu, s^2) || N(0, 1)) = 0.5 * sum(s^2 + mu^2 - 1 - ln s^2): 0 for the prior itself
    np.testing.assert_allclose(kl, [0.0, 0.5 * ((1 + 1 - 1 - 0) + (2 + 4 - 1 - math.log(2.0)))], rtol=1e-6)


def test_reconstruction_is_a_per_image_sum() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((3, 4, 4, 1)).astype(np.float32)
    x_hat = rng.uniform(0.05, 0.95, (3, 4, 4, 1)).astype(np.float32)
    mse = keras.ops.convert_to_numpy(vae.reconstruction_loss(x, x_hat, "mse"))
    np.testing.assert_allclose(mse, ((x - x_hat) ** 2).reshape(3, -1).sum(axis=1), rtol=1e-5)
    bce = keras.ops.convert_to_numpy(vae.reconstruction_loss(x, x_hat, "bce"))
    manual = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat)).reshape(3, -1).sum(axis=1)
    np.testing.assert_allclose(bce, manual, rtol=1e-4)


def test_train_step_reduces_the_loss_and_reports_the_three_terms() -> None:
    keras.utils.set_random_seed(0)
    model = build("vae_mlp", intermediate_dim=64)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).random((32, 784)).astype(np.float32)
    first = model.train_on_batch(x, return_dict=True)
    for _ in range(30):
        last = model.train_on_batch(x, return_dict=True)
    assert set(first) == {"loss", "reconstruction_loss", "kl_loss"}
    assert all(np.isfinite(v) for v in last.values())
    assert last["loss"] < first["loss"]
    results = model.evaluate(x, return_dict=True, verbose=0)
    assert results["loss"] == pytest.approx(results["reconstruction_loss"] + results["kl_loss"], rel=1e-4)  # beta 1


def test_beta_weights_the_kl_term_and_sparse_labels_work() -> None:
    keras.utils.set_random_seed(0)
    model = build("cvae", beta=9.0, reconstruction="bce")
    model.compile(optimizer=keras.optimizers.RMSprop())
    rng = np.random.default_rng(1)
    x = rng.random((8, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, 8)
    logs = model.train_on_batch(x, labels, return_dict=True)  # integer labels are one-hot encoded
    assert all(np.isfinite(v) for v in logs.values())
    results = model.evaluate(x, np.eye(10, dtype=np.float32)[labels], return_dict=True, verbose=0)
    assert results["loss"] == pytest.approx(results["reconstruction_loss"] + 9.0 * results["kl_loss"], rel=1e-4)


# --- saving ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vae_mlp", "cvae"])
def test_keras_file_round_trip_in_safe_mode(tmp_path: Path, name: str) -> None:
    model = build(name, beta=2.5, reconstruction="bce")
    model.compile(optimizer=keras.optimizers.Adam())
    model.optimizer.build(model.trainable_variables)  # as after training: the slots are saved too
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, vae.VAE)
    assert (loaded.beta, loaded.reconstruction, loaded.conditional) == (2.5, "bce", model.conditional)
    assert loaded.count_params() == model.count_params()
    z = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.testing.assert_array_equal(vae.decode_points(loaded, z, 3 if model.conditional else None),
                                  vae.decode_points(model, z, 3 if model.conditional else None))


# --- figures and sampling helpers ----------------------------------------------------------------------


def test_flat_outputs_become_images() -> None:
    assert vae.as_images(np.zeros((2, 784))).shape == (2, 28, 28, 1)
    assert vae.as_images(np.zeros((2, 3072))).shape == (2, 32, 32, 3)
    assert vae.as_images(np.zeros((2, 10))).shape == (2, 1, 10, 1)


def test_sample_hook_draws_and_checks_its_options(tmp_path: Path) -> None:
    out = ArtifactWriter(RunDir(tmp_path))
    cvae = build_default("cvae")
    (grid,) = vae.sample_vae(cvae, SampleConfig(label=3, grid=3), out)
    assert grid.name == "sample_grid_label_3.png" and grid.exists()
    (point,) = vae.sample_vae(cvae, SampleConfig(latent=[0.5, -1.0]), out)
    assert point.name == "sample_latent_all_labels.png"
    with pytest.raises(ConfigError, match=r"sample.label=10 is out of range; valid: 0..9"):
        vae.sample_vae(cvae, SampleConfig(label=10), out)
    with pytest.raises(ConfigError, match="has 2 dimensions"):
        vae.sample_vae(cvae, SampleConfig(latent=[1.0, 2.0, 3.0]), out)
    with pytest.raises(ConfigError, match="needs a conditional model"):
        vae.sample_vae(build_default("vae_cnn"), SampleConfig(label=1), out)
