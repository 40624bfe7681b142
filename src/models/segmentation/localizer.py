"""Classification + localisation (Pattanayak ch. 6 section 3, Fig 6-16): one object per image, one
shared CNN, a softmax head over the object classes and a 4-unit box head.

Network (`localizer_network`): `model.filters` blocks of Conv2D(3x3, same, no bias)-BN-ReLU-
MaxPool(2), flattened (the box head needs where things are, which global pooling would drop), one
Dense(`model.dense`, ReLU) with dropout, then the two heads: `classes`, softmax over the K object
classes (the dataset's classes less the background: class id c is unit c - 1), and `box`, 4 linear
units, starting from zero weights (a random start predicts boxes tens of crop sizes off, a first
box loss that swamps the class term). The default ([32, 64, 128, 128], 256) trains on one CPU core.

Box parameterisation, the book's s = (x, y, h, w): the top-left corner, then height and width, each
normalised to the input (x / W, y / H, h / H, w / W), so that a box inside the image is in [0, 1].
The batch's boxes arrive as minmax pixels (the `boxes` input kind, one row per example) and are
converted in the step; a predicted box with negative height or width is empty.

Loss per example, the book's c = alpha x CE + beta x sum_{j=1..4} (s_j - t_j)^2, averaged over the
batch (`localization_loss`): the box term is a sum over the 4 numbers, as the book writes it; Keras'
MSE would be their mean, 4x smaller. `model.alpha` and `model.beta` weight the two.

Metrics of the step (`val_*` on the test split during training): `accuracy`, `f1` (macro over the K
classes, keras.metrics.F1Score: a class neither present nor predicted counts 0) and `box_iou` (mean
IoU of predicted and true boxes); the training step reports its losses only. The `localization`
evaluator reports the same three on the test split, unprefixed, into metrics.json. The book compares
settings of alpha and beta by these, never by the loss: the preset's best.keras is the highest
`val_box_iou`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from adl_runner.data.images import read_image
from adl_runner.kernel.checks import require_rank, shape_text
from adl_runner.kernel.custom_step import NetworkStepModel, minimize
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.evaluators import EVALUATORS
from adl_runner.kernel.hooks import ArtifactSink, DataView, QualityContext
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, EvaluatorSpec, FitSpec
from adl_runner.models.detection.assign import iou
from adl_runner.models.detection.figures import detection_figure, detection_grid

METRICS = ("accuracy", "f1", "box_iou")
"""What the step measures on evaluation and the evaluator reports (metrics.json keys)."""
LOSSES = ("loss", "class_loss", "box_loss")


@dataclass
class LocalizerOptions:
    """Classification + localisation (Pattanayak Fig 6-16): a shared CNN, class and box heads."""

    filters: list[int] = ranged(default_factory=lambda: [32, 64, 128, 128], at_least=1, nonempty=True)
    """Filters of each Conv-BN-ReLU-MaxPool(2) block of the shared CNN."""
    dense: int = ranged(256, at_least=1)
    """Units of the shared Dense layer both heads read."""
    dropout: float = ranged(0.3, at_least=0, below=1)
    """Dropout after the shared Dense layer (training only)."""
    alpha: float = ranged(1.0, at_least=0)
    """Weight of the cross-entropy of the class head."""
    beta: float = ranged(1.0, at_least=0)
    """Weight of the box head's sum of squared errors over the 4 normalised box numbers."""


def check_options(opts: LocalizerOptions) -> None:
    """What the options' declared ranges cannot say: one of the two losses must count."""
    if opts.alpha == 0 and opts.beta == 0:
        raise ConfigError("localizer: model.alpha and model.beta are both 0, so nothing would be learned; set one > 0")


