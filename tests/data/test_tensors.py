"""host_tensor: the dataset arrays as tensors with one copy at most, bit-identical to tf.constant's."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import adl_runner.data.inputs.masks as masks_module
import adl_runner.data.pipeline as pipeline_module
from adl_runner.data.inputs.masks import MaskOptions, MaskPipeline, MaskSplits
from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions
from adl_runner.data.synthetic import make_splits
from adl_runner.data.tensors import ALIGNMENT, host_tensor


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64", "float16", "float32", "float64", "bool"])
def test_the_tensor_is_tf_constants(dtype: str) -> None:
    array = (np.random.default_rng(0).random((9, 5, 3)) * 200).astype(dtype)
    made, expected = host_tensor(array), tf.constant(array)
    assert made.dtype == expected.dtype and made.shape == expected.shape
    assert made.numpy().tobytes() == expected.numpy().tobytes()
    assert np.array_equal(tf.gather(made, [4, 1]).numpy(), array[[4, 1]])  # an op on it runs


def test_a_strided_array_is_copied_and_later_writes_do_not_reach_the_tensor() -> None:
    array = np.arange(120, dtype=np.uint8).reshape(6, 20)[:, ::2]
    made = host_tensor(array)
    assert np.array_equal(made.numpy(), array)
    array[:] = 0
    assert made.numpy().sum() > 0


def test_its_buffer_is_aligned_as_tensorflow_requires() -> None:
    from adl_runner.data.tensors import _aligned_empty

    for n in (1, 7, 1000):
        assert _aligned_empty((n, 3), np.dtype("uint8")).ctypes.data % ALIGNMENT == 0


def test_empty_and_other_arrays_fall_back_to_tf_constant() -> None:
    assert host_tensor(np.zeros((0, 3), np.float32)).shape == (0, 3)
    assert host_tensor(np.array(["a", "bc"])).numpy().tolist() == [b"a", b"bc"]


def _batches(dataset: tf.data.Dataset) -> list[bytes]:
    return [b"".join(np.asarray(part).tobytes() for part in tf.nest.flatten(batch)) for batch in dataset.as_numpy_iterator()]


def test_array_pipeline_batches_are_bit_identical_to_tf_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    splits = make_splits((28, 28, 1), 10, 100, 30, seed=0)
    # Without augmentation: Keras' random layers in a parallel map draw in no fixed order, whatever the tensors.
    options = PipelineOptions(view="image", batch_size=32, seed=7, noise_sigma=0.3)

    def streams() -> tuple[list[bytes], list[bytes]]:
        pipeline = ArrayPipeline(splits.x_train, splits.y_train, splits.x_test, splits.y_test, 10, options)
        return _batches(pipeline.train(0, 2)), _batches(pipeline.test())

    ours = streams()
    monkeypatch.setattr(pipeline_module, "host_tensor", tf.constant)
    assert ours == streams()


def test_mask_batches_are_bit_identical_to_tf_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (6, 12, 16, 3), dtype=np.uint8)
    masks = rng.integers(0, 3, (6, 12, 16), dtype=np.uint8)
    splits = MaskSplits(x, masks, x, masks, ("background", "a", "b"))
    options = PipelineOptions(view="image", batch_size=4, seed=3, onehot=True)

    def stream() -> list[bytes]:
        return _batches(MaskPipeline(splits, options, MaskOptions(size=(8, 8), flip=True)).train(0, 2))

    ours = stream()
    monkeypatch.setattr(masks_module, "host_tensor", tf.constant)
    assert ours == stream()
