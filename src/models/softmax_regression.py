"""Pattanayak's MNIST softmax regression (Pro Deep Learning with TensorFlow, Listings 6-6a/b): the
save / restore / serve walk-through's model.

One dense layer, 784 -> 10 logits, weights and biases drawn from N(0, 0.02) (7,850 parameters).
The book trains it with a sigmoid cross-entropy over the ten one-hot outputs (not a softmax
cross-entropy) and predicts with the softmax of the logits, so the model outputs the logits
(scores): accuracy is their argmax, an export's `classify` signature adds the softmax.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from adl_runner.kernel.checks import require_rank
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec

SIGMOID_CROSS_ENTROPY = keras.losses.BinaryCrossentropy(from_logits=True)
"""The book's loss, tf.nn.sigmoid_cross_entropy_with_logits over the one-hot outputs averaged over
all of them: Keras' BinaryCrossentropy on logits, which averages over the ten outputs and the batch."""


@dataclass
class SoftmaxRegressionOptions:
    """Listing 6-6a: W (784x10) and b (10) drawn from N(0, init_std)."""

    init_std: float = ranged(0.02, above=0)
    """Standard deviation of the normal initialisation of the weights and the biases."""


@MODELS.register("softmax_regression", FitSpec(options=SoftmaxRegressionOptions, view="flat", loss=SIGMOID_CROSS_ENTROPY,
                                               evaluators=("batch_accuracy",)))
def build_softmax_regression(opts: SoftmaxRegressionOptions, ctx: BuildContext) -> keras.Model:
    (size,) = require_rank("softmax_regression", ctx.input_shape, 1, "flat")
    init = keras.initializers.RandomNormal(0.0, opts.init_std, seed=ctx.seed)
    inputs = keras.Input((size,), name="x")
    logits = layers.Dense(ctx.num_classes, kernel_initializer=init, bias_initializer=init, name="logits")(inputs)
    return keras.Model(inputs, logits, name="softmax_regression")
