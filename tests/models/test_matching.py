"""Hungarian matching of clusters to classes, on known permutations."""

from __future__ import annotations

import numpy as np
import pytest

from adl_runner.models.metrics.matching import best_matching, confusion_counts, matched_accuracy, matched_labels

PERMUTATION = np.array([3, 0, 4, 1, 2])  # cluster k is class PERMUTATION[k]


def _clusters_of(y_true: np.ndarray) -> np.ndarray:
    return np.argsort(PERMUTATION)[y_true]  # the cluster a perfect, relabelled model gives each example


def test_a_permuted_clustering_is_fully_accurate_and_its_matching_is_the_permutation() -> None:
    y_true = np.random.default_rng(0).integers(0, 5, 200)
    y_pred = _clusters_of(y_true)
    assert matched_accuracy(y_true, y_pred, 5) == 1.0
    assert best_matching(confusion_counts(y_true, y_pred, 5)).tolist() == PERMUTATION.tolist()
    assert np.array_equal(matched_labels(y_true, y_pred, 5), y_true)
    assert matched_accuracy(y_true, np.eye(5)[y_pred], 5) == 1.0  # one-hot / probability rows


def test_errors_count_once_the_best_matching_is_found() -> None:
    y_true = np.repeat(np.arange(5), 10)
    y_pred = _clusters_of(y_true)
    y_pred[:3] = _clusters_of(np.array([1, 2, 3]))  # three class-0 examples put in other clusters
    assert matched_accuracy(y_true, y_pred, 5) == pytest.approx(47 / 50)
    # The book's value: sum of matched counts / all counts, from C[cluster, class].
    counts = confusion_counts(y_true, y_pred, 5)
    assert counts.sum() == 50 and counts[_clusters_of(np.array([0]))[0], 0] == 7


def test_one_cluster_for_everything_is_matched_to_the_largest_class() -> None:
    y_true = np.array([0, 0, 0, 1, 2, 2])
    assert matched_accuracy(y_true, np.zeros(6, int), 3) == pytest.approx(3 / 6)


@pytest.mark.parametrize(("y_true", "y_pred", "message"), [
    ([0, 1], [0], r"one prediction per label"),
    ([0, 3], [0, 1], r"y_true spans 0..3, outside 0..2"),
    ([], [], r"one prediction per label"),
])
def test_bad_labels_are_refused(y_true: list, y_pred: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        matched_accuracy(np.array(y_true, int), np.array(y_pred, int), 3)
