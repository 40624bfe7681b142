"""The computations of classical segmentation (Pattanayak ch. 6, Listings 6-1 to 6-3), on arrays:
scikit-image and SciPy where they have the function; the book's own variants (its Otsu without
class means, its K-means) as vectorised numpy, so that they can be compared with the standard ones.

Grey images are (H, W) uint8, colour images (H, W, 3) uint8; masks are boolean, objects True.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import sobel, threshold_minimum, threshold_multiotsu, threshold_otsu
from skimage.segmentation import watershed

from adl_runner.kernel.errors import DataError, IncompatibleError

LEVELS = 256
"""Grey levels of a uint8 image: the histogram's bins."""


def grey_histogram(grey: np.ndarray) -> np.ndarray:
    """Pixel counts per grey level 0..255."""
    return np.bincount(grey.ravel(), minlength=LEVELS)


def otsu_book(grey: np.ndarray) -> int:
    """Listing 6-1's Otsu: the t maximising P1 (u1 - u)^2 + P2 (u2 - u)^2 where u1, u2 are the
    classes' *unnormalised* first moments (sum of P(i) i, not divided by P1, P2), as the book's
    formula and code have it; the class {0..t} against {t+1..255}. Not standard Otsu: on a mixture
    of N(60, 15) and N(190, 20) it picks about 83 where the standard one picks 124."""
    p = grey_histogram(grey) / grey.size
    p1 = np.cumsum(p)
    u1 = np.cumsum(p * np.arange(LEVELS))
    u = u1[-1]
    u2 = u - u1
    between = p1 * (u1 - u) ** 2 + (1.0 - p1) * (u2 - u) ** 2
    return int(np.argmax(between))


MAX_OTSU_CLASSES = 5
"""threshold_multiotsu searches every split of the 256 levels: its time grows as 256^(classes - 1)."""


def multiotsu_thresholds(grey: np.ndarray, classes: int) -> list[float]:
    """The `classes` - 1 thresholds maximising the between-class variance (scikit-image's
    threshold_multiotsu), or a DataError when the image has fewer grey levels than classes."""
    try:
        return [float(t) for t in threshold_multiotsu(grey, classes=classes)]
    except ValueError as exc:
        raise DataError(f"otsu: model.classes={classes} needs at least {classes} distinct grey levels in the image "
                        f"({str(exc).splitlines()[0]})") from None


def otsu_threshold(grey: np.ndarray, variant: str) -> float:
    """Otsu's threshold: scikit-image's (class means; `standard`) or the book's (`book`); either way
    the classes are {<= t} and {> t}."""
    return float(otsu_book(grey)) if variant == "book" else float(threshold_otsu(grey))


def valley_and_peaks(grey: np.ndarray) -> tuple[int, int, int]:
    """(valley, dark peak, bright peak) of a two-mode histogram: the valley is scikit-image's
    `threshold_minimum` (the histogram smoothed until it has two maxima, and its minimum between
    them: the book's argmin of H over [p1, p2]); each peak is the most frequent level on its side.
    An image whose histogram does not smooth to two modes is refused."""
    try:
        valley = int(threshold_minimum(grey))
    except RuntimeError:
        raise IncompatibleError("the image's grey-level histogram has no two modes to find a valley "
                                "between; use model.rule=fixed with model.threshold=<0-255>") from None
    counts = grey_histogram(grey)
    return valley, int(np.argmax(counts[:valley + 1])), valley + int(np.argmax(counts[valley:]))


def object_mask(grey: np.ndarray, threshold: float, objects: str, inclusive: bool) -> np.ndarray:
    """The objects of a thresholded image: `dark` objects lie below t (`<`, or `<=` when
    `inclusive`: the book's code and text), `bright` ones above (`>`, or `>=`)."""
    if objects == "dark":
        return grey <= threshold if inclusive else grey < threshold
    return grey >= threshold if inclusive else grey > threshold


def watershed_segments(mask: np.ndarray, min_distance: int) -> tuple[np.ndarray, int]:
    """Listing 6-2 from the binary mask on: the distance transform D, its peaks at least
    `min_distance` apart (one per object region) as a boolean marker mask numbered by 8-connected
    labelling, and the watershed of -D from those markers inside the mask. Returns the labels
    (0: background) and the number of segments."""
    distance = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(distance, min_distance=min_distance, labels=mask.astype(np.int32))
    marker_mask = np.zeros(mask.shape, dtype=bool)
    marker_mask[tuple(peaks.T)] = True
    markers, _ = ndi.label(marker_mask, structure=np.ones((3, 3)))
    labels = watershed(-distance, markers, mask=mask)
    return labels, int(np.unique(labels[labels > 0]).size)


