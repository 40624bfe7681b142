"""Mutual-information estimates of chapter 13: the Donsker-Varadhan bound MINE maximises (Eq. 13.7.3)
and the book's histogram estimate (`compute_mi`, Listing 13.8.1)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from keras import ops


def donsker_varadhan(t_joint: Any, t_marginal: Any) -> Any:
    """E_joint[T] - log E_marginal[e^T] of a batch's statistics (keras ops): the book's loss with the
    sign flipped, its log-mean-exp taken as logsumexp - log n, which cannot overflow."""
    n = ops.cast(ops.shape(t_marginal)[0], t_marginal.dtype)
    return ops.mean(t_joint) - (ops.logsumexp(t_marginal) - ops.log(n))


def pooled_donsker_varadhan(t_joint: np.ndarray, t_marginal: np.ndarray) -> float:
    """The same bound over every statistic of a split at once (NumPy): the mean over all joint
    samples and the log-mean-exp over all marginal ones, not a mean of per-batch bounds."""
    from scipy.special import logsumexp  # here, not at the top: every job imports this module (scipy: seconds)

    t_marginal = np.asarray(t_marginal, dtype=np.float64).ravel()
    return float(np.mean(t_joint) - (logsumexp(t_marginal) - math.log(t_marginal.size)))


def histogram_mi(x: np.ndarray, y: np.ndarray, bins: int = 100) -> float:
    """The book's histogram estimate of I(x; y) in nats: a `bins` x `bins` joint histogram,
    normalised, floored at machine epsilon, against the product of its margins (as `compute_mi`)."""
    joint, _ = np.histogramdd(np.column_stack([np.ravel(x), np.ravel(y)]), bins=bins)
    joint /= joint.sum()
    eps = np.finfo(float).eps
    joint[joint < eps] = eps
    px, py = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)  # scipy's `margins`
    product = px * py
    product[product < eps] = eps
    return float(np.sum(joint * np.log(joint / product)))
