"""`recalibrate_batchnorm`: the moving statistics become the data's, every batch counting equally."""

from __future__ import annotations

import keras
import numpy as np

from adl_runner.kernel.batchnorm import batchnorm_layers, recalibrate_batchnorm
from adl_runner.kernel.keras_state import seed_states


def _nested_bn_model() -> keras.Model:
    """Dropout -> BN inside a nested model, then a frozen BN: the walk must find the nested one and
    leave the frozen one alone."""
    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, keras.layers.BatchNormalization(momentum=0.99, name="bn")(inner_in), name="inner")
    frozen = keras.layers.BatchNormalization(name="frozen")
    frozen.trainable = False
    inputs = keras.Input((3,))
    return keras.Model(inputs, frozen(inner(keras.layers.Dropout(0.0)(inputs))))


def test_the_moving_statistics_become_the_mean_and_variance_of_the_data() -> None:
    rng = np.random.default_rng(0)
    model = _nested_bn_model()
    bn = model.get_layer("inner").get_layer("bn")
    assert batchnorm_layers(model) == [bn]
    # Three batches with one mean per feature: the average of their variances is the data's variance.
    base = rng.normal(size=(8, 3)).astype("float32") * [1.0, 4.0, 0.5] + [2.0, -3.0, 10.0]
    batches = [base[rng.permutation(8)] for _ in range(3)]
    assert recalibrate_batchnorm(model, batches) == 3
    data = np.concatenate(batches)
    np.testing.assert_allclose(bn.moving_mean.numpy(), data.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), data.var(axis=0), rtol=1e-4)
    assert bn.momentum == 0.99  # restored
    frozen = model.get_layer("frozen")
    np.testing.assert_array_equal(frozen.moving_mean.numpy(), np.zeros(3))


def test_unequal_batches_weigh_the_same_and_nothing_of_the_old_averages_is_left() -> None:
    model = _nested_bn_model()
    bn = model.get_layer("inner").get_layer("bn")
    bn.moving_mean.assign(np.full(3, 100.0, "float32"))
    small = np.array([[0.0, 0, 0], [2, 2, 2]], "float32")  # mean 1, variance 1
    large = np.full((6, 3), 4.0, "float32")                  # mean 4, variance 0
    recalibrate_batchnorm(model, [small, large])
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.full(3, 2.5))      # (1 + 4) / 2, not 100-weighted
    np.testing.assert_allclose(bn.moving_variance.numpy(), np.full(3, 0.5))  # (1 + 0) / 2


def test_the_random_generators_are_where_they_were() -> None:
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.BatchNormalization()(keras.layers.Dropout(0.5, seed=1)(inputs)))
    before = seed_states(model)
    recalibrate_batchnorm(model, [np.ones((4, 4), "float32")] * 2)
    for key, state in seed_states(model).items():
        np.testing.assert_array_equal(state, before[key])