def kmeans(features: np.ndarray, k: int, iterations: int, restarts: int, impl: str,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """(centroids (k, d), each row's cluster, inertia) of the best of `restarts` K-means runs, by
    inertia: Lloyd's algorithm (`standard`) or the book's code (`book`). The standard one starts
    from k distinct feature vectors, so an image with fewer is refused."""
    distinct = np.unique(features, axis=0) if impl == "standard" else features
    if k > len(distinct):
        raise IncompatibleError(f"kmeans_segmentation: k={k} is more than the image's {len(distinct)} distinct feature vectors")
    fits = []
    for _ in range(restarts):
        if impl == "book":
            centroids, labels = kmeans_book(features, k, iterations, rng)
        else:
            centroids, labels = lloyd(features, distinct[rng.choice(len(distinct), size=k, replace=False)], iterations)
        fits.append((inertia(features, centroids, labels), centroids, labels))
    spread, centroids, labels = min(fits, key=lambda fit: fit[0])
    return centroids, labels, spread


def lloyd(features: np.ndarray, centroids: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's K-means from `centroids`, for at most `iterations` assignment/update rounds (fewer
    when the assignment stops changing); a cluster that empties keeps its centroid. Returns the
    centroids and each row's nearest one."""
    centroids = centroids.astype(np.float64)
    labels = None
    for _ in range(iterations):
        new = nearest(features, centroids)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        centroids = cluster_means(features, labels, centroids)
    return centroids, nearest(features, centroids)


def kmeans_book(features: np.ndarray, k: int, iterations: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Listing 6-3's K-means as its code runs: every iteration draws fresh random integer centroids
    in 0..254, assigns each pixel to the nearest and paints it with its cluster's mean, truncated
    to an integer. Each iteration overwrites the last, so the result is the last draw's single
    step: that one is computed (all the draws are made, so a seed gives the book's sequence)."""
    draws = rng.integers(0, 255, size=(iterations, k, features.shape[1])).astype(np.float64)
    labels = nearest(features, draws[-1])
    return np.floor(cluster_means(features, labels, draws[-1])), labels


def cluster_means(features: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each cluster's mean row; an empty cluster keeps its centroid."""
    onehot = np.eye(len(centroids))[labels]
    counts = onehot.sum(axis=0)
    means = centroids.copy()
    filled = counts > 0
    means[filled] = (onehot.T @ features)[filled] / counts[filled, None]
    return means


def nearest(features: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the L2-nearest centroid of each feature row, by |c|^2 - 2 f.c (|f - c|^2 less the
    row's own |f|^2, the same for every centroid): an (N, k) table, never (N, k, d), so that a large
    photo fits in memory."""
    distances = -2.0 * features @ centroids.T + (centroids**2).sum(axis=1)[None, :]
    return np.argmin(distances, axis=1)


def inertia(features: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the rows to their centroids: what restarts are compared on."""
    return float(((features - centroids[labels]) ** 2).sum())


def pixel_features(rgb: np.ndarray, features: str) -> np.ndarray:
    """(H*W, 3) colour rows, or (H*W, 5) with the pixel's row and column scaled to 0..255 so that
    position weighs like colour (`rgb+xy`, the book's intensity-plus-coordinates vector)."""
    h, w = rgb.shape[:2]
    colour = rgb.reshape(-1, 3).astype(np.float64)
    if features == "rgb":
        return colour
    rows, cols = np.meshgrid(np.linspace(0, 255, h), np.linspace(0, 255, w), indexing="ij")
    return np.column_stack([colour, rows.ravel(), cols.ravel()])


def coins_reference(coins: np.ndarray) -> np.ndarray:
    """The reference segmentation of scikit-image's `coins` that its gallery example "Evaluating
    segmentation metrics" builds: the watershed of the Sobel elevation map from markers at the
    darkest (< 30: background) and brightest (> 150: coins) pixels, holes filled, coins labelled
    one by one (0: background)."""
    markers = np.zeros_like(coins)
    markers[coins < 30] = 1
    markers[coins > 150] = 2
    coins_mask = watershed(sobel(coins), markers) == 2
    return ndi.label(ndi.binary_fill_holes(coins_mask))[0]
