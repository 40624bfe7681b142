"""Classical segmentation with no training loop (Pattanayak ch. 6, Listings 6-1 to 6-3): histogram
threshold, Otsu, watershed and K-means colour clustering, each one `run` on `image=<path>` or, with
none, scikit-image's `coins`.

Every run writes `segmented.png`, `overlay.png` (the regions over the image) and `histogram.png`
(grey levels with the threshold marked) and returns `threshold` (the K-means has none), `segments`
(connected regions; the watershed's basins) and, on `coins`, the adapted Rand error of those
regions against the reference segmentation of scikit-image's gallery (`coins_reference`).

skimage's `coins` are bright on a dark ground, the book's `coins.jpg` the reverse: `objects`
says which side of the threshold is the object (default `bright`; `model.objects=dark` is the
book's rule, object = 255 where I < t).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from scipy import ndimage as ndi
from skimage import data
from skimage.color import gray2rgb, label2rgb
from skimage.filters import threshold_otsu
from skimage.measure import label
from skimage.metrics import adapted_rand_error
from skimage.segmentation import mark_boundaries

from adl_runner.data.images import image_files, read_image
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.ranges import ranged
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import NoneSpec, RunContext
from adl_runner.models.segmentation import classical_methods as methods
from adl_runner.models.segmentation.classical_figures import histogram_figure, pixels_figure

log = logging.getLogger("runner")

OBJECTS = ("bright", "dark")
THRESHOLD_RULES = ("fixed", "midpoint", "valley")
OTSU_VARIANTS = ("standard", "book")
KMEANS_FEATURES = ("rgb", "rgb+xy")
KMEANS_IMPLS = ("standard", "book")


@dataclass
class ThresholdHistOptions:
    """Listing 6-1 (part 1): one threshold on the grey-level histogram."""

    rule: str = ranged("fixed", choices=THRESHOLD_RULES)
    """fixed: `threshold`; valley: the histogram's minimum between its two modes; midpoint: halfway
    between the two modes' peaks (the book's rules (b) and (a))."""
    threshold: int = ranged(150, at_least=0, at_most=255, why="a grey level")
    """The fixed t (rule=fixed), 0-255: the book's 150, chosen by eye on its coins.jpg."""
    inclusive: bool = False
    """Pixels equal to t are object (the book's text: I <= t) rather than background (its code: I < t)."""
    objects: str = ranged("bright", choices=OBJECTS)
    """Which side of t is the object (255): bright (I > t) or dark (I < t: the book's rule)."""


@dataclass
class OtsuOptions:
    """Listing 6-1 (part 2): Otsu's threshold; the classes are {<= t} and {> t}."""

    variant: str = ranged("standard", choices=OTSU_VARIANTS)
    """standard: scikit-image's threshold_otsu (class means); book: the book's unnormalised-variance Otsu."""
    objects: str = ranged("bright", choices=OBJECTS)
    """Which class is the object: bright (> t) or dark (<= t: the book's)."""
    classes: int = ranged(2, at_least=2, at_most=methods.MAX_OTSU_CLASSES)
    """Grey-level classes, split by classes - 1 thresholds (the text's extension to several
    thresholds): 2 is Otsu's one threshold; more is scikit-image's threshold_multiotsu (standard
    variant only), every class but the background (the darkest with bright objects, the brightest
    with dark ones) an object class, reported as `thresholds`."""


@dataclass
class WatershedOptions:
    """Listing 6-2: Otsu mask, distance transform, peak markers, watershed of -D in the mask."""

    objects: str = ranged("bright", choices=OBJECTS)
    """Which Otsu class is the object: bright, or dark (the book inverts its dark coins to 1)."""
    min_distance: int = ranged(10, at_least=1)
    """peak_local_max's minimum distance between markers (and from the border), the book's 10."""


@dataclass
class KMeansSegmentationOptions:
    """Listing 6-3: K-means on the pixels' colours; each pixel painted with its centroid's colour."""

    k: int = ranged(3, at_least=2)
    """Clusters: the book's text and figure (its code: 5)."""
    iterations: int = ranged(20, at_least=1)
    """Assignment/update rounds at most (the book's 20)."""
    restarts: int = ranged(1, at_least=1)
    """Independent runs from other random centroids; the one of least inertia is kept."""
    features: str = ranged("rgb", choices=KMEANS_FEATURES)
    """rgb: the colour vector (the book's code); rgb+xy: colour and the pixel's row and column, scaled to 0-255."""
    impl: str = ranged("standard", choices=KMEANS_IMPLS)
    """standard: Lloyd's algorithm to convergence; book: the book's code (fresh random centroids
    every iteration, so one step from the last draw; integer means)."""


