"""The input-kind registry and its kinds, on small synthetic arrays."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
import tensorflow as tf

from adl_runner.data.inputs import INPUT_KINDS, make_inputs
from adl_runner.data.inputs.boxes import PAD_CLASS, BoxSplits
from adl_runner.data.inputs.masks import MaskSplits
from adl_runner.data.inputs.synthetic import SyntheticSource
from adl_runner.data.inputs.views import rotate, rotation_degrees
from adl_runner.data.pipeline import ArrayPipeline, PairPipeline, PipelineOptions
from adl_runner.data.synthetic import make_splits
from adl_runner.kernel.errors import ConfigError, DataError, IncompatibleError

KINDS = ["boxes", "images", "labels", "masks", "pairs", "synthetic", "views"]


def _options(**kw) -> PipelineOptions:
    return PipelineOptions(**{"view": "image", "batch_size": 4, "seed": 3, **kw})


def _batches(ds: tf.data.Dataset) -> list:
    return list(ds.as_numpy_iterator())


def test_every_kind_is_registered_and_a_misspelt_one_is_one_line() -> None:
    assert INPUT_KINDS.names() == KINDS
    with pytest.raises(ConfigError, match=r"unknown input kind 'mask' \(did you mean 'masks'\?\); valid: boxes, images"):
        make_inputs("mask", None, _options())


def test_a_misspelt_kind_option_names_the_valid_ones() -> None:
    splits = make_splits((28, 28, 1), 10, 8, 4, seed=0)
    with pytest.raises(ConfigError, match=r"input kind 'views' has no option 'rotate' \(did you mean 'rotation'\?\); valid: crop, rotation"):
        make_inputs("views", splits, _options(), {"rotate": 10})


# -- the wrapped pipelines -------------------------------------------------------------------------


def test_labels_and_images_wrap_the_array_pipeline() -> None:
    splits = make_splits((8, 8, 1), 3, 8, 4, seed=0)
    labels = make_inputs("labels", splits, _options(onehot=False))
    images = make_inputs("images", splits, _options(targets="images"))
    assert isinstance(labels, ArrayPipeline) and isinstance(images, ArrayPipeline)
    x, y = _batches(labels.test())[0]
    assert np.array_equal(y, splits.y_test)
    x, target = _batches(images.test())[0]
    assert np.array_equal(x, target)
    with pytest.raises(IncompatibleError, match="input kind 'images' has targets images or none, got 'labels'"):
        make_inputs("images", splits, _options())


def test_pairs_wrap_the_pair_pipeline() -> None:
    splits = make_splits((8, 8, 3), 3, 8, 4, seed=0)
    pairs = make_inputs("pairs", splits, _options(gray_input=True), {"dataset": "tiny_gray2rgb"})
    assert isinstance(pairs, PairPipeline)
    source, target = _batches(pairs.test())[0]
    assert source.shape == (4, 8, 8, 1) and target.shape == (4, 8, 8, 3)


# -- views --------------------------------------------------------------------------------------------


def test_views_centre_crop_and_seeded_second_views() -> None:
    splits = make_splits((28, 28, 1), 10, 12, 4, seed=0)
    views = make_inputs("views", splits, _options())
    assert views.input_shape == (24, 24, 1)
    (x, g_x), labels = _batches(views.train(0, 1))[0]
    assert x.shape == g_x.shape == (4, 24, 24, 1) and labels.shape == (4,)
    assert not np.allclose(x, g_x)
    again = _batches(make_inputs("views", splits, _options()).train(0, 1))[0]
    assert np.array_equal(g_x, again[0][1])  # same seed, same views
    other = _batches(make_inputs("views", splits, _options(seed=4)).train(0, 1))[0]
    assert not np.array_equal(g_x, other[0][1])
    # Evaluation: the centre crops alone, in order.
    centre, test_labels = _batches(views.test())[0]
    assert np.allclose(centre, splits.x_test[:, 2:26, 2:26] / 255.0) and np.array_equal(test_labels, splits.y_test)
    assert np.array_equal(views.labels("test"), splits.y_test)  # what matched accuracy compares with


def test_a_resumed_view_stream_repeats_the_same_second_views() -> None:
    splits = make_splits((12, 12, 1), 2, 8, 4, seed=0)
    views = make_inputs("views", splits, _options(), {"crop": 2, "crop_sizes": [2, 4]})
    full = [g for (_, g), _ in _batches(views.train(0, 3))]
    tail = [g for (_, g), _ in _batches(views.train(2, 3))]
    assert len(full) == 6 and all(np.array_equal(a, b) for a, b in zip(full[4:], tail))


def test_a_view_with_only_centred_crops_is_the_resized_centre() -> None:
    # Never a rotation, a centred 4-pixel crop: G(x) is x's 8x8 centre resized to 10x10, nothing random.
    splits = make_splits((12, 12, 1), 2, 4, 4, seed=0)
    views = make_inputs("views", splits, _options(), {"crop": 2, "rotation_share": 0, "crop_sizes": [4], "centred": 1.0})
    (x, g_x), _ = _batches(views.train(0, 1))[0]
    centres = splits.x_train[:, 1:11, 1:11] / 255.0
    rows = [next(i for i, c in enumerate(centres) if np.allclose(c, view)) for view in x]
    expected = tf.image.resize(splits.x_train[:, 2:10, 2:10].astype(np.float32) / 255.0, (10, 10)).numpy()
    assert np.allclose(g_x, expected[rows], atol=1e-6)


def test_second_views_are_rotations_or_crops_half_the_time() -> None:
    # A zero rotation leaves the whole image (resized); the crop is its fixed 8x8 centre.
    splits = make_splits((12, 12, 1), 2, 16, 4, seed=0)
    views = make_inputs("views", splits, _options(batch_size=16), {"crop": 2, "rotation": 0, "crop_sizes": [4], "centred": 1.0})
    (x, g_x), _ = _batches(views.train(0, 1))[0]
    images = splits.x_train.astype(np.float32) / 255.0
    rows = [next(i for i, c in enumerate(images[:, 1:11, 1:11]) if np.allclose(c, view)) for view in x]
    whole = tf.image.resize(images, (10, 10)).numpy()[rows]
    centre = tf.image.resize(images[:, 2:10, 2:10], (10, 10)).numpy()[rows]
    rotated = [np.allclose(g, w, atol=1e-3) for g, w in zip(g_x, whole)]
    assert all(r or np.allclose(g, c, atol=1e-6) for r, g, c in zip(rotated, g_x, centre))
    assert 0 < sum(rotated) < 16


def test_views_train_on_full_batches_only() -> None:
    # 10 examples in batches of 4: the book's generator has floor(10 / 4) = 2 batches per epoch
    views = make_inputs("views", make_splits((28, 28, 1), 2, 10, 4, seed=0), _options())
    assert views.steps_per_epoch() == 2
    assert [len(labels) for _, labels in _batches(views.train(0, 3))] == [4] * 6


def test_rotations_are_whole_degrees_in_the_books_range() -> None:
    keys = tf.random.experimental.stateless_split(tf.constant([1, 2], tf.int64), 400)
    degrees = np.array([float(rotation_degrees(key, 20.0)) for key in keys])
    assert set(degrees) == set(range(-20, 20))  # randint(-20, 20): -20 .. 19


def test_rotate_turns_about_the_centre() -> None:
    image = np.random.default_rng(0).random((5, 5, 1)).astype(np.float32)
    quarter = rotate(tf.constant(image), tf.constant(np.pi / 2, tf.float32)).numpy()
    assert any(np.allclose(quarter, np.rot90(image, k), atol=1e-5) for k in (1, 3))


def test_views_refuse_crops_larger_than_the_image() -> None:
    splits = make_splits((8, 8, 1), 2, 4, 4, seed=0)
    with pytest.raises(ConfigError, match=r"views: crop and crop_sizes must be in 0..7 pixels for 8x8 images"):
        make_inputs("views", splits, _options())


def test_kind_options_are_checked_against_their_declared_ranges() -> None:
    splits = make_splits((28, 28, 1), 2, 4, 4, seed=0)
    with pytest.raises(ConfigError, match=r"^views.centred must be in \[0, 1\], got 1.5$"):
        make_inputs("views", splits, _options(), {"centred": 1.5})
    with pytest.raises(ConfigError, match=r"^views.crop_sizes \(each item\) must be >= 0, got \[8, -2\]$"):
        make_inputs("views", splits, _options(), {"crop_sizes": [8, -2]})


def test_no_kind_option_shares_a_name_with_a_loader_option_of_a_source_it_reads() -> None:
    # dataset.options holds both (runner.input_options): a shared name would go to the loader only
    from adl_runner.kernel.registry import DATASETS
    from adl_runner.runner.families import load_families
    from adl_runner.runner.input_options import settable

    load_families()
    for kind in INPUT_KINDS.names():
        sources = INPUT_KINDS.get(kind).spec.sources
        for name in DATASETS.names():
            spec = DATASETS.get(name).spec
            if spec.source in sources and spec.options is not None:
                shared = set(settable(kind)) & {f.name for f in fields(spec.options)}
                assert not shared, (kind, name, shared)


# -- boxes --------------------------------------------------------------------------------------------


def _box_splits() -> BoxSplits:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (3, 40, 60, 3), dtype=np.uint8)
    boxes = [np.array([[10, 20, 5, 15, 1], [30, 50, 0, 40, 3]]), np.array([[0, 60, 0, 40, 2]]), np.zeros((0, 5))]
    return BoxSplits(x, boxes, x[:2], boxes[:2], ("background", "a", "b", "c"))


def test_boxes_are_padded_to_one_shape_and_scaled_with_the_image() -> None:
    boxes = make_inputs("boxes", _box_splits(), _options(), {"size": (20, 30)})
    assert boxes.input_shape == (20, 30, 3) and boxes.num_classes == 4
    images, target = _batches(boxes.evaluation("train"))[0]
    assert images.shape == (3, 20, 30, 3)
    assert target["boxes"].shape == (3, 2, 4) and target["classes"].tolist() == [[1, 3], [2, PAD_CLASS], [PAD_CLASS, PAD_CLASS]]
    assert np.allclose(target["boxes"][0], [[5, 10, 2.5, 7.5], [15, 25, 0, 20]])  # half the size: half the pixels
    assert np.allclose(target["boxes"][2], 0)


def test_flipped_boxes_follow_their_mirrored_image() -> None:
    splits = _box_splits()
    plain = make_inputs("boxes", splits, _options(batch_size=3))
    flips = make_inputs("boxes", splits, _options(batch_size=3), {"flip": True})
    seen_flip = False
    for epoch in range(4):
        (img, tgt), (flip_img, flip_tgt) = _batches(plain.train(epoch, epoch + 1))[0], _batches(flips.train(epoch, epoch + 1))[0]
        for i in range(3):
            if np.array_equal(img[i], flip_img[i]):
                assert np.array_equal(tgt["boxes"][i], flip_tgt["boxes"][i])
                continue
            seen_flip = True
            assert np.array_equal(img[i][:, ::-1], flip_img[i])
            valid = tgt["classes"][i] >= 0
            b, fb = tgt["boxes"][i][valid], flip_tgt["boxes"][i][valid]
            assert np.allclose(fb, np.stack([60 - b[:, 1], 60 - b[:, 0], b[:, 2], b[:, 3]], axis=1))
            assert np.allclose(flip_tgt["boxes"][i][~valid], 0)
    assert seen_flip


def test_bad_box_lists_are_one_line() -> None:
    splits = _box_splits()
    with pytest.raises(ConfigError, match="boxes: train image 0 has 2 boxes, more than max_boxes=1"):
        make_inputs("boxes", splits, _options(), {"max_boxes": 1})
    splits.boxes_train[1] = np.array([[0, 60, 0, 40, 0]])
    with pytest.raises(DataError, match=r"boxes: train image 1 has a box of class < 1 \(0 is the background\)"):
        make_inputs("boxes", splits, _options())
    with pytest.raises(IncompatibleError, match="input kind 'boxes' does not support augment"):
        make_inputs("boxes", _box_splits(), _options(augment=True))


# -- masks --------------------------------------------------------------------------------------------


def _mask_splits(onehot: bool = False) -> MaskSplits:
    x = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    ids = np.zeros((2, 8, 8), np.int64)
    ids[:, :, 4:] = 1  # right half class 1
    ids[:, :4, :2] = 2  # top-left block class 2
    masks = np.eye(3, dtype=np.uint8)[ids] if onehot else ids
    return MaskSplits(x, masks, x, masks, ("background", "a", "b"))


@pytest.mark.parametrize("onehot", [False, True])
def test_masks_resize_with_nearest_ids(onehot: bool) -> None:
    masks = make_inputs("masks", _mask_splits(onehot), _options(onehot=False), {"size": (4, 4)})
    images, ids = _batches(masks.test())[0]
    assert images.shape == (2, 4, 4, 3) and ids.dtype == np.int32
    # Nearest: every id is one of the source ids at the matching place, never an average of two.
    assert ids[0].tolist() == [[2, 0, 1, 1], [2, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]]


def test_one_hot_mask_targets_and_joint_flips() -> None:
    splits = _mask_splits()
    masks = make_inputs("masks", splits, _options(batch_size=2), {"flip": True})
    _, target = _batches(masks.evaluation("test"))[0]
    assert target.shape == (2, 8, 8, 3) and np.array_equal(target.argmax(-1), splits.masks_test)
    flipped = 0
    for epoch in range(4):
        images, target = _batches(masks.train(epoch, epoch + 1))[0]
        for image, mask in zip(images, target.argmax(-1)):
            mirrored = np.array_equal(mask, splits.masks_train[0][:, ::-1])
            assert mirrored or np.array_equal(mask, splits.masks_train[0])
            flipped += mirrored
            assert any(np.allclose(image, (x[:, ::-1] if mirrored else x) / 255.0) for x in splits.x_train)
    assert 0 < flipped < 8


def test_masks_sampled_with_replacement_repeat_examples_and_resume() -> None:
    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1) * np.ones((1, 2, 2, 3), np.uint8)
    splits = MaskSplits(x, np.zeros((10, 2, 2), np.uint8), x[:2], np.zeros((2, 2, 2), np.uint8), ("background", "a"))
    drawn = make_inputs("masks", splits, _options(batch_size=4, seed=3), {"sampling": "replacement"})

    def examples(batches: list) -> list[list[int]]:
        return [np.round(images[:, 0, 0, 0] * 255).astype(int).tolist() for images, _ in batches]

    stream = examples(_batches(drawn.train(0, 3, 5)))  # 3 epochs of 5 batches of 4
    assert len(stream) == 15 and all(len(batch) == 4 for batch in stream)
    assert stream[10:] == examples(_batches(drawn.train(2, 3, 5)))  # a function of (seed, step)
    assert any(len(set(batch)) < 4 for batch in stream)  # with replacement: some batch repeats an image
    epochs = examples(_batches(make_inputs("masks", splits, _options(batch_size=5, seed=3)).train(0, 2, 2)))
    assert sorted(epochs[0] + epochs[1]) == list(range(10))  # epochs: each image once per pass
    with pytest.raises(ConfigError, match="unknown dataset.sampling 'bootstrap'; valid: epochs, replacement"):
        make_inputs("masks", splits, _options(), {"sampling": "bootstrap"})


def test_masks_that_do_not_fit_their_images_or_classes_are_one_line() -> None:
    splits = _mask_splits()
    splits.masks_test = splits.masks_test[:, :4]
    with pytest.raises(DataError, match=r"masks: test masks of shape \(2, 4, 8\) do not match images of shape \(2, 8, 8, 3\)"):
        make_inputs("masks", splits, _options())
    splits = _mask_splits()
    splits.masks_train[0, 0, 0] = 3
    with pytest.raises(DataError, match=r"masks: train masks hold class ids 0..3, valid: 0..2"):
        make_inputs("masks", splits, _options())


# -- synthetic -----------------------------------------------------------------------------------------


def _gaussian_pairs(seed: tf.Tensor, n: int) -> tf.Tensor:
    return tf.random.stateless_normal((n, 2), seed=seed)


def test_synthetic_draws_are_seeded_resumable_and_split_apart() -> None:
    source = SyntheticSource(_gaussian_pairs, n_train=16, n_test=8, input_shape=(2,))
    pipeline = make_inputs("synthetic", source, _options())
    full, tail = _batches(pipeline.train(0, 3)), _batches(pipeline.train(1, 3))
    assert len(full) == 12 and all(np.array_equal(a, b) for a, b in zip(full[4:], tail))
    test = _batches(pipeline.test())
    assert len(test) == 2 and not np.array_equal(test[0], full[0])
    assert np.array_equal(_batches(pipeline.evaluation("train"))[0], full[0])
    with pytest.raises(ConfigError, match="unknown split 'val'; valid: train, test"):
        pipeline.evaluation("val")
