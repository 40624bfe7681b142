"""Kind `pairs`: unpaired (source, target) batches of two image domains (CycleGAN's `PairPipeline`)."""

from __future__ import annotations

from dataclasses import dataclass

from adl_runner.data.inputs.base import INPUT_KINDS
from adl_runner.data.pipeline import PairPipeline, PipelineOptions, pair_pipeline
from adl_runner.data.splits import ArraySplits, PairedSplits
from adl_runner.kernel.specs import InputKindSpec


@dataclass
class PairOptions:
    dataset: str = "pairs"
    """The dataset's name, for error messages."""
    train_limit: int | None = None
    """Use the first N training images of each domain only (None: all)."""
    test_limit: int | None = None
    """Use the first N test images of each domain only (None: all)."""


@INPUT_KINDS.register("pairs", InputKindSpec(options=PairOptions, sources=("labels", "pairs")))
def pair_inputs(splits: ArraySplits | PairedSplits, options: PipelineOptions, kind: PairOptions) -> PairPipeline:
    """Two domains (or one RGB dataset as gray -> colour with `options.gray_input`)."""
    return pair_pipeline(splits, options, kind.dataset, kind.train_limit, kind.test_limit)
