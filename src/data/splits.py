"""What dataset loaders return (ArraySplits; PairedSplits for two domains), and the options type of
loaders that take none."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from adl_runner.kernel.errors import ConfigError, IncompatibleError

HOLDOUT_SEED = 0
"""The held-out validation examples are the same for every job seed, so seeds compare on one split."""


@dataclass
class ArraySplits:
    """A labelled image dataset held in memory, split into train and test.

    Images are always (N, H, W, C) uint8, with a channel axis even for grey images, so that the
    pipeline and the models never have to special-case MNIST.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """(H, W, C) of one image."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    def limited(self, train_limit: int | None, test_limit: int | None) -> ArraySplits:
        """Only the first `train_limit` / `test_limit` examples of each split (None: all)."""
        return ArraySplits(self.x_train[:train_limit], self.y_train[:train_limit], self.x_test[:test_limit],
                           self.y_test[:test_limit], self.class_names)


@dataclass
class NoOptions:
    """This dataset has no options."""


@dataclass
class Domain:
    """One image domain of an unpaired two-domain dataset (CycleGAN's X or Y)."""

    name: str
    """What the domain is, for logs and grid titles: "mnist32", "svhn", "cifar10_gray", ..."""
    splits: ArraySplits
    """Its images (labels are kept but unused by CycleGAN; the book ignores them)."""
    gray: bool = False
    """The pipeline turns these RGB images into their luminance 0.299R + 0.587G + 0.114B, in float,
    per batch (as the book's rgb2gray); uint8 storage would round it."""

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image as the model sees it (C is 1 for a gray domain)."""
        h, w, c = self.splits.input_shape
        return (h, w, 1 if self.gray else c)

    def limited(self, train_limit: int | None, test_limit: int | None) -> Domain:
        """This domain with only the first `train_limit` / `test_limit` images (None: all)."""
        return Domain(self.name, self.splits.limited(train_limit, test_limit), self.gray)


@dataclass
class PairedSplits:
    """Two image domains for unpaired translation (CycleGAN): source X and target Y.

    What the loaders of two-domain datasets return instead of ArraySplits. The domains are sampled
    independently (data/pipeline.py, PairPipeline), so even when both come from the same images
    (CIFAR gray -> colour) a batch pairs unrelated examples, as the book's training loop does.
    """

    source: Domain
    """Domain X, translated to the target by G (the book's g_target)."""
    target: Domain
    """Domain Y, translated back to the source by F (the book's g_source)."""

    def limited(self, train_limit: int | None, test_limit: int | None) -> PairedSplits:
        """Both domains cut to their first `train_limit` / `test_limit` images (dataset.*_limit)."""
        return PairedSplits(self.source.limited(train_limit, test_limit), self.target.limited(train_limit, test_limit))

    def __getattr__(self, name: str) -> Any:
        # A one-dataset consumer (a classifier's pipeline) reads x_train, class_names, ...: give it a
        # one-line error instead of an AttributeError traceback. Only reached for missing attributes.
        if name in _SINGLE_DOMAIN_ATTRS:
            raise IncompatibleError(
                f"this dataset has two unpaired image domains ({self.source.name} -> {self.target.name}) "
                f"for two-domain models (cyclegan); a one-dataset model needs {self.source.name} or {self.target.name}"
            )
        raise AttributeError(name)


_SINGLE_DOMAIN_ATTRS = frozenset(
    {"x_train", "y_train", "x_test", "y_test", "class_names", "num_classes", "input_shape"}
)


def held_out(splits: Any, n: int) -> tuple[Any, Any]:
    """`splits` without `n` of its training examples, and the same with those `n` as its test split:
    what a training run validates on (its training split is kept, so that statistics a pipeline takes
    from the training images, the pixel mean, are the same). The held-out examples are a fixed random
    choice (HOLDOUT_SEED) of the training split; the rest keep their order. Works on any splits
    dataclass whose arrays come in `<name>_train` / `<name>_test` pairs (labels, boxes, masks).
    Splits with `groups` (object crops: the photo of each crop) hold out `n` whole groups instead,
    so that no photo has crops on both sides."""
    pairs = [(f.name, f.name[:-len("_train")] + "_test") for f in dataclasses.fields(splits) if f.name.endswith("_train")]
    if not pairs or not all(hasattr(splits, test) for _, test in pairs):
        raise ConfigError(f"dataset.validation holds out training examples, which a {type(splits).__name__} does not "
                          "have; set dataset.validation=null")
    groups = getattr(splits, "groups", None)
    total = len(getattr(splits, pairs[0][0]))
    members = np.arange(total) if groups is None else np.asarray(groups)
    names, owners = np.unique(members, return_inverse=True)
    unit = "" if groups is None else " photos (each with all of its crops)"
    if not 1 <= n < len(names):
        raise ConfigError(f"dataset.validation={n} must leave training examples: the training split has {len(names)}"
                          f"{unit} (valid: 1..{len(names) - 1}, or null to validate on the test split)")
    chosen = np.flatnonzero(np.isin(owners, np.random.default_rng(HOLDOUT_SEED).permutation(len(names))[:n]))
    keep = np.setdiff1d(np.arange(total), chosen)

    def pick(values: Any, idx: np.ndarray) -> Any:
        return values[idx] if isinstance(values, np.ndarray) else [values[i] for i in idx]

    grouped = {} if groups is None else {"groups": members[keep]}
    fit = dataclasses.replace(splits, **{train: pick(getattr(splits, train), keep) for train, _ in pairs}, **grouped)
    validation = dataclasses.replace(fit, **{test: pick(getattr(splits, train), chosen) for train, test in pairs})
    return fit, validation
