"""The classical segmentations (Pattanayak Listings 6-1 to 6-3) on synthetic images whose answer is
known: Otsu between the modes (and the book's variant elsewhere), the histogram's valley, the `<`
vs `<=` switch, the watershed's two touching discs, K-means' three flat colours."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data
from skimage.draw import disk

from adl_runner.kernel.errors import IncompatibleError
from adl_runner.models.segmentation import classical_methods as methods


def bimodal(seed: int = 0) -> np.ndarray:
    """The spec's check: 60,000 pixels of N(60, 15) and 40,000 of N(190, 20), as a 250x400 grey image."""
    rng = np.random.default_rng(seed)
    levels = np.concatenate([rng.normal(60, 15, 60_000), rng.normal(190, 20, 40_000)])
    return np.clip(np.round(levels), 0, 255).astype(np.uint8).reshape(250, 400)


def test_otsu_splits_between_the_modes_and_the_books_variant_does_not() -> None:
    grey = bimodal()
    standard, book = methods.otsu_threshold(grey, "standard"), methods.otsu_threshold(grey, "book")
    assert 110 <= standard <= 135 and abs(standard - 124) <= 2  # the spec's 124
    assert abs(book - 83) <= 3  # the spec's 83: unnormalised class moments pull t towards the larger mode
    assert methods.otsu_book(np.full((4, 4), 7, dtype=np.uint8)) == 0  # one level: the first argmax


def test_the_valley_lies_between_the_two_peaks() -> None:
    valley, dark, bright = methods.valley_and_peaks(bimodal())
    assert abs(dark - 60) <= 5 and abs(bright - 190) <= 5 and 100 <= valley <= 140
    with pytest.raises(IncompatibleError, match="no two modes.*model.rule=fixed"):
        methods.valley_and_peaks(np.full((8, 8), 100, dtype=np.uint8))


def test_inclusive_switches_between_less_than_and_less_or_equal() -> None:
    grey = np.array([[149, 150, 151]], dtype=np.uint8)
    assert methods.object_mask(grey, 150, "dark", inclusive=False).tolist() == [[True, False, False]]  # the book's code
    assert methods.object_mask(grey, 150, "dark", inclusive=True).tolist() == [[True, True, False]]  # its text
    assert methods.object_mask(grey, 150, "bright", inclusive=False).tolist() == [[False, False, True]]
    assert methods.object_mask(grey, 150, "bright", inclusive=True).tolist() == [[False, True, True]]


def test_the_watershed_separates_two_touching_discs() -> None:
    mask = np.zeros((80, 120), dtype=bool)
    mask[disk((40, 40), 22)] = True
    mask[disk((40, 78), 22)] = True  # centres 38 apart, radii 22: one connected blob with a waist
    assert methods.watershed_segments(mask, min_distance=10)[1] == 2
    assert np.unique(methods.watershed_segments(mask, 10)[0][mask]).size == 2


@pytest.mark.parametrize("features", ["rgb", "rgb+xy"])
def test_kmeans_recovers_three_flat_colours(features: str) -> None:
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200]], dtype=np.uint8)
    image = np.repeat(colours, 20, axis=0)[:, None, :].repeat(30, axis=1)  # three 20x30 bands
    rows = methods.pixel_features(image, features)
    centroids, labels, spread = methods.kmeans(rows, 3, 20, 2, "standard", np.random.default_rng(0))
    assert sorted(map(tuple, np.round(centroids[:, :3]).astype(int))) == sorted(map(tuple, colours.astype(int)))
    assert np.unique(labels.reshape(60, 30)[::20, 0]).size == 3  # one cluster per band
    assert (spread == 0.0) == (features == "rgb")


def test_the_books_kmeans_is_one_step_from_random_integer_centroids() -> None:
    rows = methods.pixel_features(np.random.default_rng(1).integers(0, 256, (10, 10, 3)).astype(np.uint8), "rgb")
    centroids, labels, _ = methods.kmeans(rows, 3, 20, 1, "book", np.random.default_rng(0))
    assert centroids.shape == (3, 3) and np.array_equal(centroids, np.floor(centroids)) and labels.shape == (100,)
    with pytest.raises(IncompatibleError, match="k=3 is more than the image's 1 distinct"):
        methods.kmeans(np.zeros((10, 3)), 3, 20, 1, "standard", np.random.default_rng(0))


def test_the_coins_reference_labels_each_coin() -> None:
    reference = methods.coins_reference(data.coins())
    assert reference.shape == data.coins().shape and reference[0, 0] == 0 and 24 <= reference.max() <= 26
