"""IIC, invariant information clustering (ch. 13, Listings 13.5.1-13.5.6; Ji et al. 2019).

The VGG 'F' backbone (`models/vgg.py`) -> Flatten -> one Dense(clusters, softmax) head per
`heads`, trained without labels on the `views` input kind's pairs (X, G(X)) to maximise the mutual
information of the two views' cluster assignments. The step runs the network once on the batch
[X; G(X)] (as the book's generator concatenates them, so BatchNorm sees both views together) and
minimises, per head, the negative MI of the symmetrised joint matrix (`iic_loss`), divided by the
number of heads, summed over heads (the book's Keras sums its per-output losses).

Evaluation is by matching clusters to labels on the test split (the `matched_accuracy` evaluator):
per-head accuracy, the best head (what Table 13.6.1 reports) and mean +- std over heads; the book's
AccuracyCallback is the evaluator measured every epoch, and best.keras follows the best head.
Over-clustering (the paper's auxiliary head: more clusters than classes) needs
`model.overclustering=true`; such heads are scored many-to-one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers, ops

from adl_runner.kernel.custom_step import NetworkStepModel
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.hooks import ArtifactSink, DataView
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.models.metrics.matching import cluster_mapping, confusion_counts, head_clusters
from adl_runner.models.vgg import VGG_CONFIGS, vgg_backbone

EPSILON = 1e-7
"""Floor of the joint and marginal probabilities before their logs (the book's `K.epsilon()`)."""


@dataclass
class IICOptions:
    """IIC (Listing 13.5.1): the book's defaults are one head of 10 clusters on VGG 'F'."""

    heads: int = ranged(1, at_least=1)
    """Softmax heads sharing the backbone (the book's --heads; Table 13.6.1 tries 1..5)."""
    clusters: Optional[int] = None
    """Clusters of every head; None: the dataset's number of classes (the book's 10)."""
    overclustering: bool = False
    """Allow more clusters than classes (the IIC paper's over-clustering head); scored many-to-one."""
    backbone: str = ranged("F", choices=tuple(VGG_CONFIGS))
    """The VGG config of the backbone (models/vgg.py)."""


def iic_loss(z: Any, z_bar: Any, eps: float = EPSILON) -> Any:
    """-I(Z; Z_bar) of one head's softmax outputs (B, K) on the two views (Listing 13.5.4, Eqs 13.3.3-13.3.7):
    the joint P = sum_b z_b z_bar_b^T, symmetrised (P + P^T) / 2 and normalised; its marginals
    P_i, P_j; everything clipped to [eps, max]; sum P (log P_i + log P_j - log P)."""
    joint = ops.einsum("bi,bj->ij", z, z_bar)
    joint = (joint + ops.transpose(joint)) / 2.0
    joint = joint / ops.sum(joint)
    p_i = ops.sum(joint, axis=1, keepdims=True)
    p_j = ops.sum(joint, axis=0, keepdims=True)
    clip = float(np.finfo(np.float32).max)
    joint, p_i, p_j = (ops.clip(p, eps, clip) for p in (joint, p_i, p_j))
    return ops.sum(joint * (ops.log(p_i) + ops.log(p_j) - ops.log(joint)))


def iic_network(input_shape: tuple[int, ...], heads: int, clusters: int, backbone: str = "F") -> keras.Model:
    """Backbone -> Flatten -> `heads` x Dense(clusters, softmax) named z_head<i> (one output, or a list)."""
    image = keras.Input(input_shape, name="image")
    features = layers.Flatten()(vgg_backbone(input_shape, backbone)(image))
    outputs = [layers.Dense(clusters, activation="softmax", name=f"z_head{i}")(features) for i in range(heads)]
    return keras.Model(image, outputs[0] if heads == 1 else outputs, name="iic_network")


@keras.saving.register_keras_serializable(package="adl_runner")
class ClusterEntropy(keras.metrics.Metric):
    """The entropy (nats) of the share of a split each cluster gets, averaged over heads: ln K when
    the clusters are balanced (MNIST's classes nearly are), near 0 for a run stuck in one cluster."""

    def __init__(self, heads: int, clusters: int, name: str = "cluster_entropy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.heads, self.clusters = int(heads), int(clusters)
        self.mass = self.add_variable(shape=(self.heads, self.clusters), initializer="zeros", name="mass")

    def update_state(self, heads: Any, sample_weight: Any = None) -> None:
        self.mass.assign_add(ops.stack([ops.sum(z, axis=0) for z in heads]))

    def result(self) -> Any:
        share = self.mass / ops.maximum(ops.sum(self.mass, axis=1, keepdims=True), EPSILON)
        return ops.mean(-ops.sum(share * ops.log(ops.maximum(share, EPSILON)), axis=1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "heads": self.heads, "clusters": self.clusters}


@keras.saving.register_keras_serializable(package="adl_runner")
class IIC(NetworkStepModel):
    """The IIC network and its step on `((x, g_x), labels)` batches (labels unused)."""

    def __init__(self, network: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network = network
        self.trackers: dict[str, keras.metrics.Metric] = {
            "loss": keras.metrics.Mean(name="loss"),
            "cluster_entropy": ClusterEntropy(len(self.outputs), int(self.outputs[0].shape[-1]))}
        self(keras.KerasTensor(network.inputs[0].shape, name="image"))

    @property
    def outputs(self) -> list[keras.KerasTensor]:
        return list(self.network.outputs)

    def heads_of(self, images: Any, training: bool) -> list[Any]:
        """Each head's softmax outputs (B, K) on `images`, as a list."""
        found = self.network(images, training=training)
        return list(found) if isinstance(found, (list, tuple)) else [found]

    def loss_of(self, x: Any, g_x: Any, training: bool = True) -> Any:
        """The book's total loss: sum over heads of -I(Z; Z_bar) / heads, from one pass over [x; g_x]."""
        n = ops.shape(x)[0]
        heads = self.heads_of(ops.concatenate([x, g_x], axis=0), training)
        return ops.sum(ops.stack([iic_loss(z[:n], z[n:]) for z in heads])) / len(heads)

    def train_step(self, data: Any) -> dict[str, Any]:
        (x, g_x), _ = data
        with tf.GradientTape() as tape:
            loss = self.loss_of(x, g_x)
        weights = self.network.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        self.trackers["loss"].update_state(loss)
        return {"loss": self.trackers["loss"].result()}

    def test_step(self, data: Any) -> dict[str, Any]:
        """Evaluation batches hold one view only, so there is no pair to score: a split's accuracy is
        the evaluator's; Keras' evaluation reports how evenly the clusters share the split."""
        images, _ = data
        tracker = self.trackers["cluster_entropy"]
        tracker.update_state(self.heads_of(images, training=False))
        return {"cluster_entropy": tracker.result()}


def cluster_count(opts: IICOptions, num_classes: int) -> int:
    """The clusters of each head; ConfigError below the classes, or above them without over-clustering."""
    clusters = num_classes if opts.clusters is None else opts.clusters
    if clusters < num_classes:
        raise ConfigError(f"iic: model.clusters={clusters} is below the dataset's {num_classes} classes: matching "
                          f"could not give every class a cluster; valid: clusters >= {num_classes}")
    if clusters > num_classes and not opts.overclustering:
        raise ConfigError(f"iic: model.clusters={clusters} is more than the dataset's {num_classes} classes; set "
                          f"model.overclustering=true to over-cluster (scored many-to-one), or clusters={num_classes}")
    return clusters


def write_confusion(model: IIC, data: DataView, out: ArtifactSink) -> None:
    """`confusion_head<i>.png`: test counts of each head's clusters (renamed to their matched labels,
    rows) against the true labels (columns); a perfect head is diagonal."""
    labels = data.labels("test")
    for i, (found, output) in enumerate(zip(head_clusters(model, data.batches("test")), model.outputs)):
        mapping = cluster_mapping(labels, found, data.num_classes, int(output.shape[-1]))
        counts = confusion_counts(labels, mapping[found], data.num_classes)
        out.figure(f"confusion_head{i}", confusion_figure(counts, f"head {i}: accuracy {np.trace(counts) / counts.sum():.2%}"))


def confusion_figure(counts: np.ndarray, title: str) -> Any:
    """A heat map of counts C[matched cluster, label] with each count written in its cell."""
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    ax.imshow(counts, cmap="Blues")
    for (row, col), value in np.ndenumerate(counts):
        ax.text(col, row, str(value), ha="center", va="center", fontsize=7,
                color="white" if value > counts.max() / 2 else "black")
    ax.set(xlabel="label", ylabel="cluster (matched label)", title=title,
           xticks=range(counts.shape[1]), yticks=range(counts.shape[0]))
    fig.tight_layout()
    return fig


@MODELS.register("iic", FitSpec(options=IICOptions, view="image", objective="self", input_kind="views",
                                evaluators=("matched_accuracy",), artifacts=write_confusion))
def build_iic(opts: IICOptions, ctx: BuildContext) -> IIC:
    """VGG 'F' on the 24x24 centre crops, `heads` softmax heads of `clusters` each."""
    clusters = cluster_count(opts, ctx.num_classes)
    return IIC(iic_network(tuple(ctx.input_shape), opts.heads, clusters, opts.backbone), name="iic")
