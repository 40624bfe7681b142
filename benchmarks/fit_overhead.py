"""fit_overhead: steady-state epoch time of the runner's fit path over plain `model.fit` on arrays."""

from __future__ import annotations

from typing import Any

from fits import BATCH, fit_cases, mnist_arrays
from harness import Settings, alternate, log, median, ratio, steady, summarize, target


def fit_overhead(s: Settings) -> dict[str, Any]:
    """Steady-state epoch time of the runner's fit path over plain `model.fit` on arrays."""
    x_u8, y, source = mnist_arrays(s)
    # (model, epochs per fit, repetitions per side): a CNN epoch on full MNIST is 20-30 s on 2 cores
    plan = [("mlp", 4, s.reps)] + ([] if s.quick else [("cnn", 3, min(s.reps, 3))])
    timings: dict[str, list[float]] = {}
    epoch_times: dict[str, list[list[float]]] = {}
    ratios, targets, paired = {}, {}, {}
    for name, epochs, reps in plan:
        log(f"fit_overhead: {name}, {len(x_u8)} examples, {epochs} epochs x {reps} reps per side")
        runs = alternate(fit_cases(name, x_u8, y, epochs), reps)
        for side, per_rep in runs.items():
            epoch_times[f"{name}_{side}"] = [[round(t, 6) for t in rep] for rep in per_rep]
            timings[f"{name}_{side}"] = [steady(rep) for rep in per_rep]
        ratios[f"{name}_runner_vs_plain"] = ratio(median(timings[f"{name}_runner"]), median(timings[f"{name}_plain"]))
        paired[name] = [ratio(r, p) for r, p in zip(timings[f"{name}_runner"], timings[f"{name}_plain"])]
        targets[f"{name}_runner_vs_plain"] = target(ratios[f"{name}_runner_vs_plain"], "<=", 1.0)
    return {
        "units": "seconds per steady-state epoch (first epoch dropped, median of the rest)",
        "data": {"source": source, "train_examples": int(len(x_u8)), "batch_size": BATCH,
                 "epochs_per_fit": {name: epochs for name, epochs, _ in plan}},
        "epoch_times": epoch_times,
        "timings": timings,
        "medians": summarize(timings),
        "paired_ratios": paired,
        "ratios": ratios,
        "targets": targets,
    }
