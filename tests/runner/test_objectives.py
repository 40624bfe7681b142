"""The objective a model family registers decides its targets and compile arguments."""

from __future__ import annotations

import pytest

from adl_runner.kernel.errors import ConfigError
from adl_runner.runner.objectives import objective_of


def test_classifiers_get_crossentropy_by_label_encoding_and_accuracy() -> None:
    classify = objective_of("classify")
    assert classify.targets == "labels"
    assert classify.compile_args(None, onehot=True) == {"loss": "categorical_crossentropy", "metrics": ["accuracy"]}
    assert classify.compile_args(None, onehot=False)["loss"] == "sparse_categorical_crossentropy"


def test_reconstruction_uses_the_family_loss_and_self_trained_models_none() -> None:
    assert objective_of("reconstruct").compile_args("mse", onehot=True) == {"loss": "mse"}
    assert objective_of("self").compile_args(None, onehot=True) == {}
    conditional = objective_of("self_conditional")
    assert conditional.targets == "labels" and conditional.compile_args(None, onehot=True) == {}


def test_unknown_objective() -> None:
    with pytest.raises(ConfigError, match="unknown objective 'regress'"):
        objective_of("regress")
