"""The `boxes` kind's images, gathered and scaled by one XLA function (`scaled_rows`), are exactly what
`base.scaled` of the gathered rows gives: every one of the 256 pixel values, training and evaluation
batches, a short last batch too."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from adl_runner.data.inputs import make_inputs
from adl_runner.data.inputs.base import scaled
from adl_runner.data.inputs.boxes import BoxSplits
from adl_runner.data.pipeline import PipelineOptions, epoch_batches


def test_box_batches_are_the_scaled_rows_bit_for_bit() -> None:
    pixels = np.arange(10 * 8 * 16 * 3) % 256  # every value, in each image's rows at other places
    images = np.random.default_rng(0).permutation(pixels).astype(np.uint8).reshape(10, 8, 16, 3)
    boxes = [np.array([[1, 5, 2, 6, 1 + i % 3]], np.float32) for i in range(10)]
    splits = BoxSplits(images, boxes, images[:3], boxes[:3], ("background", "a", "b", "c"))
    pipeline = make_inputs("boxes", splits, PipelineOptions(view="image", targets="none", batch_size=4, seed=3))
    order = [idx for _, idx in epoch_batches(10, 4, 3, 0, 1)]
    for (got, truth), idx in zip(pipeline.train(0, 1), order, strict=True):
        expected = scaled(tf.gather(images, idx)).numpy()
        assert got.numpy().view(np.uint32).tolist() == expected.view(np.uint32).tolist()
        np.testing.assert_array_equal(truth["boxes"].numpy()[:, 0], np.stack([boxes[i][0, :4] for i in idx.numpy()]))
    evaluated = np.concatenate([x.numpy() for x, _ in pipeline.evaluation("test")])
    assert evaluated.view(np.uint32).tolist() == scaled(images[:3]).numpy().view(np.uint32).tolist()
