"""SSD (Listings 11.7.1, 11.8.1): a ResNet v2 backbone, four detection scales, and per-scale class
and offset heads, trained from scratch with the book's multi-task loss.

The network maps an image to `classes` (B, A, n_classes) softmax and `offsets` (B, A, 4) over the
A anchors of every scale (`anchors.all_anchors`). Ground truth is assigned in the training step,
in the graph, from the batch's padded boxes (`assign.assign`): the book's `DataGenerator` computed
it per image per layer in NumPy. Detection is decode + NMS (`nms.py`).

Feature maps, as the book's repository builds them: the backbone's last stage after BN-ReLU and
AveragePooling2D(4) (1/16 of the input: 30x40x256 at 480x640), then `n_layers - 1` Conv2D(3x3,
stride 2, he_normal)-BN-ELU layers of 64, 128, 256, ... filters (15x20, 8x10, 4x5). The book's
offset head is duplicated to 8 channels so Keras could pair it with (offsets, mask) targets; with
its own step the model keeps 4 and applies the mask itself.
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
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.evaluators import EVALUATORS
from adl_runner.kernel.hooks import ArtifactSink, DataView, QualityContext
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, EvaluatorSpec, FitSpec
from adl_runner.models.detection.anchors import N_BOXES, all_anchors
from adl_runner.models.detection.assign import assign
from adl_runner.models.detection.figures import detection_figure, detection_grid
from adl_runner.models.detection.losses import ssd_losses
from adl_runner.models.detection.nms import detect
from adl_runner.models.detection.serving import serve_detections
from adl_runner.models.metrics.detection import Predictions, Truth, detection_metrics
from adl_runner.models.resnet import resnet_backbone, resnet_depth

LOSSES = {"ce_l1": ssd_losses(), "ce_smooth_l1": ssd_losses(smooth_l1=True), "focal_smooth_l1": ssd_losses(improved_loss=True)}
"""model.loss -> (class loss, offset loss): the book's default, --smooth-l1 and --improved-loss."""
FEATURE_STRIDE = 16
"""The first detection scale is 1/16 of the input (two stride-2 stages, then a 4x4 average pool)."""


@dataclass
class SSDOptions:
    """SSD (ch. 11): the book's defaults are ResNet56v2, 4 scales, CE + L1 on raw offsets."""

    n_layers: int = ranged(4, at_least=1)
    """Detection scales (feature maps), each 1/2 of the previous one."""
    backbone_n: int = ranged(6, at_least=1)
    """Blocks per ResNet v2 stage: depth 9n+2 (6: the book's ResNet56v2)."""
    threshold: float = ranged(0.6, above=0, at_most=1)
    """Anchors with IoU above this become extra positives (>= 1.0: one positive per object and scale)."""
    normalize: bool = False
    """Offsets in centroid form with variances 0.1 (centre) and 0.2 (size): the book's --normalize."""
    loss: str = ranged("ce_l1", choices=tuple(LOSSES))
    """ce_l1 (the book's default), ce_smooth_l1 (--smooth-l1) or focal_smooth_l1 (--improved-loss)."""
    class_threshold: float = ranged(0.5, above=0, at_most=1)
    """NMS: detections stop at the first candidate whose class score is below this."""
    iou_threshold: float = ranged(0.2, above=0, at_most=1)
    """Hard NMS: a candidate overlapping a kept box at least this much is dropped."""
    soft_nms: bool = False
    """Soft NMS (the book's --soft-nms): overlapping scores are scaled by exp(-2 IoU^2) instead."""
    fn_rule: str = ranged("repo", choices=("repo", "book"))
    """The book metrics' false negatives: repo (n_gt - TP - FP, its code) or book (n_gt - TP, its text)."""


def check_input(input_shape: tuple[int, ...], n_layers: int) -> tuple[int, int, int]:
    """(H, W, C), or an IncompatibleError saying which sizes work: multiples of 16 that leave the
    last scale at least 1x1."""
    shape = require_rank("ssd", input_shape, 3, "image")
    smallest = FEATURE_STRIDE * 2 ** (n_layers - 1)
    if shape[0] % FEATURE_STRIDE or shape[1] % FEATURE_STRIDE or min(shape[:2]) < smallest:
        raise IncompatibleError(
            f"ssd with {n_layers} scales needs a height and width that are multiples of {FEATURE_STRIDE} and at "
            f"least {smallest}, got {shape_text(shape)}; e.g. 480x640 (the book), 240x320, 128x160: set dataset.options.image_size")
    return shape


