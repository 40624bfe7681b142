"""The endpoints a checkpoint is served through, each a functional `keras.Model` from raw inputs to
named outputs with the training-time preprocessing inside, and the inputs it is checked on.

| kind | endpoints: inputs -> outputs |
|---|---|
| classifier | `serving_default`: images -> scores (the model's outputs); `classify`: images -> probabilities, classes |
| autoencoder | `serving_default`: images -> reconstructions |
| VAE | `encode`: images [, labels] -> z_mean, z_log_var; `decode`: latent [, labels] -> images |
| generator (GAN) | `serving_default`: noise [, labels, codes] -> images |

`images` are uint8 (N, H, W, C) as the dataset stores them: the exported model scales them to
[0, 1], subtracts the training pixel mean (`subtract_pixel_mean`), takes their luminance (a
colorizer) and reshapes them to the model's view; input noise (a denoiser's) is the caller's. `labels` are int32 class ids (one-hot inside); output
`images` are float32 in [0, 1], (N, H, W, C). Each endpoint's `expected` outputs come from the
Keras model on the data pipeline's own preprocessing (`ArrayPipeline.inference_inputs`), not from
the endpoint, so the check of an export also checks that its preprocessing is the training one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import keras
import numpy as np
from keras import layers, ops

from adl_runner.data.pipeline import luminance
from adl_runner.kernel.serving import Endpoint

LABELS = "labels"


@dataclass(frozen=True)
class ImageSource:
    """What a model that reads images is served with: the dataset's image shape, the training
    pixel mean, whether the model sees them gray, verification images and the pipeline's own
    preprocessing of them."""

    shape: tuple[int, int, int]
    pixel_mean: np.ndarray | None
    gray: bool
    """The model takes the luminance of RGB images (a colorizer)."""
    images: np.ndarray
    """uint8 verification images, (N, *shape)."""
    labels: np.ndarray
    """Their integer labels (conditional VAEs take them)."""
    reference: Callable[[np.ndarray], Any]
    """uint8 images -> the model's inputs, by the training pipeline's code (`inference_inputs`)."""


def raw_images(source: ImageSource) -> keras.KerasTensor:
    return keras.Input(source.shape, dtype="uint8", name="images")


def preprocessed(images: keras.KerasTensor, source: ImageSource, model_shape: tuple[int, ...]) -> keras.KerasTensor:
    """uint8 images -> the model's input: x / 255 - pixel mean, [luminance,] reshaped to its view."""
    offset = -source.pixel_mean.astype("float32") if source.pixel_mean is not None else 0.0
    x = layers.Rescaling(1.0 / 255.0, offset=offset, name="scale")(images)
    if source.gray:
        x = layers.Lambda(luminance, name="luminance")(x)
    return layers.Reshape(model_shape, name="view")(x) if tuple(model_shape) != tuple(x.shape[1:]) else x


def _predict(model: Any, inputs: Any) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(model(inputs, training=False)))


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
    expected_scores = _predict(model, source.reference(source.images))
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
                     {"images": source.images}, {"reconstructions": _predict(model, source.reference(source.images))})]


def _as_images(x: Any, shape: tuple[int, ...]) -> Any:
    """Flat (N, H*W*C) outputs reshaped to images; MNIST-like squares when no shape is known."""
    if len(x.shape) > 2:
        return x
    if len(shape) != 3:
        side = math.isqrt(int(x.shape[-1]))
        shape = (side, side, 1)
    return layers.Reshape(shape, name="image")(x)


def _label_input(n: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    labels = keras.Input((), dtype="int32", name=LABELS)
    return labels, ops.one_hot(labels, n)


def vae(model: Any, source: ImageSource) -> list[Endpoint]:
    """`encode` and `decode` of a (conditional) VAE; the sampled z is left out of `encode`, which
    is deterministic: z = z_mean + exp(z_log_var / 2) * N(0, 1) is the caller's draw."""
    images = raw_images(source)
    x = preprocessed(images, source, tuple(model.encoder.inputs[0].shape[1:]))
    reference = source.reference(source.images)
    onehot = ops.one_hot(ops.convert_to_tensor(source.labels), model.num_labels) if model.conditional else None
    encode_inputs, example = [images], {"images": source.images}
    if model.conditional:
        labels, hot = _label_input(model.num_labels)
        z_mean, z_log_var, _ = model.encoder([x, hot], training=False)
        encode_inputs.append(labels)
        example[LABELS] = source.labels.astype("int32")
        expected = model.encoder([reference, onehot], training=False)
    else:
        z_mean, z_log_var, _ = model.encoder(x, training=False)
        expected = model.encoder(reference, training=False)
    means = np.asarray(ops.convert_to_numpy(expected[0]))
    encode = Endpoint("encode", keras.Model(encode_inputs, {"z_mean": z_mean, "z_log_var": z_log_var}), example,
                      {"z_mean": means, "z_log_var": np.asarray(ops.convert_to_numpy(expected[1]))})
    latent = keras.Input((model.latent_dim,), name="latent")
    decode_inputs, decode_example = [latent], {"latent": means}
    if model.conditional:
        labels, hot = _label_input(model.num_labels)
        decoded = model.decoder([latent, hot], training=False)
        decode_inputs.append(labels)
        decode_example[LABELS] = source.labels.astype("int32")
        expected_images = _predict(model.decoder, [ops.convert_to_tensor(means), onehot])
    else:
        decoded = model.decoder(latent, training=False)
        expected_images = _predict(model.decoder, means)
    out = _as_images(decoded, source.shape)
    decode = Endpoint("decode", keras.Model(decode_inputs, {"images": out}), decode_example,
                      {"images": expected_images.reshape((-1, *out.shape[1:]))})
    return [encode, decode]


def generator(model: Any, batch: int, seed: int) -> list[Endpoint]:
    """`serving_default`: the generator's inputs (`z` served as `noise`, one-hot `labels` as class
    ids, codes as they are) -> images in [0, 1]: the GAN's own `to_unit` of its output."""
    rng = np.random.default_rng(seed)
    inputs, fed, example, given = [], [], {}, []
    for tensor, name in zip(model.generator.inputs, model.input_names):
        dim = int(tensor.shape[-1])
        if name == LABELS:
            labels, hot = _label_input(dim)
            ids = rng.integers(0, dim, batch).astype("int32")
            inputs.append(labels), fed.append(hot), given.append(np.eye(dim, dtype="float32")[ids])
            example[LABELS] = ids
            continue
        served = "noise" if name == "z" else name
        value = keras.Input((dim,), name=served)
        inputs.append(value), fed.append(value)
        example[served] = (rng.uniform(-1.0, 1.0, (batch, dim)) if name == "z" and model.noise == "uniform"
                           else rng.normal(0.0, 1.0, (batch, dim))).astype("float32")
        given.append(example[served])
    images = model.generator(fed if len(fed) > 1 else fed[0], training=False)
    if model.signed_images:
        images = (images + 1.0) / 2.0
    images = _as_images(images, ())
    given = [ops.convert_to_tensor(value) for value in given]
    expected = model.to_unit(model.generator(given if len(given) > 1 else given[0], training=False))
    return [Endpoint("serving_default", keras.Model(inputs, {"images": images}), example, {"images": expected})]
