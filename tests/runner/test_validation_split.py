"""dataset.validation: training examples held out to validate on and pick best.keras by, the test
split measured only at the end; null keeps the book's choice (validate on the test split)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from adl_runner.data.inputs.boxes import BoxSplits
from adl_runner.data.inputs.masks import MaskSplits
from adl_runner.data.splits import ArraySplits, held_out
from adl_runner.kernel.errors import ConfigError


def array_splits(n: int = 10) -> ArraySplits:
    x = np.arange(n, dtype=np.uint8).reshape(n, 1, 1, 1)
    return ArraySplits(x, np.arange(n), x[:3] + 100, np.arange(3) + 100, tuple("abc"))


def test_held_out_examples_leave_training_and_become_the_validation_test_split() -> None:
    fit, validation = held_out(array_splits(), 3)
    assert len(fit.x_train) == 7 and np.array_equal(fit.y_test, [100, 101, 102])  # the real test split kept
    held = validation.y_test.tolist()
    assert len(held) == 3 and not set(held) & set(fit.y_train.tolist())
    assert sorted(held + fit.y_train.tolist()) == list(range(10)) and fit.y_train.tolist() == sorted(fit.y_train.tolist())
    assert np.array_equal(validation.x_test[:, 0, 0, 0], validation.y_test)  # images and labels move together
    assert np.array_equal(validation.x_train, fit.x_train)  # the same training statistics (pixel mean)
    assert held == held_out(array_splits(), 3)[1].y_test.tolist()  # a fixed choice


def test_boxes_and_masks_are_held_out_with_their_images() -> None:
    x = np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1).repeat(2, axis=1)
    boxes = BoxSplits(x, [np.full((1, 5), i, np.float32) for i in range(6)], x[:2], [np.zeros((1, 5), np.float32)] * 2, ("bg", "a"))
    fit, validation = held_out(boxes, 2)
    assert [int(b[0, 0]) for b in validation.boxes_test] == validation.x_test[:, 0, 0, 0].tolist()
    masks = MaskSplits(x, x[..., 0], x[:2], x[:2, ..., 0], ("bg", "a"))
    fit, validation = held_out(masks, 2)
    assert np.array_equal(validation.masks_test, validation.x_test[..., 0]) and len(fit.masks_train) == 4


@pytest.mark.parametrize("n", [0, 10, 11])
def test_a_validation_size_that_leaves_no_training_is_refused(n: int) -> None:
    with pytest.raises(ConfigError, match=rf"dataset.validation={n} must leave training examples: the training split has 10 "
                                          r"\(valid: 1..9, or null"):
        held_out(array_splits(), n)


def test_a_run_validates_on_the_held_out_examples_and_tests_at_the_end(run_cli) -> None:
    result = run_cli("model=mlp", "dataset=mnist", "debug=smoke", "dataset.validation=32", "logger.plots=false")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["val_accuracy"] != metrics["test_accuracy"]  # 32 held-out digits against the 64 test ones
    with (result.run_dir / "history.csv").open() as f:
        assert "val_accuracy" in next(csv.reader(f))


def test_the_option_is_checked_where_it_cannot_apply(run_cli) -> None:
    run_cli("model=mlp", "dataset=mnist", "debug=smoke", "dataset.validation=0").assert_error(
        "dataset.validation must be >= 1, got 0", no_run_dir=True)
    run_cli("model=mlp", "dataset=mnist", "debug=smoke", "dataset.validation=100000").assert_error(
        "dataset 'mnist': dataset.validation=100000 must leave training examples", no_run_dir=True)


def test_book_runs_validate_on_the_test_split(run_cli, tmp_path: Path) -> None:
    result = run_cli("model=mlp", "dataset=mnist", "debug=smoke", "logger.plots=false")
    metrics = result.metrics()
    assert metrics["val_accuracy"] == pytest.approx(metrics["test_accuracy"])