def feature_maps(inputs: keras.KerasTensor, n_layers: int, backbone_n: int) -> list[keras.KerasTensor]:
    """The detection scales (module docstring): the backbone's pooled last stage, then stride-2 Conv-BN-ELU layers."""
    backbone = resnet_backbone(tuple(inputs.shape[1:]), version=2, n=backbone_n)
    x = layers.AveragePooling2D(pool_size=4, name="pool1")(backbone(inputs)[-1])
    maps, filters = [x], 64
    for i in range(2, n_layers + 1):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", kernel_initializer="he_normal", name=f"conv_layer{i}")(x)
        x = layers.ELU(name=f"elu_layer{i}")(layers.BatchNormalization(name=f"bn_layer{i}")(x))
        maps.append(x)
        filters *= 2
    return maps


def _joined(parts: list[keras.KerasTensor], name: str) -> keras.KerasTensor:
    """The scales' predictions along the anchor axis."""
    return layers.Concatenate(axis=1, name=name)(parts) if len(parts) > 1 else parts[0]


def head_shapes(network: keras.Model) -> list[tuple[int, int]]:
    """(fh, fw) of each detection scale of an `ssd_network`, smallest stride first."""
    heads = sorted((layer for layer in network.layers if layer.name[:3] == "cls" and layer.name[3:].isdigit()),
                   key=lambda layer: int(layer.name[3:]))
    return [(int(layer.output.shape[1]), int(layer.output.shape[2])) for layer in heads]


def ssd_network(input_shape: tuple[int, ...], n_classes: int, n_layers: int, backbone_n: int) -> keras.Model:
    """image -> [classes (B, A, n_classes) softmax, offsets (B, A, 4)], A = sum over scales of h*w*4."""
    inputs = keras.Input(shape=input_shape, name="image")
    classes, offsets = [], []
    for i, feature in enumerate(feature_maps(inputs, n_layers, backbone_n), start=1):
        for outputs, width, name in ((classes, n_classes, "cls"), (offsets, 4, "off")):
            head = layers.Conv2D(N_BOXES * width, 3, padding="same", kernel_initializer="he_normal",
                                 name=f"{name}{i}")(feature)
            outputs.append(layers.Reshape((-1, width), name=f"{name}_res{i}")(head))
    classes_out = layers.Activation("softmax", name="classes")(_joined(classes, "cls_cat"))
    offsets_out = layers.Identity(name="offsets")(_joined(offsets, "off_cat"))
    depth = resnet_depth(2, backbone_n)
    return keras.Model(inputs, [classes_out, offsets_out], name=f"ResNet{depth}v2_{n_layers}layer_ssd")


