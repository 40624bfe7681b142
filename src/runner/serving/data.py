"""The run's data as task=export hands it to the endpoints (`kernel.serving.ServeData`): loaded at
its first use, since a generator's export reads none."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable

from adl_runner.data.pipeline import ArrayPipeline
from adl_runner.data.served_images import image_source
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.serving import ImageSource
from adl_runner.runner.artifacts import ArtifactData


class ServedData(ArtifactData):
    """`ArtifactData` of a pipeline made by `load` when first read, plus the raw images an image
    endpoint takes (`source`); `pixel_mean_served` says whether one of them subtracts a pixel mean."""

    def __init__(self, load: Callable[[], Any]) -> None:  # the pipeline is `_pipeline`, made at its first read
        self._load = load
        self.pixel_mean_served = False

    @cached_property
    def _pipeline(self) -> Any:
        return self._load()

    def source(self, n: int) -> ImageSource:
        if not isinstance(self._pipeline, ArrayPipeline):
            raise IncompatibleError(f"{type(self._pipeline).__name__} batches are not stored images; an export that "
                                    f"takes raw images needs the array pipeline's")
        source = image_source(self._pipeline, n)
        self.pixel_mean_served |= source.pixel_mean is not None
        return source
