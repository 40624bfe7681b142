"""memory: peak RSS of a 1-epoch `run` MLP job on MNIST, over the size of the dataset's arrays."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import Settings, alternate, child_env, log, mnist_dataset_mb, peak_rss_mb, ratio, run_command, summarize


def memory(s: Settings) -> dict[str, Any]:
    """Peak RSS of a 1-epoch `run` MLP job on MNIST, over the size of the dataset's arrays."""
    if s.data_dir is None:
        return {"skipped": "no real MNIST (mnist/mnist.npz under RUNNER_DATA_DIR)"}
    dataset_mb = mnist_dataset_mb(s.data_dir)
    run = run_command()
    reps = 1 if s.quick else min(s.reps, 2)
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp_name:
        tmp = Path(tmp_name)
        env = child_env(s.data_dir)
        counter = iter(range(10**6))
        # logger.tensorboard=false: the TensorBoard callback needs the tensorboard package, which
        # tensorflow-cpu 2.21 does not install
        job = lambda: peak_rss_mb([*run, "model=mlp", "trainer.epochs=1", "logger.tensorboard=false",  # noqa: E731
                                   f"hydra.run.dir={tmp / f'job{next(counter)}'}"], env, tmp)
        baseline = lambda: peak_rss_mb([sys.executable, "-c", "import tensorflow, keras"], env, tmp)  # noqa: E731
        log(f"memory: 1-epoch MLP job on MNIST, {reps} rep(s)")
        peaks = alternate({"import_tf_keras": baseline, "job_mlp_1_epoch": job}, reps)
    med = summarize(peaks)
    return {
        "units": "MB (peak RSS, 1e6 bytes)",
        "dataset_mb": dataset_mb,
        "timings": peaks,
        "medians": med,
        "ratios": {
            "job_peak_vs_dataset": ratio(med["job_mlp_1_epoch"], dataset_mb),
            "job_above_import_vs_dataset": ratio(med["job_mlp_1_epoch"] - med["import_tf_keras"], dataset_mb),
        },
    }
