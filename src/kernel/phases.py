"""Pre-training phases: a `fit` a family runs before its own training (StackedGAN's encoder, the
policy-gradient agents' state autoencoder).

A family may not import the runner, yet its pre-training deserves what every run gets: a line per
epoch, a NaN guard, a checkpoint per epoch and an exact resume. So the family hands the phase to a
`PhaseRunner` it is given (the runner's implements all that, `adl_runner.runner.phases`) instead
of calling `fit` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class PhaseRunner(Protocol):
    """Trains a compiled model for a named phase of the run."""

    def train(self, name: str, model: Any, train: Any, *, epochs: int, steps_per_epoch: int,
              validation: Any = None, cache: Mapping[str, Any] | None = None) -> dict[str, list[float]]:
        """`model.fit` on `train` (a stream of `epochs` passes of `steps_per_epoch` batches) for
        `epochs` epochs; returns the history (metric -> one value per epoch, across resumes).
        A phase already completed in this run is not trained again: its weights are restored.
        `cache`: what fixes the phase beyond the model and its fit (a digest of the data, the shuffle
        seed, a code version), JSON values; given, a phase trained once for the same key by any run
        is restored instead of trained (the runner's: `adl_runner.runner.phase_cache`)."""
        ...


class PlainPhases:
    """A phase as a bare `fit`: no checkpoint, no resume, no NaN guard, no cache; for a model built
    outside a training run (unit tests, task=evaluate, whose checkpoint then replaces what the phase
    trained)."""

    def __init__(self, verbose: int = 2) -> None:
        self.verbose = verbose

    def train(self, name: str, model: Any, train: Any, *, epochs: int, steps_per_epoch: int,
              validation: Any = None, cache: Mapping[str, Any] | None = None) -> dict[str, list[float]]:
        history = model.fit(train, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=validation,
                            shuffle=False, verbose=self.verbose)
        return history.history


class RestoredPhases:
    """Phases whose weights a checkpoint restores right after the model is built (task=evaluate of
    a trained agent): nothing is trained, and the history is empty."""

    def train(self, name: str, model: Any, train: Any, *, epochs: int, steps_per_epoch: int,
              validation: Any = None, cache: Mapping[str, Any] | None = None) -> dict[str, list[float]]:
        return {}
