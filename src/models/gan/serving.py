"""A GAN as a served model (task=export), the `serve` hook of every GAN family (`GAN_HOOKS`):
`serving_default`, the generator's inputs (`z` served as `noise`, one-hot `labels` as int32 class
ids, codes as they are) -> `images`, float32 in [0, 1] (N x H x W x C): the GAN's own `to_unit` of
its output. It reads no data: the check draws its inputs from the job's seed."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from adl_runner.kernel.serving import LABELS, Endpoint, ServeData, ServeOptions, as_images, label_input, require_whole
from adl_runner.models.gan.base import GAN


def serve_generator(model: Any, data: ServeData, options: ServeOptions) -> list[Endpoint]:
    """The generator, checked on `options.examples` inputs drawn from `options.seed`."""
    require_whole(model, GAN)
    return generator_endpoints(model, options.examples, options.seed)


def generator_endpoints(model: GAN, batch: int, seed: int) -> list[Endpoint]:
    rng = np.random.default_rng(seed)
    inputs, fed, example, given = [], [], {}, []
    for tensor, name in zip(model.generator.inputs, model.input_names):
        dim = int(tensor.shape[-1])
        if name == LABELS:
            labels, hot = label_input(dim)
            ids = rng.integers(0, dim, batch).astype("int32")
            inputs.append(labels)
            fed.append(hot)
            given.append(np.eye(dim, dtype="float32")[ids])
            example[LABELS] = ids
            continue
        served = "noise" if name == "z" else name
        value = keras.Input((dim,), name=served)
        inputs.append(value)
        fed.append(value)
        example[served] = (rng.uniform(-1.0, 1.0, (batch, dim)) if name == "z" and model.noise == "uniform"
                           else rng.normal(0.0, 1.0, (batch, dim))).astype("float32")
        given.append(example[served])
    images = model.generator(fed if len(fed) > 1 else fed[0], training=False)
    if model.signed_images:
        images = (images + 1.0) / 2.0
    images = as_images(images, ())
    given = [ops.convert_to_tensor(value) for value in given]
    expected = model.to_unit(model.generator(given if len(given) > 1 else given[0], training=False))
    return [Endpoint("serving_default", keras.Model(inputs, {"images": images}), example, {"images": expected})]