@keras.saving.register_keras_serializable(package="adl_runner")
class SSD(NetworkStepModel):
    """The network, its anchors and the book's loss; batches are `(images, {"boxes", "classes"})`
    (the `boxes` input kind: minmax pixel boxes padded with class -1)."""

    def __init__(self, network: keras.Model, *, threshold: float = 0.6, normalize: bool = False, loss: str = "ce_l1",
                 class_threshold: float = 0.5, iou_threshold: float = 0.2, soft_nms: bool = False,
                 fn_rule: str = "repo", class_names: tuple[str, ...] | list[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network = network
        self.threshold, self.normalize, self.loss_name = float(threshold), bool(normalize), loss
        self.class_threshold, self.iou_threshold, self.soft_nms = float(class_threshold), float(iou_threshold), bool(soft_nms)
        self.fn_rule = fn_rule
        self.class_names = tuple(class_names) or tuple(f"class {i}" for i in range(int(network.outputs[0].shape[-1])))
        image_hw = tuple(int(d) for d in network.inputs[0].shape[1:3])
        anchors, layer_of_anchor = all_anchors(image_hw, head_shapes(network))
        self.anchors, self.anchor_layer = tf.constant(anchors), tf.constant(layer_of_anchor)
        self._detect = tf.function(self._detect_batch, reduce_retracing=True)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "class_loss", "offset_loss")}
        self(keras.KerasTensor(network.inputs[0].shape, name="image"))

    @property
    def num_classes(self) -> int:
        return int(self.network.outputs[0].shape[-1])

    # -- training ----------------------------------------------------------------------------------
    def _loss_terms(self, data: Any, training: bool) -> dict[str, Any]:
        images, targets = data
        gt_class, gt_offset, gt_mask = assign(self.anchors, self.anchor_layer, targets["boxes"], targets["classes"],
                                              self.num_classes, threshold=self.threshold, normalize=self.normalize)
        classes, offsets = self.network(images, training=training)
        class_loss_fn, offset_loss_fn = LOSSES[self.loss_name]
        class_loss = keras.ops.mean(class_loss_fn(gt_class, classes))
        offset_loss = keras.ops.mean(offset_loss_fn(keras.ops.concatenate([gt_offset, gt_mask], axis=-1), offsets))
        total = class_loss + offset_loss
        if training and self.network.losses:
            total = total + keras.ops.sum(self.network.losses)  # the backbone's L2 penalties
        return {"loss": total, "class_loss": class_loss, "offset_loss": offset_loss}

    def _record(self, values: dict[str, Any]) -> dict[str, Any]:
        for name, tracker in self.trackers.items():
            tracker.update_state(values[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data: Any) -> dict[str, Any]:
        with tf.GradientTape() as tape:
            values = self._loss_terms(data, training=True)
        weights = self.network.trainable_weights
        minimize(self.optimizer, tape, values["loss"], weights)
        return self._record(values)

    def test_step(self, data: Any) -> dict[str, Any]:
        return self._record(self._loss_terms(data, training=False))

    # -- detection ---------------------------------------------------------------------------------
    def _detect_batch(self, images: tf.Tensor, soft: bool) -> tuple[tf.Tensor, ...]:
        classes, offsets = self.network(images, training=False)
        found, boxes = detect(classes, offsets, self.anchors, self.normalize, self.class_threshold,
                              self.iou_threshold, soft)
        return found.classes, found.scores, found.indexes, boxes

    def detect(self, images: Any, soft_nms: bool | None = None) -> list[dict[str, np.ndarray]]:
        """Per image of a batch: `boxes` (k, 4) minmax pixels of the model's input, `classes` (k,),
        `scores` (k,), best first. `soft_nms` None: the model's setting."""
        soft = self.soft_nms if soft_nms is None else bool(soft_nms)
        classes, scores, indexes, boxes = (t.numpy() for t in self._detect(tf.convert_to_tensor(images, tf.float32), soft))
        kept = indexes >= 0
        return [{"boxes": b[k], "classes": c[k], "scores": s[k]} for b, c, s, k in zip(boxes, classes, scores, kept)]

    def set_inference(self, class_threshold: float, iou_threshold: float, soft_nms: bool, fn_rule: str) -> None:
        """New NMS and metric settings for a trained model (they are not part of what it learned)."""
        self.class_threshold, self.iou_threshold, self.soft_nms = float(class_threshold), float(iou_threshold), bool(soft_nms)
        self.fn_rule = fn_rule
        self._detect = tf.function(self._detect_batch, reduce_retracing=True)  # traced with the old thresholds

    # -- saving ------------------------------------------------------------------------------------
    def step_config(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "normalize": self.normalize, "loss": self.loss_name,
                "class_threshold": self.class_threshold, "iou_threshold": self.iou_threshold,
                "soft_nms": self.soft_nms, "fn_rule": self.fn_rule, "class_names": list(self.class_names)}


# -- what the runner calls -------------------------------------------------------------------------
OVERLAY_IMAGES = 8
"""Test images drawn with their detections after training (the book's Figures 11.13.x)."""


def test_detections(model: SSD, data: DataView) -> tuple[list[Truth], list[dict[str, np.ndarray]]]:
    """Ground truth (padding rows included: the metrics drop them) and detections of every test image, in order."""
    truth: list[Truth] = []
    found: list[dict[str, np.ndarray]] = []
    for images, targets in data.batches("test").as_numpy_iterator():
        truth += [Truth(boxes, classes) for boxes, classes in zip(targets["boxes"], targets["classes"])]
        found += model.detect(images)
    return truth, found


def write_overlays(model: SSD, data: DataView, out: ArtifactSink) -> None:
    """The first test images with their detections (class name and score per box)."""
    images, _ = data.examples(OVERLAY_IMAGES, "test")
    found = model.detect(images)
    titles = [f"test {i}: {len(f['scores'])} detections" for i, f in enumerate(found)]
    out.figure("detections", detection_grid(np.asarray(images), found, model.class_names, titles))


def predict_files(model: keras.Model, files: list[Path], out: ArtifactSink) -> dict[str, Any]:
    """Each image resized to the model's input, its detections scaled back to the image's own
    pixels: `<name>_detections.png` per image and `detections.json` for all."""
    if not isinstance(model, SSD):
        raise IncompatibleError(f"the checkpoint holds a '{model.name}' model, not an SSD; task=predict of ssd needs an SSD checkpoint")
    height, width, channels = (int(d) for d in model.inputs[0].shape[1:])
    listed = []
    for path in files:
        image = read_image(path, channels)
        resized = tf.image.resize(tf.cast(image[None], tf.float32) / 255.0, (height, width))
        found = model.detect(resized)[0]
        scale = np.array([image.shape[1] / width] * 2 + [image.shape[0] / height] * 2, np.float32)
        bounds = np.array([image.shape[1]] * 2 + [image.shape[0]] * 2, np.float32)
        found["boxes"] = np.clip(found["boxes"] * scale, 0, bounds)  # anchors near a border reach past it
        out.figure(f"{path.stem}_detections", detection_figure(image, found, model.class_names, path.name))
        listed.append({"image": str(path), "height": image.shape[0], "width": image.shape[1], "detections": [
            {"class": model.class_names[int(c)], "class_id": int(c), "score": round(float(s), 4),
             "box": dict(zip(("xmin", "xmax", "ymin", "ymax"), (round(float(v), 1) for v in b)))}
            for b, c, s in zip(found["boxes"], found["classes"], found["scores"])]})
    out.record("detections", listed)
    return {"detections": sum(len(entry["detections"]) for entry in listed)}


def for_inference(model: keras.Model, opts: SSDOptions) -> None:
    """The command's NMS and metric settings on a loaded SSD; options that decide what the network
    learned (offset encoding, loss, extra anchors, scales) must be the checkpoint's."""
    if not isinstance(model, SSD):
        raise IncompatibleError(f"the checkpoint holds a '{model.name}' model, not an SSD")
    fixed = {"normalize": model.normalize, "loss": model.loss_name, "threshold": model.threshold,
             "n_layers": len(head_shapes(model.network))}
    for key, trained in fixed.items():
        if getattr(opts, key) != trained:
            raise IncompatibleError(f"model.{key}={getattr(opts, key)!r} cannot change a trained SSD (its model.{key} "
                                    f"is {trained!r}); only {', '.join(INFERENCE_OPTIONS)} apply to a checkpoint")
    model.set_inference(**{key: getattr(opts, key) for key in INFERENCE_OPTIONS})


INFERENCE_OPTIONS = ("class_threshold", "iou_threshold", "soft_nms", "fn_rule")
"""The model options a task on a checkpoint may change."""


@EVALUATORS.register("detection", EvaluatorSpec("the book's mIoU, precision and recall (its NMS), mAP@0.5 and COCO mAP on the test split"))
def detection_evaluator(model: keras.Model, data: DataView, context: QualityContext) -> dict[str, float]:
    if not isinstance(model, SSD):
        return {}
    truth, found = test_detections(model, data)
    predictions = [Predictions(f["boxes"], f["classes"], f["scores"]) for f in found]
    return detection_metrics(truth, predictions, fn_rule=model.fn_rule, n_classes=model.num_classes)


@MODELS.register("ssd", FitSpec(options=SSDOptions, view="image", objective="self", input_kind="boxes",
                                evaluators=("detection",), artifacts=write_overlays, predict=predict_files,
                                serve=serve_detections, for_inference=for_inference,
                                inference_options=INFERENCE_OPTIONS))
def build_ssd(opts: SSDOptions, ctx: BuildContext) -> SSD:
    """ResNet56v2, 4 scales, 4 classes at 480x640: 6,400 anchors."""
    shape = check_input(ctx.input_shape, opts.n_layers)
    network = ssd_network(shape, ctx.num_classes, opts.n_layers, opts.backbone_n)
    return SSD(network, threshold=opts.threshold, normalize=opts.normalize, loss=opts.loss,
               class_threshold=opts.class_threshold, iou_threshold=opts.iou_threshold, soft_nms=opts.soft_nms,
               fn_rule=opts.fn_rule, class_names=ctx.class_names, name="ssd")
