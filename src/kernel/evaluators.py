"""Evaluators: dataset-wide numbers measured on a trained model, registered by name.

An evaluator is `evaluate(model, data, context) -> {metric: value}` (a float, or a list of floats,
one per head): the model, its data as the model sees it (`DataView`), and where cached judges and
data files live (`QualityContext`). It
returns {} when it does not apply (an MNIST judge asked about CIFAR samples). Families register
theirs with `@EVALUATORS.register(name, EvaluatorSpec(summary))` at import; the runner runs those a config names
(`adl_runner.runner.evaluators`).
"""

from __future__ import annotations

from typing import Any, Protocol

from adl_runner.kernel.hooks import DataView, QualityContext
from adl_runner.kernel.registry import Registry
from adl_runner.kernel.specs import EvaluatorSpec


class Evaluator(Protocol):
    def __call__(self, model: Any, data: DataView, context: QualityContext) -> dict[str, Any]: ...


EVALUATORS: Registry[Evaluator, EvaluatorSpec] = Registry("evaluator", (EvaluatorSpec,))
