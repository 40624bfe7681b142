"""Learnable fake data: the `synthetic` dataset, and writers of fake files in the real formats.

Each class gets a fixed blocky random pattern; an image is its class pattern plus noise. A small
MLP or CNN learns that within an epoch, so a smoke run shows accuracy rising above chance
without any dataset on disk. The writers put the same kind of images into mnist.npz, idx .gz and
CIFAR pickle files and SVHN .mat files, so tests exercise the real parsers on a few KB.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adl_runner.data.splits import ArraySplits
from adl_runner.data.store import CIFAR_BATCHES, CIFAR_FULL_DIR, CIFAR_SUBSET_DIR, SVHN_FILES, DataStore
from adl_runner.data.vision import CIFAR10_CLASSES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import DATASETS
from adl_runner.kernel.specs import DatasetSpec

_GRID = 4  # class patterns are constant on a GRIDxGRID layout of blocks: easy for MLPs and CNNs
_SIGNAL = 0.65  # share of the pixel value that comes from the class pattern (the rest is noise)


def class_patterns(rng: np.random.Generator, shape: tuple[int, int, int], num_classes: int) -> np.ndarray:
    """(num_classes, H, W, C) float patterns in [0, 1], constant on blocks."""
    h, w, c = shape
    coarse = rng.random((num_classes, min(_GRID, h), min(_GRID, w), c))
    rows = np.arange(h) * coarse.shape[1] // h
    cols = np.arange(w) * coarse.shape[2] // w
    return coarse[:, rows][:, :, cols]


def render(rng: np.random.Generator, patterns: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n uint8 images drawn from `patterns` plus noise, and their int32 labels (all classes used)."""
    labels = rng.permutation(np.arange(n) % len(patterns)).astype(np.int32)
    noise = rng.random((n, *patterns.shape[1:]))
    images = _SIGNAL * patterns[labels] + (1 - _SIGNAL) * noise
    return np.round(images * 255).astype(np.uint8), labels


def make_splits(shape: tuple[int, int, int], num_classes: int, n_train: int, n_test: int, seed: int) -> ArraySplits:
    """Train and test sets that share their class patterns (so test accuracy means something)."""
    rng = np.random.default_rng(seed)
    patterns = class_patterns(rng, shape, num_classes)
    x_train, y_train = render(rng, patterns, n_train)
    x_test, y_test = render(rng, patterns, n_test)
    return ArraySplits(x_train, y_train, x_test, y_test, tuple(str(i) for i in range(num_classes)))


# -- the registered dataset --------------------------------------------------------------------


@dataclass
class SyntheticOptions:
    """Options of the synthetic dataset."""

    shape: list[int] = field(default_factory=lambda: [28, 28, 1])
    """Image shape [H, W, C] (or [H, W], which means one channel)."""
    num_classes: int = 10
    """Number of classes (at least 2); class names are "0", "1", ..."""
    n_train: int = 256
    """Number of training images."""
    n_test: int = 64
    """Number of test images."""
    seed: int = 0
    """Seed of the class patterns, the noise and the labels: same seed, same data."""


@DATASETS.register("synthetic", DatasetSpec(options=SyntheticOptions))
def load_synthetic(store: DataStore, opts: SyntheticOptions) -> ArraySplits:
    """Generated images that need no files: for smoke runs and tests."""
    dims = [int(d) for d in opts.shape]
    if len(dims) == 2:
        dims.append(1)
    if len(dims) != 3 or min(dims) < 1:
        raise ConfigError(f"dataset.shape must be [H, W] or [H, W, C] of positive sizes, got {list(opts.shape)}")
    if opts.num_classes < 2:
        raise ConfigError(f"dataset.num_classes must be at least 2, got {opts.num_classes}")
    if opts.n_train < 1 or opts.n_test < 1:
        got = f"{opts.n_train} and {opts.n_test}"
        raise ConfigError(f"dataset.n_train and dataset.n_test must be at least 1, got {got}")
    return make_splits((dims[0], dims[1], dims[2]), opts.num_classes, opts.n_train, opts.n_test, opts.seed)


# -- fake files in the real formats, for tests -------------------------------------------------


