"""The data and the in-process fits that several benchmarks time: MNIST (or synthetic) arrays, the
plain Keras side and the runner's side of the same classifier."""

from __future__ import annotations

import time
from typing import Any, Callable

from harness import Settings

BATCH = 128
QUICK_TRAIN = 4096
# the families that threads and xla time, and their examples per MLP/CNN epoch (--quick, full)
FAMILIES = ("mlp", "cnn", "gan")
CASE_TRAIN = {True: 2048, False: 12000}


def mnist_arrays(s: Settings, limit: int | None = None) -> tuple[Any, Any, str]:
    """uint8 (n, 28, 28, 1) images and int labels: real MNIST if present, else synthetic. `limit`:
    the first `limit` training examples (default: QUICK_TRAIN with --quick, else all 60,000)."""
    n = limit or (QUICK_TRAIN if s.quick else None)
    if s.data_dir is not None:
        from adl_runner.data.store import DataStore
        from adl_runner.data.vision import NoOptions, load_mnist

        splits = load_mnist(DataStore(s.data_dir), NoOptions())
        return splits.x_train[:n], splits.y_train[:n], "mnist"
    from adl_runner.data.synthetic import make_splits

    splits = make_splits((28, 28, 1), 10, n or 60000, 256, 0)  # the test split is not used
    return splits.x_train, splits.y_train, "synthetic"


def plain_model(name: str):
    """The same networks as models.classifiers, written out the way a plain Keras script would."""
    import keras
    from keras import layers

    if name == "mlp":
        return keras.Sequential([
            keras.Input((784,)),
            layers.Dense(256), layers.Activation("relu"), layers.Dropout(0.45),
            layers.Dense(256), layers.Activation("relu"), layers.Dropout(0.45),
            layers.Dense(10), layers.Activation("softmax"),
        ])
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(), layers.Dropout(0.2), layers.Dense(10), layers.Activation("softmax"),
    ])


def epoch_timer():
    """A Keras callback that records the wall time of every epoch (begin to end)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._start)

    return EpochTimer()


def fit_plain(name: str, x, y, epochs: int) -> list[float]:
    """Epoch times of `model.fit` on NumPy float arrays with Keras defaults."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = plain_model(name)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = epoch_timer()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, callbacks=[timer], verbose=0)
    return timer.times


def runner_model(name: str, pipeline: Any, jit_compile: Any) -> Any:
    """The registry model `name` with its default options, compiled as `runner.tasks.compile_model`
    compiles it for one-hot labels (runner Adam, `jit_compile` as `trainer.jit_compile` hands it on)."""
    import keras

    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.runner.families import load_families
    from adl_runner.runner.optim import AdamOptions, adam

    load_families()
    keras.utils.set_random_seed(0)
    entry = MODELS.get(name)
    model = entry.build(entry.spec.options(), BuildContext(0, pipeline.input_shape, pipeline.num_classes))
    model.compile(optimizer=adam(AdamOptions()), loss="categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    return model


def fit_runner(name: str, pipeline, epochs: int, jit_compile: Any = "auto") -> list[float]:
    """Epoch times of the runner's path: registry model, runner optimizer, tf.data pipeline.
    `jit_compile`: what `trainer.jit_compile` hands to `compile` (auto, True, False)."""
    import keras

    keras.backend.clear_session()
    model = runner_model(name, pipeline, jit_compile)
    timer = epoch_timer()
    model.fit(pipeline.train(0, epochs), epochs=epochs, steps_per_epoch=pipeline.steps_per_epoch(),
              callbacks=[timer], shuffle=False, verbose=0)
    return timer.times


def runner_pipeline(name: str, x_u8, y):
    """The runner's `ArrayPipeline` over these arrays, in the view the model takes (no validation)."""
    from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions

    options = PipelineOptions(view="flat" if name == "mlp" else "image", onehot=True, batch_size=BATCH, seed=0)
    return ArrayPipeline(x_u8, y, x_u8[:BATCH], y[:BATCH], 10, options)


def fit_cases(name: str, x_u8, y, epochs: int) -> dict[str, Callable[[], list[float]]]:
    """{'plain': ..., 'runner': ...}: each call trains a fresh model and returns its epoch times."""
    import numpy as np

    x = x_u8.astype(np.float32) / 255.0
    x = x.reshape(len(x), -1) if name == "mlp" else x
    y_onehot = np.eye(10, dtype=np.float32)[y]
    pipeline = runner_pipeline(name, x_u8, y)
    return {"plain": lambda: fit_plain(name, x, y_onehot, epochs),
            "runner": lambda: fit_runner(name, pipeline, epochs)}
