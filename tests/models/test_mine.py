"""MINE (chapter 13): the exact and histogram mutual information, the Donsker-Varadhan bound, the
gaussian draws, and a trained SimpleMINE at rho = 0 and 0.5."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_runner.data.gaussian import GaussianOptions, correlated_pairs, gaussian_mutual_information, load_gaussian
from adl_runner.data.inputs import make_inputs
from adl_runner.data.pipeline import PipelineOptions
from adl_runner.kernel.errors import ConfigError
from adl_runner.models.metrics.mutual_information import donsker_varadhan, histogram_mi, pooled_donsker_varadhan
from adl_runner.models.mine import MINE, MINEOptions, build_mine, simple_mine
from adl_runner.models.mine.evaluators import heldout_mi
from adl_runner.runner.artifacts import ArtifactData


def test_the_exact_mi_is_the_books_value_and_even_in_rho() -> None:
    assert gaussian_mutual_information(0.5) == pytest.approx(0.143841, abs=1e-6)
    assert gaussian_mutual_information(0.8) == pytest.approx(0.510826, abs=1e-6)
    assert gaussian_mutual_information(0.0) == 0.0
    assert gaussian_mutual_information(-0.8) == gaussian_mutual_information(0.8)


def test_the_histogram_estimate_of_a_million_samples_is_near_the_exact_value() -> None:
    rng = np.random.default_rng(0)
    for rho in (0.5, -0.8):
        x, z = rng.standard_normal((2, 1_000_000))
        y = rho * x + math.sqrt(1 - rho * rho) * z
        assert histogram_mi(x, y) == pytest.approx(gaussian_mutual_information(rho), abs=0.01)
    assert histogram_mi(x, z) < 0.01


def test_the_bound_is_mean_joint_minus_log_mean_exp_marginal() -> None:
    joint, marginal = np.array([[1.0], [2.0], [3.0]]), np.array([[0.0], [math.log(2.0)], [math.log(3.0)]])
    expected = 2.0 - math.log(2.0)  # mean T_joint = 2, mean e^T_marginal = (1 + 2 + 3) / 3
    assert pooled_donsker_varadhan(joint, marginal) == pytest.approx(expected)
    assert float(donsker_varadhan(tf.constant(joint), tf.constant(marginal))) == pytest.approx(expected)


def test_gaussian_draws_have_the_chosen_correlation_and_independent_marginals() -> None:
    (x, y), (mx, my) = correlated_pairs(-0.8)(tf.constant([3, 4], tf.int64), 200_000)
    assert x.shape == (200_000, 1)
    assert np.corrcoef(x[:, 0], y[:, 0])[0, 1] == pytest.approx(-0.8, abs=0.01)
    assert abs(np.corrcoef(mx[:, 0], my[:, 0])[0, 1]) < 0.01
    assert np.std(y) == pytest.approx(1.0, abs=0.01)
    source = load_gaussian(None, GaussianOptions(rho=0.5))
    assert source.reference == {"mi_true": gaussian_mutual_information(0.5)}
    with pytest.raises(ConfigError, match=r"dataset.rho must be in \(-1, 1\).*got 1.0"):
        GaussianOptions(rho=1.0)


def _trained(rho: float, steps: int) -> tuple[MINE, ArtifactData]:
    """SimpleMINE trained `steps` steps of 500 + 500 samples at the book's Adam 0.01, and its data."""
    source = load_gaussian(None, GaussianOptions(rho=rho, n_train=500, n_test=20_000))
    pipeline = make_inputs("synthetic", source, PipelineOptions(view="flat", batch_size=500, seed=1))
    keras.utils.set_random_seed(1)
    model = MINE(simple_mine(1, 16))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(pipeline.train(0, steps), epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    return model, ArtifactData(pipeline)


def test_mine_estimates_zero_for_independent_variables_and_the_mi_of_correlated_ones() -> None:
    model, data = _trained(0.0, 150)
    numbers = heldout_mi(model, data, None)
    assert abs(numbers["mi_estimate"]) < 0.01 and numbers["mi_true"] == 0.0
    assert numbers["mi_histogram"] < 0.3  # 20,000 samples in 100 x 100 bins: the histogram's upward bias
    model, data = _trained(0.8, 150)
    assert heldout_mi(model, data, None)["mi_estimate"] == pytest.approx(0.5108, abs=0.08)
    steps, values = model.trace()
    assert steps == list(range(1, 151)) and values[-1] > values[0]


def test_bias_correction_keeps_a_moving_average_and_a_short_trace_keeps_the_last_steps() -> None:
    model = build_mine(MINEOptions(bias_correction=True, ma_rate=0.5, trace_steps=3), _context())
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    batch = correlated_pairs(0.5)(tf.constant([0, 0], tf.int64), 64)
    model.fit(tf.data.Dataset.from_tensors(batch).repeat(5), epochs=1, shuffle=False, verbose=0)
    assert float(model.exp_average.numpy()) != 1.0
    steps, values = model.trace()
    assert steps == [3, 4, 5] and len(values) == 3
    assert model.count_params() == 81 + 1 + 3  # T's weights, the moving average, the trace
    from adl_runner.runner.resolve import typed_values

    with pytest.raises(ConfigError, match=r"model.ma_rate must be in \(0, 1\], got 0.0"):
        typed_values(MINEOptions, {"ma_rate": 0.0}, "model")


def _context():
    from adl_runner.kernel.specs import BuildContext

    return BuildContext(seed=0, input_shape=(1,), num_classes=0)


@pytest.mark.parametrize("latent_dim", [16, 32, 64])
def test_the_books_larger_codes_build_an_encoder_of_that_width(latent_dim: int) -> None:
    # The book trains at 10 and also tries 16, 32 and 64 (Figure 13.9.5's remark)
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.models.mine import MINEEncoderOptions, build_mine_encoder

    model = build_mine_encoder(MINEEncoderOptions(latent_dim=latent_dim, hidden_units=8),
                               BuildContext(seed=0, input_shape=(24, 24, 1), num_classes=10))
    assert model.encoder.outputs[0].shape[-1] == latent_dim
    assert model.statistic.get_layer("dense_x").kernel.shape == (latent_dim, 8)
