"""The value every dataset loader returns, and the options type of loaders that take none."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ArraySplits:
    """A labelled image dataset held in memory, split into train and test.

    Images are always (N, H, W, C) uint8, with a channel axis even for grey images, so that the
    pipeline and the models never have to special-case MNIST.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """(H, W, C) of one image."""
        return tuple(int(d) for d in self.x_train.shape[1:])


@dataclass
class NoOptions:
    """This dataset has no options."""
