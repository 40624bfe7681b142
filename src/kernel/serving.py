"""What a served model is made of (task=export): endpoints, each a functional `keras.Model` from
raw inputs to named outputs with the inputs it is checked on and what the Keras model gave on
them. The runner builds them for the kinds it knows (`runner.serving.endpoints`); a family whose
served form is its own (a detector's boxes after NMS) returns them from its `FitSpec.serve` hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np


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
