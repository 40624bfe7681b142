"""Kinds `labels` (image + class: classifiers) and `images` (the image alone: GANs, autoencoders),
both `ArrayPipeline`s: its views, noise, gray inputs and augmentation all apply."""

from __future__ import annotations

from adl_runner.data.inputs.base import INPUT_KINDS
from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions
from adl_runner.data.splits import ArraySplits, NoOptions
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.specs import InputKindSpec


def array_pipeline(kind: str, splits: ArraySplits, options: PipelineOptions, targets: tuple[str, ...]) -> ArrayPipeline:
    """The `ArrayPipeline` of `splits`, once `options.targets` is one that `kind` pairs images with."""
    if options.targets not in targets:
        raise IncompatibleError(f"input kind '{kind}' has targets {' or '.join(targets)}, got '{options.targets}'")
    return ArrayPipeline(splits.x_train, splits.y_train, splits.x_test, splits.y_test, splits.num_classes, options)


@INPUT_KINDS.register("labels", InputKindSpec(options=NoOptions))
def label_inputs(splits: ArraySplits, options: PipelineOptions, _: NoOptions) -> ArrayPipeline:
    """(image, class) batches: one-hot or integer classes, as `options.onehot` says."""
    return array_pipeline("labels", splits, options, ("labels",))


@INPUT_KINDS.register("images", InputKindSpec(options=NoOptions))
def image_inputs(splits: ArraySplits, options: PipelineOptions, _: NoOptions) -> ArrayPipeline:
    """Images paired with themselves (`targets=images`, reconstruction) or alone (`targets=none`)."""
    return array_pipeline("images", splits, options, ("images", "none"))
