"""`evaluate.bn_recalibrate=<batches>`: the BatchNorm statistics a fit-loop model is scored with,
re-estimated from the training split (`kernel.batchnorm`) before task=evaluate's scoring and before
the end-of-training evaluation. Only the model in memory changes: no checkpoint is written here."""

from __future__ import annotations

import logging
from typing import Any

import keras

from adl_runner.kernel.batchnorm import batchnorm_layers, recalibrate_batchnorm
from adl_runner.kernel.errors import ConfigError, IncompatibleError

log = logging.getLogger("runner")


def _train_batches(pipeline: Any) -> Any:
    """The training split in inference view (the inputs scoring sees: no augmentation), in order."""
    return pipeline.evaluation("train")


def check_recalibration(batches: int, model: keras.Model, model_name: str, pipeline: Any) -> None:
    """Refuse, before anything is trained or scored, a recalibration that cannot happen as asked: a
    model without inputs to feed (a GAN scored on its samples), without a BatchNormalization layer,
    or more batches than the training split holds."""
    if not batches:
        return
    given = f"evaluate.bn_recalibrate={batches}"
    if not getattr(model, "inputs", None):
        raise IncompatibleError(f"{given}: model '{model_name}' takes no dataset inputs to re-estimate its BatchNorm "
                                "statistics from; leave it at 0")
    if not batchnorm_layers(model):
        raise IncompatibleError(f"{given}: model '{model_name}' has no (trainable) BatchNormalization layer to "
                                "recalibrate; leave it at 0")
    available = int(_train_batches(pipeline).cardinality())
    if batches > available:
        raise ConfigError(f"{given} is more than the training split's {available} batches "
                          f"({pipeline.n_train} examples); valid: 0..{available}")


def recalibrated(batches: int, model: keras.Model, pipeline: Any) -> bool:
    """Re-estimate `model`'s BatchNorm statistics from `batches` training batches spread evenly over
    the split (every k-th, k = its batches // `batches`); whether anything was done."""
    if not batches:
        return False
    data = _train_batches(pipeline)
    stride = int(data.cardinality()) // batches
    log.info("re-estimating the BatchNorm statistics of %d layers from %d of the %d training batches (one in %d)",
             len(batchnorm_layers(model)), batches, int(data.cardinality()), stride)
    recalibrate_batchnorm(model, (batch[0] for batch in data.shard(stride, 0).take(batches)))
    return True
