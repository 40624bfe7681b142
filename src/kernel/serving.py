"""What a served model is made of (task=export): endpoints, each a functional `keras.Model` from
raw inputs to named outputs with the inputs it is checked on and what the Keras model gave on
them. The runner builds them for the objectives it knows (a classifier's, an autoencoder's:
`runner.serving.endpoints`); a family whose served form is its own (a GAN's generator, a VAE's
encoder and decoder, a detector's boxes after NMS) returns them from its `FitSpec.serve` hook, with
the pieces below that every image endpoint shares."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import keras
import numpy as np
from keras import layers, ops

from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.hooks import DataView

LABELS = "labels"
"""The served name of a class input: int32 class ids, one-hot inside (`label_input`)."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    model: keras.Model
    """Named inputs -> a dict of named outputs."""
    example: dict[str, np.ndarray]
    """Inputs the export is checked on, by input name."""
    expected: dict[str, np.ndarray]
    """The Keras model's outputs on them, by output name."""

    def input_signature(self) -> list[Any]:
        """One positional argument, as Keras' exporters take it: a spec, or the list of a
        multi-input model's specs."""
        import tensorflow as tf

        specs = [tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=t.name) for t in self.model.inputs]
        return [specs if len(specs) > 1 else specs[0]]

    def describe(self) -> dict[str, Any]:
        """Input and output names with their shapes and dtypes (export.json)."""
        def spec(t: Any) -> dict[str, Any]:
            return {"shape": [None if d is None else int(d) for d in t.shape], "dtype": str(t.dtype)}

        return {"inputs": {t.name: spec(t) for t in self.model.inputs},
                "outputs": {name: spec(t) for name, t in self.model.output.items()}}


@dataclass(frozen=True)
class ServeOptions:
    """What a family's `serve` hook is asked for (the `export` config)."""

    format: str
    """tf_saved_model, onnx or litert: a hook refuses, by name, one its model cannot be served in."""
    examples: int
    """Test inputs the export is checked on."""
    max_detections: int
    """A detector's detections per image: its outputs are padded to this many."""
    seed: int
    """Seeds the inputs a generator's export is checked on (the job's seed)."""


@dataclass(frozen=True)
class ImageSource:
    """What a model that reads images is served with: the dataset's image shape, the training
    pixel mean, whether the model sees them gray, verification images and the pipeline's own
    preprocessing of them."""

    shape: tuple[int, ...]
    """(H, W, C) of the stored images."""
    pixel_mean: np.ndarray | None
    gray: bool
    """The model takes the luminance of RGB images (a colorizer)."""
    images: np.ndarray
    """uint8 verification images, (N, *shape)."""
    labels: np.ndarray
    """Their integer labels (conditional VAEs take them)."""
    reference: Callable[[np.ndarray], Any]
    """uint8 images -> the model's inputs, by the training pipeline's code (`inference_inputs`)."""


class ServeData(DataView, Protocol):
    """What a `serve` hook reads of the run's data: the examples as the model sees them
    (`DataView`) and, for a model that reads stored images, those images raw."""

    def source(self, n: int) -> ImageSource:
        """The first `n` test images as the dataset stores them, with the training preprocessing
        an export puts inside (an array pipeline's; refused for another input kind)."""
        ...


def require_whole(model: Any, kind: type) -> None:
    """A `serve` hook's check that a checkpoint holds its family's whole model, not one network
    saved alone (a GAN's generator.keras), which has no serving signature."""
    if not isinstance(model, kind):
        name = kind.__name__
        raise IncompatibleError(f"the checkpoint holds '{model.name}', not a whole {name}: one of its networks alone has "
                                f"no serving signature; task=export serves a {name} from its run's checkpoints/best.keras "
                                f"or last.keras")


def raw_images(source: ImageSource) -> keras.KerasTensor:
    return keras.Input(source.shape, dtype="uint8", name="images")


def label_input(n: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """A class-id input (`LABELS`) and its one-hot encoding over `n` classes, what the model takes."""
    labels = keras.Input((), dtype="int32", name=LABELS)
    return labels, ops.one_hot(labels, n)


def as_images(x: Any, shape: tuple[int, ...]) -> Any:
    """Flat (N, H*W*C) outputs reshaped to images; MNIST-like squares when no shape is known."""
    if len(x.shape) > 2:
        return x
    if len(shape) != 3:
        side = math.isqrt(int(x.shape[-1]))
        shape = (side, side, 1)
    return layers.Reshape(shape, name="image")(x)


def predicted(model: Any, inputs: Any) -> np.ndarray:
    """The Keras model's output on `inputs` in inference mode, as NumPy: an endpoint's `expected`."""
    return np.asarray(ops.convert_to_numpy(model(inputs, training=False)))
