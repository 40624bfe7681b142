"""MINE's figure: the bound of every training step against the exact value (the book's Figure 13.8.3,
`simple_mine_mi.png`)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

from adl_runner.kernel.hooks import ArtifactSink, DataView


def write_mi_curve(model: Any, data: DataView, out: ArtifactSink) -> None:
    """`mi_per_step.png`: MI per step (the last `trace_steps` steps), with `mi_true` where the data knows it."""
    steps, values = model.trace()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, values, linewidth=0.8, label="MINE (Donsker-Varadhan bound of each step's batch)")
    exact = data.reference().get("mi_true")
    if exact is not None:
        ax.axhline(exact, color="black", linestyle="--", linewidth=1.0, label=f"exact -0.5 ln(1 - rho^2) = {exact:.4f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("mutual information (nats)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    out.figure("mi_per_step", fig)