def localizer_network(input_shape: tuple[int, ...], n_classes: int, filters: list[int], dense: int,
                      dropout: float) -> keras.Model:
    """image -> [classes (B, n_classes) softmax, box (B, 4) normalised (x, y, h, w)] (module docstring)."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name=f"conv{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(layers.BatchNormalization(name=f"bn{i}")(x))
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Dense(dense, activation="relu", kernel_initializer="he_normal", name="shared")(layers.Flatten(name="flatten")(x))
    x = layers.Dropout(dropout, name="dropout")(x)
    classes = layers.Dense(n_classes, activation="softmax", name="classes")(x)
    box = layers.Dense(4, kernel_initializer="zeros", name="box")(x)
    return keras.Model(inputs, [classes, box], name="localizer_network")


# -- boxes and the loss ----------------------------------------------------------------------------
def normalized_boxes(minmax: Any, image_hw: tuple[int, int]) -> tf.Tensor:
    """(..., 4) minmax pixels (xmin, xmax, ymin, ymax) -> the book's (x, y, h, w) over the image's size."""
    xmin, xmax, ymin, ymax = tf.unstack(tf.cast(minmax, tf.float32), axis=-1)
    height, width = float(image_hw[0]), float(image_hw[1])
    return tf.stack([xmin / width, ymin / height, (ymax - ymin) / height, (xmax - xmin) / width], axis=-1)


def minmax_boxes(normalized: Any, image_hw: tuple[int, int]) -> tf.Tensor:
    """The inverse of `normalized_boxes`: (x, y, h, w) -> minmax pixels (a negative h or w stays inverted: empty)."""
    x, y, h, w = tf.unstack(tf.cast(normalized, tf.float32), axis=-1)
    height, width = float(image_hw[0]), float(image_hw[1])
    return tf.stack([x * width, (x + w) * width, y * height, (y + h) * height], axis=-1)


def localization_loss(class_index: Any, box: Any, probabilities: Any, predicted_box: Any, alpha: float,
                      beta: float) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(total, class term, box term), each a mean over the batch: the class term is the cross-entropy
    of the true class index (B,) under `probabilities` (B, K), the box term the sum over the 4 numbers
    of the squared errors of (B, 4) boxes; total = alpha x class term + beta x box term."""
    cross_entropy = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(class_index, probabilities))
    squared = keras.ops.mean(keras.ops.sum(keras.ops.square(keras.ops.cast(box, "float32") - predicted_box), axis=-1))
    return alpha * cross_entropy + beta * squared, cross_entropy, squared


@keras.saving.register_keras_serializable(package="adl_runner")
class Localizer(NetworkStepModel):
    """The network and the book's two-term loss; batches are `(images, {"boxes": (B, 1, 4), "classes":
    (B, 1)})` (the `boxes` input kind on a one-object dataset: minmax pixels, class ids >= 1)."""

    def __init__(self, network: keras.Model, *, alpha: float = 1.0, beta: float = 1.0,
                 class_names: tuple[str, ...] | list[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network = network
        self.alpha, self.beta = float(alpha), float(beta)
        k = self.num_classes
        self.class_names = tuple(class_names) or ("background", *(f"class {i}" for i in range(1, k + 1)))
        self.image_hw = (int(network.inputs[0].shape[1]), int(network.inputs[0].shape[2]))
        self.trackers = {name: keras.metrics.Mean(name=name) for name in (*LOSSES, "accuracy", "box_iou")}
        self.f1 = keras.metrics.F1Score(average="macro", name="f1")
        self.f1.update_state(np.zeros((1, k), np.float32), np.zeros((1, k), np.float32))  # builds it (counts nothing)
        self(keras.KerasTensor(network.inputs[0].shape, name="image"))

    @property
    def num_classes(self) -> int:
        """K, the object classes (the background is no output)."""
        return int(self.network.outputs[0].shape[-1])

    # -- training ----------------------------------------------------------------------------------
    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [*self.trackers.values(), self.f1]

    def _measure(self, data: Any, training: bool) -> dict[str, Any]:
        images, targets = data
        class_index = tf.cast(targets["classes"][:, 0], tf.int32) - 1
        box = normalized_boxes(targets["boxes"][:, 0], self.image_hw)
        probabilities, predicted_box = self.network(images, training=training)
        total, class_loss, box_loss = localization_loss(class_index, box, probabilities, predicted_box, self.alpha, self.beta)
        if training and self.network.losses:
            total = total + keras.ops.sum(self.network.losses)
        overlap = iou(minmax_boxes(predicted_box, self.image_hw)[:, None], targets["boxes"][:, :1])[:, 0, 0]
        correct = tf.cast(tf.equal(tf.argmax(probabilities, axis=-1, output_type=tf.int32), class_index), tf.float32)
        return {"loss": total, "class_loss": class_loss, "box_loss": box_loss, "accuracy": correct, "box_iou": overlap,
                "onehot": tf.one_hot(class_index, self.num_classes), "probabilities": probabilities}

    def train_step(self, data: Any) -> dict[str, Any]:
        with tf.GradientTape() as tape:
            values = self._measure(data, training=True)
        weights = self.network.trainable_weights
        minimize(self.optimizer, tape, values["loss"], weights)
        for name in LOSSES:
            self.trackers[name].update_state(values[name])
        return {name: self.trackers[name].result() for name in LOSSES}

    def test_step(self, data: Any) -> dict[str, Any]:
        values = self._measure(data, training=False)
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name])
        self.f1.update_state(values["onehot"], values["probabilities"])
        return {**{name: tracker.result() for name, tracker in self.trackers.items()}, "f1": self.f1.result()}

    # -- inference ---------------------------------------------------------------------------------
    def localize(self, images: Any) -> dict[str, np.ndarray]:
        """Per image of a batch: `classes` (B,) ids >= 1, `scores` (B,) their probability and `boxes`
        (B, 4) minmax pixels of the model's input."""
        probabilities, box = self.network(tf.convert_to_tensor(images, tf.float32), training=False)
        probabilities = np.asarray(probabilities)
        best = probabilities.argmax(axis=-1)
        return {"classes": best + 1, "scores": probabilities[np.arange(len(best)), best],
                "boxes": np.asarray(minmax_boxes(box, self.image_hw))}

    # -- saving ------------------------------------------------------------------------------------
    def step_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "class_names": list(self.class_names)}


