"""The localizer (Pattanayak ch. 6 section 3): its parameter count, the book's loss on a hand-made
batch, the box parameterisation, bad options, training steps that learn, and a checkpoint that reloads."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.segmentation.localizer import (
    Localizer,
    LocalizerOptions,
    build_localizer,
    localization_loss,
    localizer_network,
    minmax_boxes,
    normalized_boxes,
)

NAMES = ("background", "Water", "Soda", "Juice")


def test_parameter_count_of_the_default_network_at_96x96() -> None:
    convs = [(3, 32), (32, 64), (64, 128), (128, 128)]
    expected = (sum(9 * cin * cout + 4 * cout for cin, cout in convs)  # no bias; BN: gamma, beta, mean, variance
                + (6 * 6 * 128) * 256 + 256  # shared Dense on the flattened 6x6x128
                + 256 * 3 + 3 + 256 * 4 + 4)  # class and box heads
    assert localizer_network((96, 96, 3), 3, [32, 64, 128, 128], 256, 0.3).count_params() == expected == 1_423_591


def test_boxes_are_the_books_top_left_height_width_normalised_to_the_image() -> None:
    minmax = np.array([[10.0, 50.0, 20.0, 80.0]], np.float32)  # xmin, xmax, ymin, ymax on a 100 (H) x 200 (W) image
    normalized = normalized_boxes(minmax, (100, 200))
    np.testing.assert_allclose(normalized, [[10 / 200, 20 / 100, 60 / 100, 40 / 200]], rtol=1e-6)
    np.testing.assert_allclose(minmax_boxes(normalized, (100, 200)), minmax, rtol=1e-6)


def test_the_loss_is_alpha_cross_entropy_plus_beta_summed_squares_averaged_over_the_batch() -> None:
    classes = np.array([0, 2])
    probabilities = np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]], np.float32)
    truth = np.array([[0.1, 0.2, 0.5, 0.4], [0.0, 0.0, 1.0, 1.0]], np.float32)
    predicted = np.array([[0.2, 0.2, 0.3, 0.4], [0.5, 0.0, 1.0, 0.5]], np.float32)
    ce = (-np.log(0.5) - np.log(0.8)) / 2
    sse = ((0.1 ** 2 + 0.2 ** 2) + (0.5 ** 2 + 0.5 ** 2)) / 2  # the sum over the 4 numbers, not their mean
    total, class_term, box_term = localization_loss(classes, truth, probabilities, predicted, alpha=2.0, beta=3.0)
    assert float(class_term) == pytest.approx(ce, rel=1e-5) and float(box_term) == pytest.approx(sse, rel=1e-5)
    assert float(total) == pytest.approx(2.0 * ce + 3.0 * sse, rel=1e-5)


@pytest.mark.parametrize(("options", "fragment"), [
    ({"alpha": -1.0}, "model.alpha must be >= 0, got -1.0"),
    ({"beta": -0.5}, "model.beta must be >= 0, got -0.5"),
    ({"alpha": float("nan")}, "model.alpha must be >= 0, got nan"),
    ({"alpha": 0.0, "beta": 0.0}, "model.alpha and model.beta are both 0"),
    ({"dropout": 1.0}, "model.dropout must be in [0, 1), got 1.0"),
])
def test_bad_options_are_one_line_errors(options: dict, fragment: str) -> None:
    """The ranges declared on LocalizerOptions, then the builder's own check, in the runner's order."""
    from adl_runner.runner.resolve import typed_values

    with pytest.raises(ConfigError) as excinfo:
        build_localizer(typed_values(LocalizerOptions, options, "model"), BuildContext(seed=0, input_shape=(32, 32, 3), num_classes=4))
    assert fragment in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_an_input_too_small_for_the_poolings_says_so() -> None:
    with pytest.raises(IncompatibleError, match="4 pooling blocks needs a height and width of at least 16, got 8x8x3"):
        build_localizer(LocalizerOptions(), BuildContext(seed=0, input_shape=(8, 8, 3), num_classes=4))


def _batch(n: int = 8) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A bright square per image at a known place; its class is its position's column."""
    images = np.full((n, 32, 32, 3), 0.1, np.float32)
    boxes = np.zeros((n, 1, 4), np.float32)
    classes = np.zeros((n, 1), np.int32)
    for i in range(n):
        x, y = 2 + 6 * (i % 3), 4 + 2 * i
        images[i, y:y + 10, x:x + 10] = 1.0
        boxes[i, 0], classes[i, 0] = (x, x + 10, y, y + 10), 1 + i % 3
    return images, {"boxes": boxes, "classes": classes}


def _model(**options) -> Localizer:
    keras.utils.set_random_seed(0)
    model = build_localizer(LocalizerOptions(filters=[8, 16], dense=32, dropout=0.0, **options),
                            BuildContext(seed=0, input_shape=(32, 32, 3), num_classes=4, class_names=NAMES))
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    return model


def test_training_steps_lower_the_loss_and_evaluation_reports_the_metrics() -> None:
    model = _model()
    images, targets = _batch()
    history = model.fit(images, targets, epochs=15, batch_size=8, verbose=0).history
    assert set(history) == {"loss", "class_loss", "box_loss"} and history["loss"][-1] < history["loss"][0] / 2
    results = model.evaluate(images, targets, return_dict=True, verbose=0)
    assert all(0.0 <= results[key] <= 1.0 for key in ("accuracy", "f1", "box_iou"))  # BN statistics lag after 15 steps


def test_a_checkpoint_reloads_in_safe_mode_and_localizes_the_same(tmp_path: Path) -> None:
    model = _model(alpha=0.5, beta=2.0)
    images, targets = _batch()
    model.fit(images, targets, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "localizer.keras")
    loaded = keras.saving.load_model(tmp_path / "localizer.keras", safe_mode=True)
    assert isinstance(loaded, Localizer) and loaded.class_names == NAMES and (loaded.alpha, loaded.beta) == (0.5, 2.0)
    mine, theirs = model.localize(images), loaded.localize(images)
    for key in ("classes", "scores", "boxes"):
        np.testing.assert_allclose(mine[key], theirs[key], atol=1e-5)
    assert set(mine["classes"]) <= {1, 2, 3}
