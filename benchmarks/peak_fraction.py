"""peak_fraction: achieved FLOP/s of the MLP fit over a float32 matmul peak measured in the same process."""

from __future__ import annotations

import time
from typing import Any

from fits import fit_cases, mnist_arrays
from harness import Settings, alternate, log, steady, summarize

MLP_MACS = 784 * 256 + 256 * 256 + 256 * 10  # multiply-accumulates per sample, forward pass
MATMUL_N = 2048


def peak_fraction(s: Settings) -> dict[str, Any]:
    """Achieved FLOP/s of the MLP fit over a measured float32 matmul peak in the same process."""
    if s.quick:
        return {"skipped": "--quick"}
    import tensorflow as tf

    x_u8, y, source = mnist_arrays(s)
    cases = fit_cases("mlp", x_u8, y, 3)
    a = tf.random.uniform((MATMUL_N, MATMUL_N), dtype=tf.float32)
    b = tf.random.uniform((MATMUL_N, MATMUL_N), dtype=tf.float32)
    for _ in range(3):  # warm-up: thread pools, oneDNN primitives
        tf.matmul(a, b).numpy()

    def matmul() -> float:
        start = time.perf_counter()
        for _ in range(5):
            float(tf.matmul(a, b)[0, 0])  # eager CPU ops run synchronously; the read makes sure
        return (time.perf_counter() - start) / 5

    log(f"peak_fraction: matmul {MATMUL_N}^2 and the MLP fit, {s.reps} reps")
    runs = alternate({"matmul": matmul, "mlp_plain": cases["plain"], "mlp_runner": cases["runner"]}, s.reps)
    timings = {"matmul": runs["matmul"], "mlp_plain": [steady(r) for r in runs["mlp_plain"]],
               "mlp_runner": [steady(r) for r in runs["mlp_runner"]]}
    med = summarize(timings)
    peak = 2 * MATMUL_N**3 / med["matmul"]
    flops_per_sample = 3 * 2 * MLP_MACS  # forward + backward (about twice the forward)
    achieved = {side: flops_per_sample * len(x_u8) / med[f"mlp_{side}"] for side in ("plain", "runner")}
    return {
        "units": "seconds (matmul: per call; mlp: per steady-state epoch)",
        "data": {"source": source, "train_examples": int(len(x_u8))},
        "timings": timings,
        "medians": med,
        "gflops": {"matmul_peak": peak / 1e9, **{f"mlp_{k}": v / 1e9 for k, v in achieved.items()}},
        "ratios": {f"mlp_{k}_fraction_of_peak": v / peak for k, v in achieved.items()},
    }
