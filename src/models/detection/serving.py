"""The SSD as a served model (task=export): raw uint8 images of the model's input size in, its
detections after the book's NMS (`nms.detect`, a `tf.while_loop` that traces into the graph, hard or
soft as the model is set) out, padded to a fixed `max_detections` per image.

| output | shape, dtype | what |
|---|---|---|
| `boxes` | (N, max_detections, 4) float32 | xmin, xmax, ymin, ymax in pixels of the input image, clipped to it |
| `scores` | (N, max_detections) float32 | the class score when NMS kept the box (soft NMS: after its decay) |
| `classes` | (N, max_detections) int32 | class ids of the dataset's class list (0, the background, is never kept) |
| `num_detections` | (N,) int32 | how many rows are detections, best first; the rest are zeros |

The check's reference is the Keras model's own detection path (`SSD.detect`, as evaluate and
predict use it) on the same images scaled as the `boxes` input kind scales them, cut to
`max_detections` and clipped as above.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from adl_runner.data.inputs.base import scaled
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.hooks import DataView
from adl_runner.kernel.serving import Endpoint, ServeOptions
from adl_runner.models.detection.nms import detect

FORMATS = ("tf_saved_model", "onnx")
"""Where the exported NMS runs; LiteRT converts its loop's slicing to a FlexStridedSlice, which its interpreter lacks."""


class PaddedDetections(layers.Layer):
    """[class probabilities (N, A, C), offsets (N, A, 4)] -> the served outputs (module docstring)."""

    def __init__(self, anchors: np.ndarray, image_hw: tuple[int, int], normalize: bool, class_threshold: float,
                 iou_threshold: float, soft: bool, max_detections: int, **kwargs: Any) -> None:
        super().__init__(autocast=False, **kwargs)
        self.anchors, self.image_hw, self.normalize = np.asarray(anchors, np.float32), image_hw, normalize
        self.class_threshold, self.iou_threshold, self.soft = class_threshold, iou_threshold, soft
        self.max_detections = max_detections

    def call(self, inputs: list[tf.Tensor]) -> dict[str, tf.Tensor]:
        class_probs, offsets = inputs
        found, boxes = detect(class_probs, offsets, tf.constant(self.anchors), self.normalize, self.class_threshold,
                              self.iou_threshold, self.soft, self.max_detections)
        height, width = self.image_hw
        boxes = tf.clip_by_value(boxes, 0.0, tf.constant([width, width, height, height], tf.float32))
        missing = self.max_detections - tf.shape(found.indexes)[1]  # detect keeps only as many columns as needed

        def pad(x: tf.Tensor) -> tf.Tensor:
            return tf.pad(x, [[0, 0], [0, missing]] + [[0, 0]] * (len(x.shape) - 2))

        return {"boxes": pad(boxes), "scores": pad(found.scores), "classes": pad(found.classes),
                "num_detections": tf.reduce_sum(tf.cast(found.indexes >= 0, tf.int32), axis=-1)}

    def compute_output_spec(self, inputs: list[Any]) -> dict[str, keras.KerasTensor]:
        n, m = inputs[0].shape[0], self.max_detections
        return {"boxes": keras.KerasTensor((n, m, 4), "float32"), "scores": keras.KerasTensor((n, m), "float32"),
                "classes": keras.KerasTensor((n, m), "int32"), "num_detections": keras.KerasTensor((n,), "int32")}


def reference_detections(found: list[dict[str, np.ndarray]], image_hw: tuple[int, int], max_detections: int) -> dict[str, np.ndarray]:
    """`SSD.detect`'s per-image detections as the served outputs: clipped, cut and zero-padded."""
    height, width = image_hw
    n = len(found)
    out = {"boxes": np.zeros((n, max_detections, 4), np.float32), "scores": np.zeros((n, max_detections), np.float32),
           "classes": np.zeros((n, max_detections), np.int32), "num_detections": np.zeros(n, np.int32)}
    for i, each in enumerate(found):
        k = min(len(each["scores"]), max_detections)
        out["boxes"][i, :k] = np.clip(each["boxes"][:k], 0.0, [width, width, height, height])
        out["scores"][i, :k], out["classes"][i, :k], out["num_detections"][i] = each["scores"][:k], each["classes"][:k], k
    return out


def serve_detections(model: Any, data: DataView, options: ServeOptions) -> list[Endpoint]:
    """`serving_default` of an SSD (`ssd.SSD`, with its NMS settings): images -> boxes, scores, classes, num_detections, checked
    on the first `options.examples` test images."""
    if options.format not in FORMATS:
        raise IncompatibleError(f"export.format={options.format} cannot serve model 'ssd': its NMS loop converts to "
                                f"TensorFlow (Flex) ops the LiteRT interpreter does not run; formats that serve it: "
                                f"{', '.join(FORMATS)}")
    shape = tuple(int(d) for d in model.network.inputs[0].shape[1:])
    images = keras.Input(shape, dtype="uint8", name="images")
    class_probs, offsets = model.network(layers.Rescaling(1.0 / 255.0, name="scale")(images), training=False)
    outputs = PaddedDetections(np.asarray(model.anchors), shape[:2], model.normalize, model.class_threshold,
                               model.iou_threshold, model.soft_nms, options.max_detections,
                               name="detections")([class_probs, offsets])
    batch, _ = data.examples(options.examples, "test")  # in [0, 1], as the pipeline scaled the stored uint8 images
    raw = np.round(np.asarray(batch) * 255.0).astype(np.uint8)
    expected = reference_detections(model.detect(scaled(raw)), shape[:2], options.max_detections)
    return [Endpoint("serving_default", keras.Model(images, outputs), {"images": raw}, expected)]
