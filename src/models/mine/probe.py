"""The linear probe of MINE's embeddings (Listing 13.9.3): Dense(256) (no activation) -> Dense(classes,
softmax), Adam at Keras' default rate, categorical cross-entropy, 10 epochs of batch 128.

The book trains the probe on the test set's embeddings and scores it on the same embeddings: a
fit, not a held-out accuracy. By default the probe trains on the training split's embeddings and
is scored on the test split's; `book_compat` keeps the book's protocol.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers


@dataclass(frozen=True)
class LinearProbe:
    book_compat: bool = False
    """True: train on the test embeddings and score on them, as the book; False: train on the training split's."""
    epochs: int = 10
    batch_size: int = 128
    seed: int = 0
    """Seeds the probe's initial weights and its shuffling."""

    def config(self) -> dict[str, Any]:
        return asdict(self)

    def accuracy(self, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], classes: int) -> float:
        """Test accuracy of the probe fitted to (embeddings, labels) `train`, or to `test` itself under book_compat."""
        fit_z, fit_y = test if self.book_compat else train
        init = keras.initializers.GlorotUniform
        probe = keras.Sequential([
            keras.Input(fit_z.shape[1:]),
            layers.Dense(256, kernel_initializer=init(seed=self.seed)),
            layers.Dense(classes, activation="softmax", kernel_initializer=init(seed=self.seed + 1)),
        ], name="linear_probe")
        probe.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        batches = (tf.data.Dataset.from_tensor_slices((fit_z, fit_y))
                   .shuffle(len(fit_z), seed=self.seed, reshuffle_each_iteration=True).batch(self.batch_size))
        probe.fit(batches, epochs=self.epochs, shuffle=False, verbose=0)  # the batches are shuffled
        return float(probe.evaluate(test[0], test[1], batch_size=1024, verbose=0, return_dict=True)["accuracy"])
