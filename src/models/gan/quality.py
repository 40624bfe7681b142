"""The GANs' `quality` hook and `mnist_fid` evaluator: MNIST-FID and label-control accuracy of
generated digits, measured with the runner's cached MNIST judge (`models.metrics.gan_quality`).

Measured on a fixed set of generator inputs drawn from a private NumPy generator (seed 0), so the
numbers of successive intervals are comparable and measuring never consumes the model's own
random state: a resumed run still ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from adl_runner.kernel.evaluators import EVALUATORS
from adl_runner.kernel.specs import EvaluatorSpec

if TYPE_CHECKING:
    from adl_runner.kernel.hooks import DataView, QualityContext
    from adl_runner.models.metrics.gan_quality import MnistJudge

log = logging.getLogger("runner")

MNIST_DATASETS = ("mnist", "mnist32")
"""Datasets whose generated images the MNIST judge can measure."""
MEASURE_SEED = 0
_judges: dict[Path, MnistJudge] = {}


def _judge(context: QualityContext) -> MnistJudge:
    from adl_runner.models.metrics.gan_quality import MnistJudge

    if context.cache_dir not in _judges:
        _judges[context.cache_dir] = MnistJudge.load_or_train(
            context.data_dir, verify=context.verify, cache_dir=context.cache_dir
        )
    return _judges[context.cache_dir]


def measurement_inputs(generator: keras.Model, n: int) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Fixed inputs for `n` images: U(-1, 1) noise, labels 0..9 in turn, N(0, 0.5) codes; and the labels."""
    rng = np.random.default_rng(MEASURE_SEED)
    inputs, labels = [], None
    for tensor in generator.inputs:
        name, dim = tensor.name.split(":")[0], int(tensor.shape[-1])
        if name == "z":
            inputs.append(rng.uniform(-1.0, 1.0, (n, dim)).astype(np.float32))
        elif name == "labels":
            labels = np.arange(n) % dim
            inputs.append(np.eye(dim, dtype=np.float32)[labels])
        else:
            inputs.append(rng.normal(0.0, 0.5, (n, dim)).astype(np.float32))
    return inputs, labels


def measure_quality(model: keras.Model, context: QualityContext) -> dict[str, float]:
    """{'fid': MNIST-FID[, 'label_accuracy': share judged as the requested digit, 'code_accuracy': the
    same after the best code -> digit matching (InfoGAN's discrete-code accuracy)]}; {} off MNIST."""
    from adl_runner.models.metrics.gan_quality import label_accuracy, matched_accuracy

    if context.dataset not in MNIST_DATASETS:
        return {}
    judge = _judge(context)
    inputs, labels = measurement_inputs(model.generator, context.samples)
    images = model.to_unit(model.generator.predict(inputs if len(inputs) > 1 else inputs[0], batch_size=500, verbose=0))
    numbers: dict[str, Any] = {"fid": judge.fid(images)}
    if labels is not None:
        numbers["label_accuracy"] = label_accuracy(judge, images, labels)
        numbers["code_accuracy"] = matched_accuracy(judge, images, labels)
    return {key: float(value) for key, value in numbers.items()}


@EVALUATORS.register("mnist_fid", EvaluatorSpec("MNIST-FID (and label/code accuracy) of generated samples, by the MNIST judge"))
def mnist_fid(model: keras.Model, data: DataView, context: QualityContext) -> dict[str, float]:
    """`measure_quality` as an evaluator: generated samples are judged, the run's data is not read."""
    return measure_quality(model, context)
