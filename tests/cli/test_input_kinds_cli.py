"""A family with an input kind (`FitSpec.input_kind`) through the real `run` entry point: its
pipeline comes from the input-kind registry, its batches reach its own train_step as they come, and
a dataset of another source is refused before anything is loaded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.runner.artifacts import ArtifactData

# model=mlp's preset with its keys deleted (their defaults then apply) is the test family's config
AS_FIRST_BOX = ("model.name=test_first_box", "~model.hidden_units", "~model.activation", "~model.dropout", "~model.l2")
TINY = ("dataset.options.shape=[32,40,3]", "dataset.options.n_train=32", "dataset.options.n_test=8",
        "trainer.epochs=2", "trainer.batch_size=8", "trainer.checkpoint.monitor=val_loss", "trainer.checkpoint.mode=min",
        "logger.tensorboard=false")


@keras.saving.register_keras_serializable(package="tests")
class FirstBox(keras.Model):
    """Regresses the first box of an image as shares of its width and height: the smallest model
    that trains on `(images, {"boxes", "classes"})` batches with its own step."""

    def __init__(self, height: int, width: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.height, self.width = height, width
        self.pool, self.head = keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)
        self.tracker = keras.metrics.Mean(name="loss")

    def call(self, images):
        return self.head(self.pool(images))

    @property
    def metrics(self):
        return [self.tracker]

    def _loss(self, data):
        images, targets = data
        tf.debugging.assert_equal(tf.shape(targets["classes"])[:1], tf.shape(images)[:1])
        scale = tf.constant([self.width, self.width, self.height, self.height], tf.float32)
        return tf.reduce_mean(tf.abs(self(images) - targets["boxes"][:, 0] / scale))

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = self._loss(data)
        self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_weights), self.trainable_weights))
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}

    def test_step(self, data):
        self.tracker.update_state(self._loss(data))
        return {"loss": self.tracker.result()}

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


@dataclass
class FirstBoxOptions:
    """No options."""


seen: list[ArtifactData] = []


def artifacts(model, data, out) -> None:
    seen.append(data)


def build_first_box(opts: FirstBoxOptions, ctx: BuildContext) -> keras.Model:
    model = FirstBox(*ctx.input_shape[:2], name="first_box")
    model(np.zeros((1, *ctx.input_shape), np.float32))
    return model


@pytest.fixture(autouse=True)
def first_box_family() -> Iterator[None]:
    spec = FitSpec(options=FirstBoxOptions, view="image", objective="self", input_kind="boxes", artifacts=artifacts)
    MODELS.register("test_first_box", spec)(build_first_box)
    yield
    MODELS.unregister("test_first_box")
    seen.clear()


def test_a_boxes_family_trains_and_evaluates_through_the_runner(run_cli, tmp_path: Path) -> None:
    trained = run_cli(*AS_FIRST_BOX, "dataset=synthetic_boxes", *TINY, run_dir=tmp_path / "train")
    assert trained.code == 0, trained.err
    metrics = trained.metrics()
    assert metrics["epochs_completed"] == 2 and metrics["dataset"] == "synthetic_boxes"
    assert np.isfinite([metrics["test_loss"], metrics["train_loss"], metrics["train_eval_loss"], metrics["best_val_loss"]]).all()
    # the family's hooks get the registry's pipeline: boxes as a dict, structure kept, cut to n
    images, targets = seen[0].examples(5)
    assert images.shape == (5, 32, 40, 3) and targets["boxes"].shape[:2] == targets["classes"].shape[:2]
    assert len(targets["boxes"]) == 5 and seen[0].num_classes == 4
    with pytest.raises(IncompatibleError, match="BoxPipeline batches have no per-example class labels"):
        seen[0].labels()
    # the fake drinks files, resized at load to the checkpoint's input
    evaluated = run_cli("task=evaluate", f"ckpt={tmp_path / 'train/checkpoints/best.keras'}", "dataset=drinks",
                        "dataset.options.image_size=[32,40]", run_dir=tmp_path / "evaluate")
    assert evaluated.code == 0, evaluated.err
    assert evaluated.metrics()["dataset"] == "drinks" and np.isfinite(evaluated.metrics()["test_loss"])


def test_a_dataset_of_another_source_is_refused_at_resolve(run_cli) -> None:
    run_cli("model=mlp", "dataset=drinks").assert_error(
        "model 'mlp' reads labels but dataset 'drinks' yields boxes; datasets that yield labels: cifar10,",
        "models that read boxes: localizer, ssd, test_first_box", no_run_dir=True)
    run_cli(*AS_FIRST_BOX, "dataset=mnist").assert_error(
        "model 'test_first_box' reads boxes but dataset 'mnist' yields labels; datasets that yield boxes: drinks, "
        "drinks_objects, synthetic_boxes, synthetic_objects; models that read labels: ", no_run_dir=True)


def test_augment_is_the_kinds_flip_and_other_array_options_are_refused(run_cli, tmp_path: Path) -> None:
    flipped = run_cli(*AS_FIRST_BOX, "dataset=synthetic_boxes", *TINY, "trainer.epochs=1", "dataset.augment=true",
                      "trainer.evaluate_train=false", "logger.plots=false", run_dir=tmp_path / "flip")
    assert flipped.code == 0, flipped.err
    run_cli(*AS_FIRST_BOX, "dataset=synthetic_boxes", *TINY, "dataset.subtract_pixel_mean=true",
            run_dir=tmp_path / "mean").assert_error(
        "dataset 'synthetic_boxes': input kind 'boxes' does not support subtract_pixel_mean")


def test_kind_pipeline_turns_augment_into_the_kinds_flip() -> None:
    from adl_runner.data.pipeline import PipelineOptions
    from adl_runner.data.synthetic_boxes import SyntheticBoxOptions, load_synthetic_boxes
    from adl_runner.runner.tasks.fit import kind_pipeline

    splits = load_synthetic_boxes(None, SyntheticBoxOptions(shape=[16, 16, 3], n_train=4, n_test=2))
    assert kind_pipeline("boxes", splits, PipelineOptions(view="image", augment=True)).flip is True
    assert kind_pipeline("boxes", splits, PipelineOptions(view="image")).flip is False
