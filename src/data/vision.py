"""Loaders for the classic image sets: MNIST (also padded to 32x32), Fashion-MNIST, CIFAR-10, SVHN.

They read the upstream file formats straight from the data root (never through keras.datasets,
which downloads on a cache miss and fails offline) and return uint8 (N, H, W, C) arrays.
"""

from __future__ import annotations

import gzip
import math
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adl_runner.data.array_cache import cached_arrays, npz_arrays
from adl_runner.data.splits import ArraySplits, NoOptions
from adl_runner.data.store import (
    CIFAR_ARCHIVE,
    CIFAR_BATCHES,
    CIFAR_FULL_DIR,
    CIFAR_SUBSET_DIR,
    SVHN_FILES,
    DataStore,
    one_line,
)
from adl_runner.kernel.errors import ConfigError, DataError
from adl_runner.kernel.registry import DATASETS, unknown_name_message
from adl_runner.kernel.specs import DatasetSpec

MNIST_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension


def _corrupt(path: Path, what: str, exc: BaseException | str) -> DataError:
    detail = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else exc
    return DataError(one_line(f"{path} is not a valid {what} ({detail}); replace it with a good copy"))


def _checked(
    path: Path, what: str, x: Any, y: Any, image_shape: tuple[int, ...], num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) as uint8 images and int32 labels, after checking that they fit together."""
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.shape[1:] != image_shape:
        got = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise _corrupt(path, what, f"images are {got}, expected uint8 (N, {', '.join(map(str, image_shape))})")
    y = np.asarray(y)
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise _corrupt(path, what, f"{len(x)} images but labels of shape {y.shape} and dtype {y.dtype}")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise _corrupt(path, what, f"labels span {y.min()}..{y.max()}, expected 0..{num_classes - 1}")
    return x, y.astype(np.int32)


# -- MNIST -------------------------------------------------------------------------------------


@DATASETS.register("mnist", DatasetSpec(options=NoOptions))
def load_mnist(store: DataStore, opts: NoOptions) -> ArraySplits:
    """MNIST digits from the Keras mnist.npz: 60000/10000 images of 28x28x1."""
    path = store.file("mnist/mnist.npz")
    try:
        # Memory-mapped from the runner's cache after the first load: a job reads only what it uses.
        arrays = npz_arrays(path, ("x_train", "y_train", "x_test", "y_test"))
    except Exception as exc:  # BadZipFile, EOFError, zlib.error, KeyError, ValueError...
        raise _corrupt(path, "MNIST .npz", exc) from None
    x_train, y_train = _checked(path, "MNIST .npz", arrays["x_train"], arrays["y_train"], (28, 28), 10)
    x_test, y_test = _checked(path, "MNIST .npz", arrays["x_test"], arrays["y_test"], (28, 28), 10)
    return ArraySplits(x_train[..., None], y_train, x_test[..., None], y_test, MNIST_CLASSES)


MNIST32_PAD = 2
"""Zero rows/columns added on each side of a 28x28 digit: 28 + 2*2 = 32, as the book's CycleGAN
MNIST<->SVHN prep does (mnist_svhn_utils.py), so that both domains share the 32x32 U-Net."""


def pad_images(x: np.ndarray, pad: int) -> np.ndarray:
    """(N, H, W, C) images with `pad` zero pixels added on each side of H and W (dtype kept)."""
    return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


@DATASETS.register("mnist32", DatasetSpec(options=NoOptions))
def load_mnist32(store: DataStore, opts: NoOptions) -> ArraySplits:
    """MNIST zero-padded 2 px on each side to 32x32x1 (book ch. 7 CycleGAN source domain)."""
    d = load_mnist(store, opts)
    # Padding uint8 zeros is exact, so it happens once here rather than per batch in the pipeline.
    return ArraySplits(
        pad_images(d.x_train, MNIST32_PAD), d.y_train, pad_images(d.x_test, MNIST32_PAD), d.y_test, d.class_names
    )


# -- Fashion-MNIST -----------------------------------------------------------------------------


def read_idx_gz(path: Path, magic: int) -> np.ndarray:
    """The uint8 array in a gzipped idx file, after checking its magic number and its length."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except Exception as exc:  # BadGzipFile (OSError), EOFError when truncated, zlib.error
        raise _corrupt(path, "gzipped idx file", exc) from None
    if len(raw) < 4 or int.from_bytes(raw[:4], "big") != magic:
        got = f"0x{int.from_bytes(raw[:4], 'big'):08x}" if len(raw) >= 4 else f"only {len(raw)} bytes"
        raise _corrupt(path, "gzipped idx file", f"magic number {got}, expected 0x{magic:08x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _corrupt(path, "gzipped idx file", "truncated inside its header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    size = math.prod(dims)
    if len(raw) - header != size:
        found = len(raw) - header
        raise _corrupt(path, "gzipped idx file", f"its header promises {size} data bytes {dims}, found {found}")
    # .copy(): frombuffer over bytes is read-only, which surprises anyone normalising in place.
    return np.frombuffer(raw, np.uint8, count=size, offset=header).reshape(dims).copy()


def _cached_idx(path: Path, magic: int) -> np.ndarray:
    """`read_idx_gz`, decompressed once and memory-mapped by later jobs (`data.array_cache`)."""
    return cached_arrays(path, ("data",), lambda: {"data": read_idx_gz(path, magic)})["data"]


def _fashion_split(store: DataStore, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images = store.file(f"fashion-mnist/{prefix}-images-idx3-ubyte.gz")
    labels = store.file(f"fashion-mnist/{prefix}-labels-idx1-ubyte.gz")
    x = _cached_idx(images, IDX_IMAGES_MAGIC)
    y = _cached_idx(labels, IDX_LABELS_MAGIC)
    if len(y) != len(x):
        raise _corrupt(labels, "Fashion-MNIST label file", f"{len(y)} labels for the {len(x)} images of {images.name}")
    x, y = _checked(images, "Fashion-MNIST image file", x, y, (28, 28), 10)
    return x[..., None], y


@DATASETS.register("fashion_mnist", DatasetSpec(options=NoOptions))
def load_fashion_mnist(store: DataStore, opts: NoOptions) -> ArraySplits:
    """Fashion-MNIST from the four upstream idx .gz files: 60000/10000 images of 28x28x1."""
    x_train, y_train = _fashion_split(store, "train")
    x_test, y_test = _fashion_split(store, "t10k")
    return ArraySplits(x_train, y_train, x_test, y_test, FASHION_CLASSES)


# -- CIFAR-10 ----------------------------------------------------------------------------------

CIFAR_VARIANTS = ("auto", "full", "subset")


@dataclass
class CifarOptions:
    """Options of the cifar10 dataset."""

    variant: str = "auto"
    """Which copy to load: "full" (cifar10/cifar-10-batches-py/, 50000/10000 images), "subset"
    (cifar10/cifar-10-batches-py-subset/, the first 1000 images of each batch: 5000/1000), or
    "auto" (full if present, else the subset if present, else download full if allowed)."""


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches only: numpy arrays, nothing else can be constructed.

    Pickles can run arbitrary code, and with verify_checksums=false nothing else vouches for the
    file. The batches need just numpy's array reconstruction (under its numpy 1 and 2 module
    names) and `_codecs.encode`, which Python 3 protocol-2 pickles use for bytes.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 32, 32, 3) uint8, labels (N,) int32) from one python-pickle CIFAR-10 batch."""
    try:
        with path.open("rb") as f:
            batch = _BatchUnpickler(f, encoding="bytes").load()
        data, labels = batch[b"data"], batch[b"labels"]
    except Exception as exc:  # UnpicklingError, EOFError when truncated, KeyError, TypeError...
        raise _corrupt(path, "CIFAR-10 batch", exc) from None
    data, labels = _checked(path, "CIFAR-10 batch", data, labels, (3072,), 10)
    # Rows are channel-major (R plane, G plane, B plane): (N, 3, 32, 32) -> (N, 32, 32, 3).
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)), labels


def _cached_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """`read_cifar_batch`, unpickled and transposed once and memory-mapped by later jobs (`data.array_cache`)."""
    arrays = cached_arrays(path, ("x", "y"), lambda: dict(zip(("x", "y"), read_cifar_batch(path))))
    return arrays["x"], arrays["y"]


def _has_all(store: DataStore, folder: str) -> bool:
    return all(store.exists(f"{folder}/{name}") for name in CIFAR_BATCHES)


def cifar_folder(store: DataStore, variant: str) -> str:
    """The relpath of the batch folder that `variant` selects in `store`."""
    if variant not in CIFAR_VARIANTS:
        raise ConfigError(unknown_name_message("cifar10 variant", variant, list(CIFAR_VARIANTS)))
    if variant == "full":
        return CIFAR_FULL_DIR
    if variant == "subset":
        return CIFAR_SUBSET_DIR
    if _has_all(store, CIFAR_FULL_DIR) or store.exists(CIFAR_ARCHIVE):
        return CIFAR_FULL_DIR
    if _has_all(store, CIFAR_SUBSET_DIR):
        return CIFAR_SUBSET_DIR
    if store.download:
        return CIFAR_FULL_DIR
    raise DataError(
        f"cifar10 not found in {store.root}: neither {CIFAR_FULL_DIR}/ nor {CIFAR_SUBSET_DIR}/ holds all of "
        f"{', '.join(CIFAR_BATCHES)} (set RUNNER_DATA_DIR or paths.data_dir to a folder laid out like "
        "shared/datasets, or allow dataset.download=true to fetch the full set)"
    )


@DATASETS.register("cifar10", DatasetSpec(options=CifarOptions))
def load_cifar10(store: DataStore, opts: CifarOptions) -> ArraySplits:
    """CIFAR-10 from the python-pickle batches: 32x32x3 images, full set or local subset."""
    folder = cifar_folder(store, opts.variant)
    # Every file is resolved (verified, or fetched) before any is unpickled.
    paths = [store.file(f"{folder}/{name}") for name in CIFAR_BATCHES]
    train = [_cached_cifar_batch(p) for p in paths[:-1]]
    x_test, y_test = _cached_cifar_batch(paths[-1])
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return ArraySplits(x_train, y_train, x_test, y_test, CIFAR10_CLASSES)


# -- SVHN --------------------------------------------------------------------------------------

SVHN_CLASSES = MNIST_CLASSES


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 32, 32, 3) uint8, labels (N,) int32 in 0..9) from an SVHN cropped-digits .mat.

    Upstream stores X as (32, 32, 3, N) and y as (N, 1) in 1..10, where 10 stands for the digit 0
    (MATLAB's 1-based labels); we map 10 to 0 so that labels equal digits, as MNIST's do.
    """
    what = "SVHN .mat file"
    try:
        # Imported here: scipy.io costs import time that only SVHN runs should pay.
        from scipy.io import loadmat

        # variable_names: parse only what we use; loadmat builds plain arrays, never runs code.
        mat = loadmat(path, variable_names=["X", "y"])
        x, y = mat["X"], mat["y"]
    except Exception as exc:  # ValueError/TypeError for junk, NotImplementedError (v7.3), KeyError
        raise _corrupt(path, what, exc) from None
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.dtype != np.uint8:
        got = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise _corrupt(path, what, f"X is {got}, expected uint8 (32, 32, 3, N)")
    y = np.asarray(y).reshape(-1)
    if len(y) != x.shape[3] or not np.issubdtype(y.dtype, np.integer):
        raise _corrupt(path, what, f"{x.shape[3]} images but y of shape {np.shape(mat['y'])} and dtype {y.dtype}")
    if len(y) and (y.min() < 1 or y.max() > 10):
        raise _corrupt(path, what, f"labels span {y.min()}..{y.max()}, expected 1..10 (10 for the digit 0)")
    images = np.ascontiguousarray(x.transpose(3, 0, 1, 2))
    return _checked(path, what, images, y.astype(np.int64) % 10, (32, 32, 3), 10)


@DATASETS.register("svhn", DatasetSpec(options=NoOptions))
def load_svhn(store: DataStore, opts: NoOptions) -> ArraySplits:
    """SVHN cropped digits from the upstream svhn/{train,test}_32x32.mat: 73257/26032 images of 32x32x3."""
    # Both files are resolved (verified, or fetched) before either is parsed.
    train_path, test_path = store.file(SVHN_FILES["train"]), store.file(SVHN_FILES["test"])
    x_train, y_train = read_svhn_mat(train_path)
    x_test, y_test = read_svhn_mat(test_path)
    return ArraySplits(x_train, y_train, x_test, y_test, SVHN_CLASSES)
