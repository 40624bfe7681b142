"""Re-estimating BatchNormalization's moving statistics from data (torch's `swa_utils.update_bn`).

A BatchNormalization layer scores with moving averages of its training batches' means and
variances (momentum 0.99 by default: each new batch weighs 1 %). After a short training the
averages still lag the weights, which have moved on since the batches that fill them, and the
inference-mode scores suffer (IIC after 400 steps: docs/results/iic.md). `recalibrate_batchnorm`
replaces them with the plain (cumulative) average over some batches seen by the final weights:
before the k-th batch each layer's momentum is set to (k - 1) / k, so every batch counts equally
and nothing of the old averages is left, as torch's `momentum=None`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

from adl_runner.kernel.keras_state import restore_seed_states, seed_states


def batchnorm_layers(model: keras.Layer) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer of `model` and of its nested models, that trains its statistics
    (Keras runs a frozen one, `trainable=False`, in inference mode: its statistics are the user's)."""
    return [layer for layer in model._flatten_layers()
            if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]


def recalibrate_batchnorm(model: keras.Layer, batches: Iterable[Any]) -> int:
    """Set every BatchNormalization layer's moving mean and variance to the average of its batch
    means and (biased, as Keras' training uses them) variances over `batches` of model inputs, each
    batch weighing the same; returns the number of batches. The model runs in training mode (as
    torch's `update_bn`: dropout active); the layers' momentum and the model's random-generator
    states are restored afterwards, so only the statistics change. Eager calls: a Keras
    BatchNormalization reads its momentum as a Python float at call time."""
    layers = batchnorm_layers(model)
    momenta = [layer.momentum for layer in layers]
    generators = seed_states(model)
    seen = 0
    try:
        for inputs in batches:
            seen += 1
            for layer in layers:
                layer.momentum = (seen - 1) / seen
            model(inputs, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        restore_seed_states(model, generators)
    return seen
