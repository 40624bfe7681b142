"""The endpoints the runner serves a checkpoint through by its objective, each a functional
`keras.Model` from raw images to named outputs with the training-time preprocessing inside, and the
inputs it is checked on. A family whose served form is its own returns its endpoints from its
`FitSpec.serve` hook instead (a GAN's generator: models/gan/serving.py; a VAE's encoder and
decoder: models/vae/serving.py; an SSD's detections: models/detection/serving.py).

| kind | endpoints: inputs -> outputs |
|---|---|
| classifier | `serving_default`: images -> scores (the model's outputs); `classify`: images -> probabilities, classes |
| autoencoder | `serving_default`: images -> reconstructions |

`images` are uint8 (N, H, W, C) as the dataset stores them: the exported model scales them to
[0, 1], subtracts the training pixel mean (`subtract_pixel_mean`), takes their luminance (a
colorizer) and reshapes them to the model's view (`data.served_images.preprocessed`); input noise (a
denoiser's) is the caller's. Each endpoint's `expected` outputs come from the Keras model on the
data pipeline's own preprocessing (`ArrayPipeline.inference_inputs`), not from the endpoint, so the
check of an export also checks that its preprocessing is the training one.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from adl_runner.data.served_images import preprocessed
from adl_runner.kernel.serving import Endpoint, ImageSource, predicted, raw_images


def outputs_probabilities(model: keras.Model) -> bool:
    """Whether a classifier ends in a softmax (the book's chapter 1-2 heads) rather than logits."""
    last = model.layers[-1]
    return getattr(last, "activation", None) is keras.activations.softmax


def class_ids(probabilities: keras.KerasTensor) -> keras.KerasTensor:
    """The argmax as int32, by TensorFlow's own op: Keras' `ops.argmax` adds a bitcast (its
    negative-zero fix) that neither LiteRT's builtin ops nor tf2onnx convert. The layer is int32
    (what it outputs, as export.json says) without autocast (which would cast its float input)."""
    import tensorflow as tf

    return layers.Lambda(lambda p: tf.argmax(p, axis=-1, output_type=tf.int32), dtype="int32", autocast=False,
                         name="classes")(probabilities)


def classifier(model: keras.Model, source: ImageSource) -> list[Endpoint]:
    images = raw_images(source)
    x = preprocessed(images, source, tuple(model.inputs[0].shape[1:]))
    scores = model(x if len(model.inputs) == 1 else [x] * len(model.inputs), training=False)
    probabilities = scores if outputs_probabilities(model) else ops.softmax(scores, axis=-1)
    expected_scores = predicted(model, source.reference(source.images))
    expected_probabilities = (expected_scores if outputs_probabilities(model)
                              else np.asarray(ops.convert_to_numpy(ops.softmax(expected_scores, axis=-1))))
    example = {"images": source.images}
    return [
        Endpoint("serving_default", keras.Model(images, {"scores": scores}), example, {"scores": expected_scores}),
        Endpoint("classify", keras.Model(images, {"probabilities": probabilities, "classes": class_ids(probabilities)}),
                 example, {"probabilities": expected_probabilities, "classes": expected_probabilities.argmax(axis=-1)}),
    ]


def autoencoder(model: keras.Model, source: ImageSource) -> list[Endpoint]:
    images = raw_images(source)
    reconstructions = model(preprocessed(images, source, tuple(model.inputs[0].shape[1:])), training=False)
    return [Endpoint("serving_default", keras.Model(images, {"reconstructions": reconstructions}),
                     {"images": source.images}, {"reconstructions": predicted(model, source.reference(source.images))})]