# -- what the runner calls -------------------------------------------------------------------------
OVERLAY_IMAGES = 8
"""Test crops drawn with their predicted class and box after training."""


def _found(localized: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Image i's prediction as one detection, for the detection figures."""
    return {key: values[i:i + 1] for key, values in localized.items()}


def write_overlays(model: Localizer, data: DataView, out: ArtifactSink) -> None:
    """`localizations.png`: the first test crops with the predicted class, its probability and box,
    titled with the true class and the box IoU."""
    images, targets = data.examples(OVERLAY_IMAGES, "test")
    localized = model.localize(images)
    overlaps = np.asarray(iou(localized["boxes"][:, None], np.asarray(targets["boxes"])[:, :1]))[:, 0, 0]
    titles = [f"true {model.class_names[int(c)]}, IoU {o:.2f}" for c, o in zip(np.asarray(targets["classes"])[:, 0], overlaps)]
    out.figure("localizations", detection_grid(np.asarray(images), [_found(localized, i) for i in range(len(images))],
                                               model.class_names, titles))


def predict_files(model: keras.Model, files: list[Path], out: ArtifactSink) -> dict[str, Any]:
    """Each image (assumed to show one object, as the book's) resized to the model's input, its class
    and box scaled back to the image's own pixels: `<name>_localization.png` per image and
    `localizations.json` for all."""
    if not isinstance(model, Localizer):
        raise IncompatibleError(f"the checkpoint holds a '{model.name}' model, not a localizer; "
                                "task=predict of localizer needs a localizer checkpoint")
    height, width, channels = (int(d) for d in model.inputs[0].shape[1:])
    listed = []
    for path in files:
        image = read_image(path, channels)
        localized = model.localize(tf.image.resize(tf.cast(image[None], tf.float32) / 255.0, (height, width)))
        scale = np.array([image.shape[1] / width] * 2 + [image.shape[0] / height] * 2, np.float32)
        bounds = np.array([image.shape[1]] * 2 + [image.shape[0]] * 2, np.float32)
        localized["boxes"] = np.clip(localized["boxes"] * scale, 0, bounds)
        out.figure(f"{path.stem}_localization", detection_figure(image, _found(localized, 0), model.class_names, path.name))
        cls, score, box = int(localized["classes"][0]), float(localized["scores"][0]), localized["boxes"][0]
        listed.append({"image": str(path), "height": image.shape[0], "width": image.shape[1],
                       "class": model.class_names[cls], "class_id": cls, "score": round(score, 4),
                       "box": dict(zip(("xmin", "xmax", "ymin", "ymax"), (round(float(v), 1) for v in box)))})
    out.record("localizations", listed)
    return {"localized": len(listed)}


@EVALUATORS.register("localization", EvaluatorSpec("accuracy, macro F1 and mean box IoU of a localizer on the test split"))
def localization_evaluator(model: keras.Model, data: DataView, context: QualityContext) -> dict[str, float]:
    if not isinstance(model, Localizer):
        return {}
    results = model.evaluate(data.batches("test"), return_dict=True, verbose=0)
    return {name: float(results[name]) for name in METRICS}


def check_input(input_shape: tuple[int, ...], blocks: int) -> tuple[int, int, int]:
    """(H, W, C), or an IncompatibleError when `blocks` poolings leave less than one pixel."""
    shape = require_rank("localizer", input_shape, 3, "image")
    if min(shape[:2]) < 2 ** blocks:
        raise IncompatibleError(f"localizer with {blocks} pooling blocks needs a height and width of at least {2 ** blocks}, "
                                f"got {shape_text(shape)}; set dataset.options.image_size or fewer model.filters")
    return shape


@MODELS.register("localizer", FitSpec(options=LocalizerOptions, view="image", objective="self", input_kind="boxes",
                                      evaluators=("localization",), artifacts=write_overlays, predict=predict_files))
def build_localizer(opts: LocalizerOptions, ctx: BuildContext) -> Localizer:
    """The shared CNN and its two heads over the dataset's object classes (the background excluded)."""
    check_options(opts)
    shape = check_input(ctx.input_shape, len(opts.filters))
    if ctx.num_classes < 2:
        raise IncompatibleError(f"localizer needs at least one object class besides the background, got {ctx.num_classes} classes")
    network = localizer_network(shape, ctx.num_classes - 1, list(opts.filters), opts.dense, opts.dropout)
    return Localizer(network, alpha=opts.alpha, beta=opts.beta, class_names=ctx.class_names, name="localizer")