def source_image(model: str, ctx: RunContext, channels: int) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """The image to segment ((H, W) grey or (H, W, 3) colour, uint8): `image=`, or `coins`, which
    comes with its reference labels for scoring."""
    if ctx.image is None:
        coins = data.coins()
        return (coins if channels == 1 else gray2rgb(coins)), methods.coins_reference(coins)
    if ctx.image.is_dir():
        raise ConfigError(f"image={ctx.image} is a folder; model '{model}' segments one image file")
    image_files(ctx.image)  # a missing path: one DataError line
    pixels = read_image(ctx.image, channels)
    return (pixels[..., 0] if channels == 1 else pixels), None


def scores(regions: np.ndarray, reference: Optional[np.ndarray]) -> dict[str, float]:
    """Adapted Rand error, precision and recall of `regions` against the reference (coins only)."""
    if reference is None:
        return {}
    error, precision, recall = adapted_rand_error(reference, regions)
    return {"adapted_rand_error": float(error), "adapted_rand_precision": float(precision),
            "adapted_rand_recall": float(recall)}


def binary_outputs(model: str, ctx: RunContext, grey: np.ndarray, mask: np.ndarray, threshold: float,
                   reference: Optional[np.ndarray], marks: dict[str, float], title: str) -> dict[str, Any]:
    """What a threshold run writes and reports: the 0/255 mask, its connected regions over the
    image, the histogram with t (and the peaks it came from) marked."""
    numbers = class_outputs(model, ctx, grey, mask.astype(np.uint8), reference, {"t": threshold, **marks}, title)
    return {"threshold": float(threshold), **numbers}


