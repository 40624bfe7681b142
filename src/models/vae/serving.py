"""A VAE as a served model (task=export), the `serve` hook of every VAE family:

| endpoint | inputs -> outputs |
|---|---|
| `encode` | `images` (uint8, as stored) [, `labels`] -> `z_mean`, `z_log_var` |
| `decode` | `latent` [, `labels`] -> `images` (float32, N x H x W x C) |

The sampled z is left out of `encode`, which is deterministic: z = z_mean + exp(z_log_var / 2) *
N(0, 1) is the caller's draw. `labels` are int32 class ids (a conditional VAE's; one-hot inside).
The check's reference is the Keras encoder and decoder on the training pipeline's own
preprocessing of the same images.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from adl_runner.data.served_images import preprocessed
from adl_runner.kernel.serving import (
    LABELS,
    Endpoint,
    ImageSource,
    ServeData,
    ServeOptions,
    as_images,
    label_input,
    predicted,
    raw_images,
    require_whole,
)
from adl_runner.models.vae.model import VAE


def serve_vae(model: Any, data: ServeData, options: ServeOptions) -> list[Endpoint]:
    """`encode` and `decode`, checked on the first `options.examples` test images."""
    require_whole(model, VAE)
    return vae_endpoints(model, data.source(options.examples))


def vae_endpoints(model: VAE, source: ImageSource) -> list[Endpoint]:
    images = raw_images(source)
    x = preprocessed(images, source, tuple(model.encoder.inputs[0].shape[1:]))
    reference = source.reference(source.images)
    onehot = ops.one_hot(ops.convert_to_tensor(source.labels), model.num_labels) if model.conditional else None
    encode_inputs, example = [images], {"images": source.images}
    if model.conditional:
        labels, hot = label_input(model.num_labels)
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
        labels, hot = label_input(model.num_labels)
        decoded = model.decoder([latent, hot], training=False)
        decode_inputs.append(labels)
        decode_example[LABELS] = source.labels.astype("int32")
        expected_images = predicted(model.decoder, [ops.convert_to_tensor(means), onehot])
    else:
        decoded = model.decoder(latent, training=False)
        expected_images = predicted(model.decoder, means)
    out = as_images(decoded, source.shape)
    decode = Endpoint("decode", keras.Model(decode_inputs, {"images": out}), decode_example,
                      {"images": expected_images.reshape((-1, *out.shape[1:]))})
    return [encode, decode]
