"""MINE's numbers in metrics.json, as registered evaluators (measured at the first and last
checkpoint intervals of a run, and by task=evaluate).

`mine_heldout` (the Gaussians): `mi_estimate`, the Donsker-Varadhan bound of the trained T over
the whole held-out test split (1,000,000 joint and 1,000,000 marginal samples by default, pooled,
not a mean of per-batch bounds); `mi_histogram`, the book's 100-bin histogram estimate of the same
joint samples; and the data's exact values (`mi_true`). The book prints instead the mean of the
per-batch bounds over the last 100 training steps: that is `train_mi` in metrics.json (and each
row of history.csv, one per 100 steps).

`mine_probe` (MNIST): `accuracy`, the linear probe's test accuracy on the encoder's embeddings
(`probe.LinearProbe`), and `mi_estimate`, the bound over one pass of the training split's
(X, G(X)) pairs in inference mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.evaluators import EVALUATORS
from adl_runner.kernel.hooks import DataView, QualityContext
from adl_runner.kernel.specs import EvaluatorSpec
from adl_runner.models.metrics.mutual_information import histogram_mi, pooled_donsker_varadhan


@EVALUATORS.register("mine_heldout", EvaluatorSpec(
    "MINE's bound on the held-out pairs beside the exact and the 100-bin histogram mutual information"))
def heldout_mi(model: Any, data: DataView, context: QualityContext) -> dict[str, float]:
    joint, marginal, xs, ys = [], [], [], []
    for pair, other in data.batches("test"):
        joint.append(np.asarray(model.predict_on_batch(list(pair))))
        marginal.append(np.asarray(model.predict_on_batch(list(other))))
        xs.append(np.asarray(pair[0]))
        ys.append(np.asarray(pair[1]))
    x, y = np.concatenate(xs), np.concatenate(ys)
    numbers = {"mi_estimate": pooled_donsker_varadhan(np.concatenate(joint), np.concatenate(marginal))}
    if x.shape[1:] == (1,) and y.shape[1:] == (1,):  # the histogram is of two scalar variables
        numbers["mi_histogram"] = histogram_mi(x, y)
    return {**numbers, **data.reference()}


@EVALUATORS.register("mine_probe", EvaluatorSpec(
    "linear-probe test accuracy on MINE's embeddings, and its bound over one training pass"))
def probe_accuracy(model: Any, data: DataView, context: QualityContext) -> dict[str, float]:
    if getattr(model, "encoder", None) is None or model.probe is None:
        raise IncompatibleError("the mine_probe evaluator needs a MINE model with an encoder and a probe (model=mine_encoder)")
    batches, _ = data.training_passes(1)
    train_z, train_y, joint, marginal = [], [], [], []
    for (x, g_x), labels in batches:
        zx, zg = np.asarray(model.encoder.predict_on_batch(x)), np.asarray(model.encoder.predict_on_batch(g_x))
        joint.append(np.asarray(model.statistic.predict_on_batch([zx, zg])))
        marginal.append(np.asarray(model.statistic.predict_on_batch([zx, np.roll(zg, 1, axis=0)])))
        train_z.append(zx)
        train_y.append(np.asarray(labels))
    test_z, test_y = [], []
    for x, labels in data.batches("test"):
        test_z.append(np.asarray(model.encoder.predict_on_batch(x)))
        test_y.append(np.asarray(labels))
    train = (np.concatenate(train_z), np.concatenate(train_y))
    test = (np.concatenate(test_z), np.concatenate(test_y))
    return {"accuracy": model.probe.accuracy(train, test, data.num_classes),
            "mi_estimate": pooled_donsker_varadhan(np.concatenate(joint), np.concatenate(marginal))}