def class_outputs(model: str, ctx: RunContext, grey: np.ndarray, ids: np.ndarray, reference: Optional[np.ndarray],
                  marks: dict[str, float], title: str) -> dict[str, Any]:
    """What a run of grey-level classes writes and reports: the classes as evenly spaced grey levels
    (`ids`, 0 the background; two classes: the 0/255 mask), the connected regions of every object
    class (each region of each class its own label) over the image, the histogram with `marks`."""
    n_classes = max(int(ids.max()), 1) + 1
    regions, segments = np.zeros(ids.shape, np.int64), 0
    for cls in range(1, n_classes):
        labelled, count = ndi.label(ids == cls)
        regions = np.where(labelled > 0, labelled + segments, regions)
        segments += count
    ctx.out.figure("segmented", pixels_figure((ids.astype(np.int64) * 255 // (n_classes - 1)).astype(np.uint8)))
    ctx.out.figure("overlay", pixels_figure(label2rgb(regions, grey, bg_label=0, alpha=0.35)))
    ctx.out.figure("histogram", histogram_figure(grey, marks, title))
    log.info("%s: %s, %d segments", model, ", ".join(f"{k} {v:g}" for k, v in marks.items()), segments)
    return {"segments": int(segments), **scores(regions, reference)}


@MODELS.register("threshold_hist", NoneSpec(options=ThresholdHistOptions))
def run_threshold_hist(opts: ThresholdHistOptions, ctx: RunContext) -> dict[str, Any]:
    """The grey image thresholded at a fixed t, or at the valley or peak midpoint of its histogram."""
    grey, reference = source_image("threshold_hist", ctx, 1)
    marks: dict[str, float] = {}
    threshold = float(opts.threshold)
    if opts.rule != "fixed":
        valley, dark, bright = methods.valley_and_peaks(grey)
        threshold = valley if opts.rule == "valley" else (dark + bright) / 2
        marks = {"peak 1": dark, "peak 2": bright}
    mask = methods.object_mask(grey, threshold, opts.objects, opts.inclusive)
    sign = ("<" if opts.objects == "dark" else ">") + ("=" if opts.inclusive else "")
    return binary_outputs("threshold_hist", ctx, grey, mask, threshold, reference, marks,
                          f"threshold ({opts.rule}): object where I {sign} {threshold:g}")


@MODELS.register("otsu", NoneSpec(options=OtsuOptions))
def run_otsu(opts: OtsuOptions, ctx: RunContext) -> dict[str, Any]:
    """The grey image split at Otsu's threshold (scikit-image's, or the book's variant)."""
    if opts.classes != 2:
        return run_multiotsu(opts, ctx)
    grey, reference = source_image("otsu", ctx, 1)
    threshold = methods.otsu_threshold(grey, opts.variant)
    mask = methods.object_mask(grey, threshold, opts.objects, inclusive=opts.objects == "dark")
    return binary_outputs("otsu", ctx, grey, mask, threshold, reference, {}, f"Otsu ({opts.variant}): t = {threshold:g}")


def run_multiotsu(opts: OtsuOptions, ctx: RunContext) -> dict[str, Any]:
    """`model.classes` > 2: scikit-image's threshold_multiotsu; class k holds the levels in
    (t_k, t_k+1], numbered from the background (`OtsuOptions.classes`)."""
    if opts.variant != "standard":
        raise ConfigError(f"otsu: model.classes={opts.classes} is scikit-image's multi-Otsu, variant standard; the book's "
                          f"variant has one threshold (model.classes=2)")
    grey, reference = source_image("otsu", ctx, 1)
    thresholds = methods.multiotsu_thresholds(grey, opts.classes)
    ids = np.digitize(grey, thresholds, right=True)  # levels <= t_1: class 0, as Otsu's {<= t} and {> t}
    if opts.objects == "dark":
        ids = opts.classes - 1 - ids
    numbers = class_outputs("otsu", ctx, grey, ids, reference, {f"t{i + 1}": t for i, t in enumerate(thresholds)},
                            f"multi-Otsu, {opts.classes} classes: t = {', '.join(f'{t:g}' for t in thresholds)}")
    return {"thresholds": thresholds, **numbers}


@MODELS.register("watershed", NoneSpec(options=WatershedOptions))
def run_watershed(opts: WatershedOptions, ctx: RunContext) -> dict[str, Any]:
    """Touching objects separated: one basin per distance-transform peak of the Otsu mask."""
    grey, reference = source_image("watershed", ctx, 1)
    threshold = float(threshold_otsu(grey))
    mask = methods.object_mask(grey, threshold, opts.objects, inclusive=opts.objects == "dark")
    labels, segments = methods.watershed_segments(mask, opts.min_distance)
    ctx.out.figure("segmented", pixels_figure(label2rgb(labels, bg_label=0)))
    ctx.out.figure("overlay", pixels_figure(mark_boundaries(gray2rgb(grey), labels, color=(1.0, 0.2, 0.2), mode="thick")))
    ctx.out.figure("histogram", histogram_figure(grey, {"t": threshold}, f"watershed: Otsu mask at t = {threshold:g}"))
    log.info("watershed: Otsu threshold %g, %d segments", threshold, segments)
    return {"threshold": threshold, "segments": segments, **scores(labels, reference)}


@MODELS.register("kmeans_segmentation", NoneSpec(options=KMeansSegmentationOptions))
def run_kmeans_segmentation(opts: KMeansSegmentationOptions, ctx: RunContext) -> dict[str, Any]:
    """Pixels clustered on colour (and position); a grey image is clustered on its grey level (its
    three channels are equal: converted, not refused)."""
    model = "kmeans_segmentation"
    rgb, reference = source_image(model, ctx, 3)
    h, w = rgb.shape[:2]
    if opts.k > h * w:
        raise ConfigError(f"{model}: k={opts.k} is more than the image's {h * w} pixels")
    if np.all(rgb == rgb[..., :1]):
        log.info("%s: the image is greyscale; K-means clusters its grey level (three equal channels)", model)
    features = methods.pixel_features(rgb, opts.features)
    centroids, labels, spread = methods.kmeans(features, opts.k, opts.iterations, opts.restarts, opts.impl,
                                                np.random.default_rng(ctx.seed))
    clusters = labels.reshape(h, w)
    regions = label(clusters + 1, background=0, connectivity=1)
    recoloured = np.clip(centroids[clusters, :3], 0, 255).astype(np.uint8)
    ctx.out.figure("segmented", pixels_figure(recoloured))
    ctx.out.figure("overlay", pixels_figure(label2rgb(clusters, rgb, bg_label=-1, alpha=0.4)))
    grey_levels = {f"centroid {i}": round(float(c[:3].mean()), 1) for i, c in enumerate(centroids)}
    ctx.out.figure("histogram", histogram_figure(rgb.mean(axis=-1).astype(np.uint8), grey_levels,
                                                 f"K-means ({opts.impl}, k={opts.k}, {opts.features}): centroids' grey levels"))
    segments = int(regions.max())
    log.info("%s: %d clusters, %d connected segments, inertia %.4g", model, opts.k, segments, spread)
    return {"segments": segments, "clusters": int(np.unique(labels).size), "inertia": spread,
            **scores(regions, reference)}
