"""The adversarial losses of chapters 4-6, on D's outputs (probabilities unless named logits).

Each returns a scalar: the batch mean, as Keras' compiled losses were in the book's scripts.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def bce(target: float, probabilities: Any) -> Any:
    """Binary cross-entropy of sigmoid outputs against a constant target (1 real, 0 fake)."""
    return ops.mean(keras.losses.binary_crossentropy(ops.full_like(probabilities, target), probabilities))


def bce_logits(target: float, logits: Any) -> Any:
    """The same on logits: numerically safe (Pattanayak's code took logs of sigmoid outputs)."""
    return ops.mean(keras.losses.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def real_fake_bce(real: Any, fake: Any, from_logits: bool = False) -> Any:
    """D's loss on the book's concatenated [real; fake] batch with targets [1; 0]."""
    loss = bce_logits if from_logits else bce
    return (loss(1.0, real) + loss(0.0, fake)) / 2.0


def least_squares(target: float, outputs: Any) -> Any:
    """LSGAN (Eqs. 5.2.1-5.2.2): mean squared distance of linear outputs to the target."""
    return ops.mean(ops.square(outputs - target))


def wasserstein(sign: float, critic: Any) -> Any:
    """-mean(y * D(x)) with y = +1 for real and -1 for fake (Eq. 5.1.23)."""
    return -sign * ops.mean(critic)


def categorical(one_hot: Any, probabilities: Any) -> Any:
    return ops.mean(keras.losses.categorical_crossentropy(one_hot, probabilities))


def label_accuracy(one_hot: Any, probabilities: Any) -> Any:
    return ops.mean(ops.cast(ops.argmax(one_hot, axis=-1) == ops.argmax(probabilities, axis=-1), "float32"))


def mutual_information(code: Any, q: Any) -> Any:
    """InfoGAN's mi_loss: mean over the batch of -sum(c * log(q + eps)); H(c) is a constant."""
    return ops.mean(-ops.sum(code * ops.log(q + keras.config.epsilon()), axis=-1))
