"""The tf.data pipeline: views, scaling, labels, augmentation, and a resumable epoch stream."""

from __future__ import annotations

import numpy as np
import pytest

from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions, view_shape
from adl_runner.data.synthetic import make_splits
from adl_runner.kernel.errors import ConfigError


def _pipeline(shape=(28, 28, 1), n_train=100, **options) -> ArrayPipeline:
    splits = make_splits(shape, 10, n_train, 30, seed=0)
    opts = PipelineOptions(**{"view": "image", "batch_size": 32, "seed": 7, **options})
    return ArrayPipeline(splits.x_train, splits.y_train, splits.x_test, splits.y_test, 10, opts)


def _index_stream(pipeline: ArrayPipeline, initial_epoch: int, epochs: int, steps: int | None = None) -> list[np.ndarray]:
    """The labels of every batch, which identify the examples (and their order)."""
    return [np.argmax(y, axis=-1) for _, y in pipeline.train(initial_epoch, epochs, steps).as_numpy_iterator()]


@pytest.mark.parametrize(("view", "expected"), [("flat", (784,)), ("image", (28, 28, 1)), ("sequence", (28, 28))])
def test_views_and_scaling(view: str, expected: tuple[int, ...]) -> None:
    pipeline = _pipeline(view=view)
    x, y = next(pipeline.test().as_numpy_iterator())
    assert pipeline.input_shape == expected == x.shape[1:]
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert y.shape == (30, 10)  # the whole 30-example test split fits one batch


def test_sparse_labels_and_two_inputs() -> None:
    inputs, y = next(_pipeline(onehot=False, inputs=2).test().as_numpy_iterator())
    assert y.shape == (30,) and y.dtype == np.int32
    assert len(inputs) == 2 and np.array_equal(inputs[0], inputs[1])


def test_unknown_view() -> None:
    with pytest.raises(ConfigError, match="unknown input view 'cube'"):
        view_shape((28, 28, 1), "cube")


def test_each_epoch_is_a_permutation_and_epochs_differ() -> None:
    pipeline = _pipeline()
    batches = list(pipeline.train(0, 2).as_numpy_iterator())
    assert len(batches) == 2 * pipeline.steps_per_epoch() == 8  # 100 examples, batch 32: 4 per epoch
    first = np.concatenate([x for x, _ in batches[:4]])
    second = np.concatenate([x for x, _ in batches[4:]])
    assert first.shape[0] == second.shape[0] == 100
    assert not np.array_equal(first, second)
    assert np.allclose(np.sort(first.reshape(100, -1), axis=0), np.sort(second.reshape(100, -1), axis=0))


@pytest.mark.parametrize("steps", [None, 3])
def test_resumed_stream_equals_the_tail_of_the_full_stream(steps: int | None) -> None:
    pipeline = _pipeline()
    per_epoch = steps or pipeline.steps_per_epoch()
    full = _index_stream(pipeline, 0, 4, steps)
    resumed = _index_stream(pipeline, 2, 4, steps)
    assert len(resumed) == 2 * per_epoch
    for a, b in zip(full[2 * per_epoch:], resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_pixel_mean_subtraction_centres_the_training_set() -> None:
    pipeline = _pipeline(shape=(32, 32, 3), subtract_pixel_mean=True, batch_size=100)
    x, _ = next(pipeline.train(0, 1).as_numpy_iterator())
    assert abs(float(x.mean())) < 1e-5
    assert x.min() < 0


def test_augmentation_changes_training_images_only() -> None:
    plain = _pipeline(shape=(32, 32, 3), batch_size=100)
    augmented = _pipeline(shape=(32, 32, 3), batch_size=100, augment=True)
    xp, _ = next(plain.train(0, 1).as_numpy_iterator())
    xa, _ = next(augmented.train(0, 1).as_numpy_iterator())
    assert xa.shape == xp.shape and not np.allclose(xa, xp)
    tp, _ = next(plain.test().as_numpy_iterator())
    ta, _ = next(augmented.test().as_numpy_iterator())
    np.testing.assert_array_equal(tp, ta)


def test_reconstruction_targets_are_the_inputs_and_self_trained_models_get_inputs_only() -> None:
    x, target = next(_pipeline(targets="images").test().as_numpy_iterator())
    np.testing.assert_array_equal(x, target)
    only = next(_pipeline(targets="none").test().as_numpy_iterator())
    assert only.shape == (30, 28, 28, 1)


def test_denoising_inputs_are_noisy_fixed_per_example_and_targets_clean() -> None:
    pipeline = _pipeline(targets="images", noise_sigma=0.5)
    (x1, clean1), (x2, clean2) = (next(pipeline.test().as_numpy_iterator()) for _ in range(2))
    np.testing.assert_array_equal(x1, x2)  # the same example always gets the same noise
    assert not np.allclose(x1, clean1) and 0.0 <= x1.min() and x1.max() <= 1.0
    train_first = next(pipeline.evaluation("train").as_numpy_iterator())[0]
    assert not np.allclose(train_first[:30], x1)  # train and test noise differ


def test_gray_inputs_with_rgb_targets() -> None:
    pipeline = _pipeline(shape=(32, 32, 3), targets="images", gray_input=True)
    gray, rgb = next(pipeline.test().as_numpy_iterator())
    assert pipeline.input_shape == (32, 32, 1) and gray.shape[1:] == (32, 32, 1) and rgb.shape[1:] == (32, 32, 3)
    np.testing.assert_allclose(gray[..., 0], rgb @ np.array([0.299, 0.587, 0.114], np.float32), atol=1e-6)


def test_gray_inputs_need_rgb_and_sigma_must_be_positive() -> None:
    from adl_runner.kernel.errors import IncompatibleError

    with pytest.raises(IncompatibleError, match="need RGB images"):
        _pipeline(gray_input=True)
    with pytest.raises(ConfigError, match="sigma must be >= 0"):
        _pipeline(noise_sigma=-1.0)
