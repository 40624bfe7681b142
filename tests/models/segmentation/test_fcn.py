"""The FCN (ch. 12): the book's parameter count, its options and input checks, training steps that
learn coloured squares, the `segmentation` evaluator, and a checkpoint that reloads."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from adl_runner.data.inputs import make_inputs
from adl_runner.data.inputs.masks import MaskSplits
from adl_runner.data.pipeline import PipelineOptions
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.metrics.segmentation import miou, pixel_accuracy
from adl_runner.models.segmentation.evaluator import segmentation_evaluator
from adl_runner.models.segmentation.fcn import FCNOptions, build_fcn, fcn_network
from adl_runner.models.segmentation.figures import colour_mask, overlay
from adl_runner.models.segmentation.model import SegmentationModel, categorical_crossentropy, predicted_ids
from adl_runner.runner.artifacts import ArtifactData

NAMES = ("background", "red", "green")
SIZE = (32, 32)


def squares(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 32, 32, 3) uint8 grey images with a red or green square each, and their (n, 32, 32) ids."""
    rng = np.random.default_rng(seed)
    images = np.full((n, *SIZE, 3), 100, np.uint8)
    masks = np.zeros((n, *SIZE), np.uint8)
    for i in range(n):
        cls, y, x = int(rng.integers(1, 3)), *rng.integers(0, 16, 2)
        images[i, y:y + 16, x:x + 16] = (230, 30, 30) if cls == 1 else (30, 200, 30)
        masks[i, y:y + 16, x:x + 16] = cls
    return images, masks


def pipeline(onehot: bool = True):
    (x_train, m_train), (x_test, m_test) = squares(16, 0), squares(8, 1)
    splits = MaskSplits(x_train, m_train, x_test, m_test, NAMES)
    return make_inputs("masks", splits, PipelineOptions(view="image", batch_size=4, seed=0, onehot=onehot))


def small_fcn(layers: int = 1) -> SegmentationModel:
    keras.utils.set_random_seed(0)
    return build_fcn(FCNOptions(layers=layers, backbone_n=1),
                     BuildContext(seed=0, input_shape=(*SIZE, 3), num_classes=3, class_names=NAMES))


def test_the_books_fcn_has_11_120_900_parameters() -> None:
    """ResNet56v2, 4 pyramid levels, 4 classes (the book: about 11.1 million; the count does not
    depend on the image size, 480x640 gives the same)."""
    network = fcn_network((64, 64, 3), 4, n_layers=3, backbone_n=6)
    assert network.count_params() == 11_120_900
    assert network.output.shape == (None, 64, 64, 4)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"layers": 0}, "model.layers must be >= 1"),
    ({"backbone_n": 0}, "model.backbone_n must be >= 1"),
])
def test_bad_options_are_one_line_errors(options: dict, fragment: str) -> None:
    """Declared on FCNOptions (kernel.ranges), checked as the runner does before the build."""
    from adl_runner.runner.resolve import typed_values

    with pytest.raises(ConfigError, match=fragment):
        typed_values(FCNOptions, options, "model")


def test_an_input_size_the_pyramid_cannot_take_says_which_work() -> None:
    with pytest.raises(IncompatibleError, match=r"model.layers=3 needs .* multiples of 32, got 120x160x3; e.g. 480x640"):
        build_fcn(FCNOptions(backbone_n=1), BuildContext(seed=0, input_shape=(120, 160, 3), num_classes=4))


@pytest.mark.parametrize("onehot", [True, False])
def test_the_keras_metrics_of_test_step_equal_the_evaluators(onehot: bool) -> None:
    """(Training is tested through `run`: tests/cli/test_fcn_cli.py.)"""
    data = pipeline(onehot)
    model = small_fcn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    logged = model.evaluate(data.test(), return_dict=True, verbose=0)
    numbers = segmentation_evaluator(model, ArtifactData(data), None)
    assert set(logged) == {"loss", "miou", "pixel_accuracy"} and set(numbers) == {"miou", "pixel_accuracy", "mean_iou"}
    assert logged["miou"] == pytest.approx(numbers["miou"], abs=1e-6)
    assert logged["pixel_accuracy"] == pytest.approx(numbers["pixel_accuracy"], abs=1e-6)


def test_the_pixel_loss_takes_one_hot_or_id_targets() -> None:
    _, masks = squares(2, 0)
    scores = np.random.default_rng(0).dirichlet(np.ones(3), masks.shape).astype(np.float32)
    onehot = categorical_crossentropy(np.eye(3, dtype=np.float32)[masks], scores)
    assert float(onehot) == pytest.approx(float(categorical_crossentropy(masks, scores)), rel=1e-6)
    assert float(onehot) == pytest.approx(-np.log(np.take_along_axis(scores, masks[..., None], -1)).mean(), rel=1e-5)


def test_a_checkpoint_reloads_in_safe_mode_and_segments_the_same(tmp_path: Path) -> None:
    model = small_fcn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    model.save(tmp_path / "fcn.keras")
    loaded = keras.saving.load_model(tmp_path / "fcn.keras", safe_mode=True)
    assert isinstance(loaded, SegmentationModel) and loaded.class_names == NAMES
    x = squares(4, 2)[0].astype(np.float32) / 255
    np.testing.assert_allclose(model.predict_on_batch(x), loaded.predict_on_batch(x), atol=1e-6)


def test_two_class_outputs_add_dice_and_iou_and_one_channel_logits_use_the_threshold() -> None:
    """A binary one-channel model (the encoder-decoder's kind) through the same evaluator: its
    `mask_ids` hook thresholds the logits; perfect outputs score 1 everywhere."""
    images, masks = squares(8, 3)
    masks = (masks > 0).astype(np.uint8)
    data = make_inputs("masks", MaskSplits(images, masks, images, masks, ("background", "square")),
                       PipelineOptions(view="image", batch_size=4, seed=0))
    inputs = keras.Input((*SIZE, 3))
    red_or_green = keras.layers.Lambda(lambda x: keras.ops.max(x[..., :2], axis=-1, keepdims=True) * 10 - 5)(inputs)
    model = SegmentationModel(keras.Model(inputs, red_or_green), loss="binary_crossentropy_logits", threshold=0.0)
    numbers = segmentation_evaluator(model, ArtifactData(data), None)
    assert numbers == {"miou": 1.0, "pixel_accuracy": 1.0, "mean_iou": 1.0, "dice": 1.0, "iou": 1.0}
    assert miou(masks, predicted_ids(model, model.predict_on_batch(images / 255)), 2) == 1.0
    assert pixel_accuracy(masks, 1 - masks) == 0.0


def test_class_colours_keep_the_background_black_and_overlays_blend_only_the_classes() -> None:
    ids = np.array([[0, 1, 2], [3, 9, 10]])
    colours = colour_mask(ids)
    assert colours[0].tolist() == [[0, 0, 0], [255, 0, 0], [0, 255, 0]]  # the book's mask channels as RGB
    assert colours[1, 0].tolist() == [0, 0, 255] and colours[1, 2].tolist() == colours[0, 1].tolist()  # wraps past 9
    photo = np.full((2, 3, 3), 100, np.uint8)
    blended = overlay(photo, ids)
    assert blended[0, 0].tolist() == [100, 100, 100] and blended[0, 1].tolist() == [178, 50, 50]
