"""Unpaired two-domain datasets for CycleGAN (book ch. 7): what they are and how they are made.

Registered datasets (each loader returns a `PairedSplits`, source domain X then target domain Y):

- `mnist_svhn`: MNIST zero-padded to 32x32x1 (`mnist32`) -> SVHN 32x32x3 (`svhn`), Listing 7.1.7.
- `cifar10_gray_color`: CIFAR-10 luminance 32x32x1 -> CIFAR-10 colour 32x32x3, Listing 7.1.6 (full
  set or the local 5,000-image subset, `dataset.options.variant` as for `cifar10`).

`dataset=cifar10_gray2rgb` (the colorization autoencoder's config: `cifar10` with `gray_input: true`)
gives the same pairs to a two-domain model: `paired_from` turns any RGB `ArraySplits` with
`gray_input` into gray -> colour domains. The AE keeps its aligned (gray, colour) pairs of the same
image; a CycleGAN gets them unaligned, as the book samples them.

Both are registered with `DatasetSpec(source="pairs")` (`DATASETS.get(name).spec.paired`), so the
runner can tell a two-domain dataset before loading it.

The batches: `data.pipeline.pair_pipeline(splits, options, dataset_name)` builds a `PairPipeline` whose train
stream yields `(source_batch, target_batch)` float32 tuples in [0, 1]; see its docstring.
"""

from __future__ import annotations

from adl_runner.data.splits import ArraySplits, Domain, NoOptions, PairedSplits
from adl_runner.data.store import DataStore
from adl_runner.data.vision import CifarOptions, load_cifar10, load_mnist32, load_svhn
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.registry import DATASETS
from adl_runner.kernel.specs import DatasetSpec

PAIRED_DATASETS = ("mnist_svhn", "cifar10_gray_color")
"""The registered two-domain datasets (for error messages)."""


@DATASETS.register("mnist_svhn", DatasetSpec(options=NoOptions, source="pairs"))
def load_mnist_svhn(store: DataStore, opts: NoOptions) -> PairedSplits:
    """MNIST 32x32x1 (zero-padded) -> SVHN 32x32x3: the book's MNIST<->SVHN CycleGAN data."""
    # SVHN first: it is the one most likely missing, and its error should come before MNIST's work.
    svhn = load_svhn(store, NoOptions())
    return PairedSplits(Domain("mnist32", load_mnist32(store, NoOptions())), Domain("svhn", svhn))


@DATASETS.register("cifar10_gray_color", DatasetSpec(options=CifarOptions, source="pairs"))
def load_cifar10_gray_color(store: DataStore, opts: CifarOptions) -> PairedSplits:
    """CIFAR-10 gray 32x32x1 -> colour 32x32x3, sampled independently: the book's colour CycleGAN.

    Both domains share one array (no second copy); the source's luminance is computed per batch.
    """
    return gray_to_color(load_cifar10(store, opts), "cifar10")


def gray_to_color(splits: ArraySplits, name: str) -> PairedSplits:
    """RGB images as two domains: their luminance (source) and themselves (target)."""
    if splits.input_shape[-1] != 3:
        raise IncompatibleError(
            f"gray-to-colour pairs need RGB images, {name} has {splits.input_shape[-1]} channel(s)"
        )
    return PairedSplits(Domain(f"{name}_gray", splits, gray=True), Domain(name, splits))


def paired_from(splits: ArraySplits | PairedSplits, gray_input: bool, dataset_name: str) -> PairedSplits:
    """The two domains a two-domain model trains on, from whatever the dataset loader returned.

    A `PairedSplits` is used as is; a single RGB dataset with `gray_input` (dataset=cifar10_gray2rgb)
    becomes gray -> colour; anything else is one domain only, which is refused.
    """
    if isinstance(splits, PairedSplits):
        return splits
    if gray_input:
        return gray_to_color(splits, dataset_name)
    raise IncompatibleError(
        f"dataset '{dataset_name}' has one image domain and this model translates between two; "
        f"use one of: {', '.join(PAIRED_DATASETS)}, cifar10_gray2rgb"
    )
