"""The fit loop's side of the trackers: a Keras callback."""

from __future__ import annotations

import keras

from adl_runner.kernel.custom_step import scaled_optimizers
from adl_runner.runner.tracking import Tracking


class TrackEpochs(keras.callbacks.Callback):
    """Sends each epoch's logs (a step-based run's: each interval's) and the learning rate of every
    optimizer the step applies (`learning_rate`, or `learning_rate/<name>` for a GAN's several) to
    the trackers, at the training step, so that scalars and a GAN's progress grids share one axis.
    Placed after the callbacks that add to the logs (the schedule's rate, sample-quality numbers)."""

    def __init__(self, tracking: Tracking) -> None:
        super().__init__()
        self.tracking = tracking

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.tracking.metrics({**(logs or {}), **learning_rates(self.model)},
                              step=int(self.model.optimizer.iterations.numpy()))


def learning_rates(model: keras.Model) -> dict[str, float]:
    """The current rate of each optimizer of `model` (a schedule's value at this step)."""
    optimizers = scaled_optimizers(model)
    rate = {name: float(keras.ops.convert_to_numpy(optimizer.learning_rate)) for name, (optimizer, _) in optimizers.items()}
    return {"learning_rate": next(iter(rate.values()))} if len(rate) == 1 else {f"learning_rate/{name}": value
                                                                               for name, value in rate.items()}
