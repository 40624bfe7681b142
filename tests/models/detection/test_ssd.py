"""The SSD family (ch. 11): the book's four scales and 6,400 anchors, its options and input checks,
a training step that learns, and a checkpoint that detects the same boxes after a reload."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.detection.ssd import SSD, SSDOptions, build_ssd, head_shapes, ssd_network
from adl_runner.runner.resolve import typed_values

NAMES = ("background", "Water", "Soda", "Juice")


def test_the_books_network_at_480x640_has_four_scales_and_6400_anchors() -> None:
    network = ssd_network((480, 640, 3), 4, n_layers=4, backbone_n=1)
    assert head_shapes(network) == [(30, 40), (15, 20), (8, 10), (4, 5)]
    assert [tuple(o.shape) for o in network.outputs] == [(None, 6400, 4), (None, 6400, 4)]
    assert SSD(network).anchors.shape == (6400, 4)


def test_resnet56v2_ssd_parameter_count() -> None:
    """The book's ResNet56v2 backbone with 4 scales and 4 classes (the count does not depend on the image size)."""
    assert ssd_network((128, 160, 3), 4, n_layers=4, backbone_n=6).count_params() == 2_392_384


@pytest.mark.parametrize(("options", "fragment"), [
    ({"loss": "focal"}, "model.loss must be ce_l1, ce_smooth_l1 or focal_smooth_l1, got 'focal'"),
    ({"threshold": 0.0}, "model.threshold must be in (0, 1]"),
    ({"fn_rule": "text"}, "model.fn_rule must be repo or book, got 'text'"),
    ({"n_layers": 0}, "model.n_layers must be >= 1"),
])
def test_bad_options_are_one_line_errors(options: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        typed_values(SSDOptions, options, "model")  # declared on SSDOptions, checked before the build


def test_an_input_size_the_scales_cannot_take_says_which_work() -> None:
    with pytest.raises(IncompatibleError, match=r"multiples of 16 and at least 128, got 120x160x3; e.g. 480x640"):
        build_ssd(SSDOptions(backbone_n=1), BuildContext(seed=0, input_shape=(120, 160, 3), num_classes=4))


def _batch(n: int = 4) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    images = rng.random((n, 128, 160, 3)).astype(np.float32) * 0.2
    boxes = np.zeros((n, 2, 4), np.float32)
    classes = np.full((n, 2), -1, np.int32)
    for i in range(n):  # a bright square per image: something to find
        x, y = 20 + 20 * i, 30
        images[i, y:y + 50, x:x + 50] = 1.0
        boxes[i, 0], classes[i, 0] = (x, x + 50, y, y + 50), 1 + i % 3
    return images, {"boxes": boxes, "classes": classes}


@pytest.mark.parametrize("loss, normalize", [("ce_l1", False), ("focal_smooth_l1", True)])
def test_training_steps_lower_the_loss(loss: str, normalize: bool) -> None:
    keras.utils.set_random_seed(0)
    model = build_ssd(SSDOptions(backbone_n=1, loss=loss, normalize=normalize),
                      BuildContext(seed=0, input_shape=(128, 160, 3), num_classes=4, class_names=NAMES))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    images, targets = _batch()
    history = model.fit(images, targets, epochs=6, batch_size=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] and np.isfinite(history["offset_loss"]).all()


def test_a_checkpoint_reloads_in_safe_mode_and_detects_the_same(tmp_path: Path) -> None:
    keras.utils.set_random_seed(0)
    model = build_ssd(SSDOptions(backbone_n=1, class_threshold=0.3),
                      BuildContext(seed=0, input_shape=(128, 160, 3), num_classes=4, class_names=NAMES))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    images, targets = _batch()
    model.fit(images, targets, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "ssd.keras")
    loaded = keras.saving.load_model(tmp_path / "ssd.keras", safe_mode=True)
    assert isinstance(loaded, SSD) and loaded.class_names == NAMES and loaded.class_threshold == 0.3
    for mine, theirs in zip(model.detect(images), loaded.detect(images)):
        for key in ("boxes", "classes", "scores"):
            np.testing.assert_allclose(mine[key], theirs[key], atol=1e-4)
    soft = model.detect(images, soft_nms=True)
    assert sum(len(f["scores"]) for f in soft) >= sum(len(f["scores"]) for f in model.detect(images))
