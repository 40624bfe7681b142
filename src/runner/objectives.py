"""How the runner compiles, feeds and reports each kind of model, chosen by the `objective` a
model family registers (`@MODELS.register(..., FitSpec(objective="reconstruct"))`; default: classify).

A new family picks one of these instead of forking the train task: the fit loop, checkpoints,
resume and run-dir files stay the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adl_runner.kernel.errors import ConfigError


@dataclass(frozen=True)
class Objective:
    targets: str
    """What the pipeline pairs inputs with: labels, images, or none (the model's own train_step)."""
    metrics: tuple[str, ...] = ()
    """Compiled metrics besides the loss."""

    def compile_args(self, loss: Any, onehot: bool) -> dict[str, Any]:
        """Keyword arguments of `model.compile` besides the optimizer."""
        if self.targets == "labels" and self.metrics:  # a classifier
            loss = loss or ("categorical_crossentropy" if onehot else "sparse_categorical_crossentropy")
        args: dict[str, Any] = {"metrics": list(self.metrics)} if self.metrics else {}
        if loss is not None:
            args["loss"] = loss
        return args


OBJECTIVES = {
    "classify": Objective(targets="labels", metrics=("accuracy",)),
    "reconstruct": Objective(targets="images"),
    "self": Objective(targets="none"),
    # Conditional generative models: batches are (x, labels) and the model's train_step uses the
    # labels as its condition and computes its own losses.
    "self_conditional": Objective(targets="labels"),
}


def objective_of(name: str) -> Objective:
    """The objective a family's spec names (kernel.specs.OBJECTIVES, checked at registration)."""
    if name not in OBJECTIVES:
        raise ConfigError(f"unknown objective '{name}'; valid: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name]
