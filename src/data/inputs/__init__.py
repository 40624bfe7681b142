"""Input kinds: how a dataset's examples become model inputs and targets (see `base`).

Importing the package registers every kind: labels, images, pairs, views, boxes, masks, synthetic.
"""

from adl_runner.data.inputs import boxes, labels, masks, pairs, synthetic, views  # noqa: F401  (registration)
from adl_runner.data.inputs.base import INPUT_KINDS, InputPipeline, make_inputs

__all__ = ["INPUT_KINDS", "InputPipeline", "make_inputs"]