def write_mnist_npz(root: Path | str, n_train: int = 256, n_test: int = 64, seed: int = 0) -> Path:
    """Write a fake `mnist/mnist.npz` (Keras layout: 28x28 uint8 images, uint8 labels)."""
    s = make_splits((28, 28, 1), 10, n_train, n_test, seed)
    path = Path(root) / "mnist" / "mnist.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        x_train=s.x_train[..., 0],
        y_train=s.y_train.astype(np.uint8),
        x_test=s.x_test[..., 0],
        y_test=s.y_test.astype(np.uint8),
    )
    return path


def _write_idx_gz(path: Path, magic: int, array: np.ndarray) -> None:
    header = struct.pack(f">I{array.ndim}I", magic, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_fashion_mnist(root: Path | str, n_train: int = 256, n_test: int = 64, seed: int = 0) -> list[Path]:
    """Write the four fake `fashion-mnist/*-ubyte.gz` idx files; returns their paths."""
    s = make_splits((28, 28, 1), 10, n_train, n_test, seed)
    folder = Path(root) / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for prefix, x, y in (("train", s.x_train, s.y_train), ("t10k", s.x_test, s.y_test)):
        images, labels = folder / f"{prefix}-images-idx3-ubyte.gz", folder / f"{prefix}-labels-idx1-ubyte.gz"
        _write_idx_gz(images, IDX_IMAGES_MAGIC, x[..., 0])
        _write_idx_gz(labels, IDX_LABELS_MAGIC, y.astype(np.uint8))
        paths += [images, labels]
    return paths


def write_cifar10(root: Path | str, variant: str = "subset", n_per_batch: int = 100, seed: int = 0) -> list[Path]:
    """Write fake CIFAR-10 batches (protocol-2 pickles with bytes keys) and `batches.meta`.

    `variant` "subset" or "full" picks the folder; returns the six batch paths, then the meta.
    """
    folders = {"subset": CIFAR_SUBSET_DIR, "full": CIFAR_FULL_DIR}
    folder = Path(root) / folders[variant]
    folder.mkdir(parents=True, exist_ok=True)
    s = make_splits((32, 32, 3), 10, 5 * n_per_batch, n_per_batch, seed)
    paths = []
    for i, name in enumerate(CIFAR_BATCHES):
        is_test = name == "test_batch"
        x = s.x_test if is_test else s.x_train[i * n_per_batch : (i + 1) * n_per_batch]
        y = s.y_test if is_test else s.y_train[i * n_per_batch : (i + 1) * n_per_batch]
        batch = {
            b"batch_label": b"testing batch 1 of 1" if is_test else f"training batch {i + 1} of 5".encode(),
            b"labels": [int(v) for v in y],
            b"data": x.transpose(0, 3, 1, 2).reshape(len(x), 3072),  # channel-major rows, as upstream
        }
        paths.append(_pickle(folder / name, batch))
    names = [c.encode() for c in CIFAR10_CLASSES]
    meta = {b"num_cases_per_batch": n_per_batch, b"label_names": names, b"num_vis": 3072}
    paths.append(_pickle(folder / "batches.meta", meta))
    return paths


def write_svhn(root: Path | str, n_train: int = 100, n_test: int = 40, seed: int = 0) -> list[Path]:
    """Write fake `svhn/{train,test}_32x32.mat` in the upstream layout; returns [train, test].

    As upstream: MATLAB v5 files holding X uint8 (32, 32, 3, N) and y uint8 (N, 1) in 1..10,
    where 10 is the digit 0.
    """
    from scipy.io import savemat  # scipy.io is slow to import: only SVHN writers pay for it

    s = make_splits((32, 32, 3), 10, n_train, n_test, seed)
    paths = []
    for split, x, y in (("train", s.x_train, s.y_train), ("test", s.x_test, s.y_test)):
        path = Path(root) / SVHN_FILES[split]
        path.parent.mkdir(parents=True, exist_ok=True)
        labels = np.where(y == 0, 10, y).astype(np.uint8).reshape(-1, 1)
        savemat(path, {"X": np.ascontiguousarray(x.transpose(1, 2, 3, 0)), "y": labels}, format="5")
        paths.append(path)
    return paths


def _pickle(path: Path, obj: object) -> Path:
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=2)
    return path
