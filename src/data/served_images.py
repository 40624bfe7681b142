"""The array pipeline's images as a served model takes them (task=export): raw uint8 in, the
pipeline's own preprocessing (scaling, the training pixel mean, a colorizer's luminance, the view)
as Keras layers inside the endpoint, so the served model needs nothing of the runner."""

from __future__ import annotations

import keras
from keras import layers

from adl_runner.data.pipeline import ArrayPipeline, luminance
from adl_runner.kernel.serving import ImageSource


def image_source(pipeline: ArrayPipeline, n: int) -> ImageSource:
    """The first `n` test images of `pipeline` as stored, with its pixel mean and preprocessing."""
    return ImageSource(pipeline.image_shape, pipeline.pixel_mean, pipeline.options.gray_input,
                       pipeline.images("test", n), pipeline.labels("test")[:n], pipeline.inference_inputs)


def preprocessed(images: keras.KerasTensor, source: ImageSource, model_shape: tuple[int, ...]) -> keras.KerasTensor:
    """uint8 images -> the model's input: x / 255 - pixel mean, [luminance,] reshaped to its view."""
    offset = -source.pixel_mean.astype("float32") if source.pixel_mean is not None else 0.0
    x = layers.Rescaling(1.0 / 255.0, offset=offset, name="scale")(images)
    if source.gray:
        x = layers.Lambda(luminance, name="luminance")(x)
    return layers.Reshape(model_shape, name="view")(x) if tuple(model_shape) != tuple(x.shape[1:]) else x
