"""The export formats of task=export, each through Keras 3's own exporters: how the endpoints are
written into a version folder and how the written files are loaded back and called.

| format | files in export/.../<version>/ | reloaded by | needs |
|---|---|---|---|
| tf_saved_model | a SavedModel, one signature per endpoint (`serving_default` first) | `tf.saved_model.load` | TensorFlow |
| onnx | `<endpoint>.onnx` | onnxruntime | `pip install 'adl-runner[onnx]'` (tf2onnx, onnxruntime) |
| litert | `<endpoint>.tflite` | the LiteRT interpreter (`ai_edge_litert`, else TF's `tf.lite`) | TensorFlow (`[litert]`: ai-edge-litert) |
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.serving import Endpoint

Outputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class Format:
    name: str
    folder: str
    """Where its versions go under export/ ("" : export/<name>/<version>/, TF Serving's layout)."""
    modules: tuple[str, ...]
    """Python modules it cannot do without, beyond TensorFlow and Keras."""
    extra: str
    """The pip extra that installs them (or, for litert, the recommended interpreter)."""
    write: Callable[[list[Endpoint], Path], None]
    call: Callable[[Path, Endpoint], Outputs]
    """Load the written files and call one endpoint on its example."""

    def require(self) -> None:
        """One line naming the install when a module this format needs is missing."""
        missing = [m for m in self.modules if importlib.util.find_spec(m) is None]
        if missing:
            raise IncompatibleError(f"export.format={self.name} needs {', '.join(missing)}: "
                                    f"pip install 'adl-runner[{self.extra}]'")


def _served(endpoint: Endpoint) -> Callable[..., Any]:
    return functools.partial(endpoint.model, training=False)


def write_saved_model(endpoints: list[Endpoint], folder: Path) -> None:
    archive = keras.export.ExportArchive()
    for endpoint in endpoints:
        archive.track(endpoint.model)
        archive.add_endpoint(endpoint.name, _served(endpoint), input_signature=endpoint.input_signature())
    archive.write_out(str(folder), verbose=False)  # the first endpoint is also serving_default


def call_saved_model(folder: Path, endpoint: Endpoint) -> Outputs:
    import tensorflow as tf

    signature = tf.saved_model.load(str(folder)).signatures[endpoint.name]
    return {k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in endpoint.example.items()}).items()}


def _write_each(suffix: str, keras_format: str) -> Callable[[list[Endpoint], Path], None]:
    def write(endpoints: list[Endpoint], folder: Path) -> None:
        for endpoint in endpoints:
            endpoint.model.export(str(folder / f"{endpoint.name}{suffix}"), format=keras_format, verbose=False,
                                  input_signature=endpoint.input_signature())
    return write


def call_onnx(folder: Path, endpoint: Endpoint) -> Outputs:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(folder / f"{endpoint.name}.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, endpoint.example)))


def call_litert(folder: Path, endpoint: Endpoint) -> Outputs:
    if importlib.util.find_spec("ai_edge_litert") is not None:
        from ai_edge_litert.interpreter import Interpreter
    else:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    runner = Interpreter(model_path=str(folder / f"{endpoint.name}.tflite")).get_signature_runner()
    return {k: np.asarray(v) for k, v in runner(**endpoint.example).items()}


FORMATS = {
    "tf_saved_model": Format("tf_saved_model", "", (), "", write_saved_model, call_saved_model),
    "onnx": Format("onnx", "onnx", ("tf2onnx", "onnx", "onnxruntime"), "onnx", _write_each(".onnx", "onnx"), call_onnx),
    "litert": Format("litert", "litert", (), "litert", _write_each(".tflite", "litert"), call_litert),
}


def largest_differences(fmt: Format, folder: Path, endpoints: list[Endpoint]) -> dict[str, dict[str, float]]:
    """Each endpoint's outputs reloaded from `folder` against the Keras model's: the largest
    absolute difference per output (a missing output or a shape that differs is infinite)."""
    found: dict[str, dict[str, float]] = {}
    for endpoint in endpoints:
        got = fmt.call(folder, endpoint)
        found[endpoint.name] = {
            name: (float(np.max(np.abs(np.asarray(got[name], np.float64) - np.asarray(want, np.float64)), initial=0.0))
                   if name in got and np.shape(got[name]) == np.shape(want) else float("inf"))
            for name, want in endpoint.expected.items()}
    return found
