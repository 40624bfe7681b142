"""IIC (ch. 13): the loss against hand-computed values, the book's matching toy, the builder's checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.iic import EPSILON, IICOptions, build_iic, iic_loss
from adl_runner.models.metrics.matching import best_matching, clustering_accuracy, confusion_counts, matched_accuracy
from adl_runner.runner.resolve import typed_values

Z = np.array([[0.8, 0.2], [0.3, 0.7]], np.float32)
Z_BAR = np.array([[0.6, 0.4], [0.1, 0.9]], np.float32)


def test_the_loss_is_minus_the_mutual_information_of_the_symmetrised_joint_matrix() -> None:
    # By hand: sum_b z_b z_bar_b^T = [[.48+.03, .32+.27], [.12+.07, .08+.63]] = [[.51, .59], [.19, .71]];
    # symmetrised [[.51, .39], [.39, .71]], / 2.0 -> P = [[.255, .195], [.195, .355]]; P_i = P_j = [.45, .55];
    # I = sum P ln(P / (P_i P_j)) = .255 ln(.255/.2025) + 2 (.195) ln(.195/.2475) + .355 ln(.355/.3025).
    mutual_information = 0.255 * math.log(0.255 / 0.2025) + 0.39 * math.log(0.195 / 0.2475) + 0.355 * math.log(0.355 / 0.3025)
    assert mutual_information == pytest.approx(0.0226162, abs=1e-7)
    assert float(iic_loss(Z, Z_BAR)) == pytest.approx(-mutual_information, abs=1e-6)
    assert float(iic_loss(Z_BAR, Z)) == pytest.approx(-mutual_information, abs=1e-6)  # symmetric in the views


def test_empty_cells_of_the_joint_matrix_are_clipped_to_epsilon() -> None:
    one_hot = np.eye(2, dtype=np.float32)  # two examples, each view sure of its own cluster: P = diag(.5, .5)
    clipped = 2 * EPSILON * (2 * math.log(0.5) - math.log(EPSILON))  # the two zero cells, floored at eps
    assert float(iic_loss(one_hot, one_hot)) == pytest.approx(-math.log(2) + clipped, abs=1e-6)
    assert np.isfinite(float(iic_loss(one_hot, one_hot[::-1])))  # all mass off the diagonal: still finite


def test_the_total_loss_is_the_sum_over_heads_divided_by_the_heads() -> None:
    model = build_iic(IICOptions(heads=3), BuildContext(0, (24, 24, 1), 10))
    x, g_x = np.random.default_rng(0).random((2, 8, 24, 24, 1)).astype(np.float32)
    heads = model.heads_of(np.concatenate([x, g_x]), training=False)
    per_head = [float(iic_loss(z[:8], z[8:])) for z in heads]
    assert len(per_head) == 3 and len(set(per_head)) == 3
    assert float(model.loss_of(x, g_x, training=False)) == pytest.approx(sum(per_head) / 3, rel=1e-5)


def test_a_permuted_labelling_is_fully_accurate() -> None:
    y_true = np.random.default_rng(1).integers(0, 10, 500)
    permutation = np.random.default_rng(2).permutation(10)
    assert matched_accuracy(y_true, permutation[y_true], 10) == 1.0
    assert clustering_accuracy(y_true, permutation[y_true], 10, 10) == 1.0


def test_the_books_figure_13_5_1_toy_matches_at_80_percent() -> None:
    # 3 clusters, 3 classes, 5 examples; the minimum cost -4 maps cluster 0 -> label 1, 1 -> 2, 2 -> 0.
    clusters = np.array([0, 0, 1, 2, 2])
    labels = np.array([1, 1, 2, 0, 1])
    counts = confusion_counts(labels, clusters, 3)
    assert best_matching(counts).tolist() == [1, 2, 0]
    assert -counts[np.arange(3), best_matching(counts)].sum() == -4
    assert matched_accuracy(labels, clusters, 3) == pytest.approx(0.8)


def test_an_over_clustering_head_is_scored_many_to_one() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    split = np.array([0, 3, 1, 4, 2, 5])  # each class split over two of six clusters
    assert clustering_accuracy(labels, split, 3, 6) == 1.0
    assert matched_accuracy(labels, split, 6) == pytest.approx(0.5)  # one-to-one would leave half unmatched


def test_builder_heads_and_cluster_counts() -> None:
    context = BuildContext(0, (24, 24, 1), 10)
    five = build_iic(IICOptions(heads=5), context)
    assert [tuple(out.shape[1:]) for out in five.outputs] == [(10,)] * 5
    assert five.count_params() == 1_553_664 + 5 * (3 * 3 * 512 * 10 + 10)  # VGG 'F' + one Dense per head
    wide = build_iic(IICOptions(clusters=30, overclustering=True), context)
    assert tuple(wide.outputs[0].shape[1:]) == (30,)
    with pytest.raises(ConfigError, match="model.heads must be >= 1, got 0"):  # declared, checked before the build
        typed_values(IICOptions, {"heads": 0}, "model")
    with pytest.raises(ConfigError, match="model.clusters=5 is below the dataset's 10 classes.*valid: clusters >= 10"):
        build_iic(IICOptions(clusters=5), context)
    with pytest.raises(ConfigError, match="model.clusters=30 is more than the dataset's 10 classes; set model.overclustering=true"):
        build_iic(IICOptions(clusters=30), context)
