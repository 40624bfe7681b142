"""Hungarian matching of clusters to classes: accuracy that does not care which cluster a model
learned for which class (IIC's unsupervised accuracy, Listing 13.5.6; InfoGAN's code accuracy).

The confusion counts C[cluster, class] are matched one-to-one so that the matched pairs hold the
most examples (`scipy.optimize.linear_sum_assignment`, maximising, i.e. the book's `-C`); the
matched accuracy is the share of examples on matched pairs. An over-clustering head (more clusters
than classes, the IIC paper's auxiliary head) is scored many-to-one instead: each cluster counts as
the class most of its examples have (the paper's mapping for its over-clustered evaluations).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts C[predicted cluster, true class] of integer labels (N,)."""
    y_true, y_pred = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape or not len(y_true):
        raise ValueError(f"matching needs one prediction per label, got {y_pred.shape} predictions for {y_true.shape} labels")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"matching: {name} spans {y.min()}..{y.max()}, outside 0..{n_classes - 1}")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_pred, y_true), 1)
    return counts


def best_matching(counts: np.ndarray) -> np.ndarray:
    """The class matched to each cluster (row) of `counts`: the one-to-one map that keeps the most examples."""
    import scipy.optimize  # here, not at the top: every job imports this module, few match clusters (0.8 s)

    rows, cols = scipy.optimize.linear_sum_assignment(counts, maximize=True)
    mapping = np.empty(counts.shape[0], dtype=np.int64)
    mapping[rows] = cols
    return mapping


def matched_labels(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """`y_pred`'s clusters renamed to their matched classes (for figures and per-class numbers)."""
    return best_matching(confusion_counts(y_true, y_pred, n_classes))[_as_labels(y_pred, "y_pred")]


def matched_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Share of examples whose cluster is matched to their class (1.0 for any relabelling of y_true)."""
    counts = confusion_counts(y_true, y_pred, n_classes)
    return float(counts[np.arange(n_classes), best_matching(counts)].sum() / counts.sum())


def cluster_mapping(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, n_clusters: int) -> np.ndarray:
    """The class each of `n_clusters` clusters stands for: the one-to-one Hungarian matching when
    there are as many clusters as classes, else each cluster's majority class (many-to-one)."""
    counts = confusion_counts(y_true, y_pred, max(n_classes, n_clusters))
    if n_clusters <= n_classes:
        return best_matching(counts)
    return counts[:, :n_classes].argmax(axis=1)


def clustering_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, n_clusters: int) -> float:
    """Share of examples whose cluster stands for their class under `cluster_mapping`."""
    mapping = cluster_mapping(y_true, y_pred, n_classes, n_clusters)
    return float(np.mean(mapping[_as_labels(y_pred, "y_pred")] == _as_labels(y_true, "y_true")))


def _as_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Integer labels (N,) from labels or one-hot / probability rows (N, K)."""
    y = np.asarray(y)
    if y.ndim == 2:
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"matching: {name} must be labels (N,) or rows (N, K), got shape {y.shape}")
    return y.astype(np.int64)


def head_clusters(model: Any, batches: Any) -> list[np.ndarray]:
    """Each softmax head's argmax cluster (N,) over `(inputs, targets)` batches, in order: a model
    with one output has one head, one with several outputs one per output."""
    heads: list[list[np.ndarray]] | None = None
    for inputs, _ in batches.as_numpy_iterator():
        outputs = model.predict_on_batch(inputs)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        heads = heads if heads is not None else [[] for _ in outputs]
        for head, probabilities in zip(heads, outputs):
            head.append(np.asarray(probabilities).argmax(axis=-1))
    return [np.concatenate(head) for head in heads or []]
