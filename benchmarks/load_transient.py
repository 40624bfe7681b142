"""load_transient: the memory a pipeline needs while it turns a dataset's arrays into tensors, with
the runner's `host_tensor` (one aligned copy handed over through DLPack) against `tf.constant`
(what the pipelines used before: it stages a second whole copy until the next op runs).

Each case is a fresh process (this script as its own child, `python load_transient.py <variant>
<dataset> <out>`), which loads the dataset with the runner's loader and builds the runner's pipeline
of it, reading /proc/self/status (VmRSS, VmHWM) before loading (TensorFlow imported, its runtime
started by one op), after the arrays are read, after the pipeline is built, and after the arrays
are dropped and a batch was drawn. The `tf_constant` variant patches `host_tensor` back to
`tf.constant` in the pipeline modules: the rest is the same code. Datasets: MNIST (the MLP's
`ArrayPipeline`) and drinks_segmentation at 128x160 (the `masks` kind), variants alternated.
Linux only.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import Settings, alternate, child_env, log, median, ratio, summarize

VARIANTS = ("host_tensor", "tf_constant")
DRINKS_OPTIONS = {"image_size": [128, 160]}


def _memory() -> dict[str, float]:
    from memory_stages import memory_now

    return memory_now()


def child(variant: str, dataset: str, out: Path, quick: bool) -> None:
    import tensorflow as tf

    import adl_runner.data.inputs.masks as masks_module
    import adl_runner.data.pipeline as pipeline_module
    from adl_runner.data.inputs import make_inputs
    from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions
    from adl_runner.data.store import DataStore
    from adl_runner.kernel.registry import DATASETS
    from adl_runner.runner.families import load_families

    tf.reduce_sum(tf.constant([1]))  # TensorFlow's runtime, started before the baseline
    load_families()
    if variant == "tf_constant":
        pipeline_module.host_tensor = masks_module.host_tensor = tf.constant
    entry = DATASETS.get(dataset)
    drinks = {**DRINKS_OPTIONS, **({"n_train": 128, "n_test": 16} if quick else {})}
    options = entry.spec.options(**(drinks if dataset.startswith("drinks") else {}))
    store = DataStore(Path(os.environ["RUNNER_DATA_DIR"]), verify=False)
    stages = {"before": _memory()}
    splits = entry.build(store, options)
    stages["loaded"] = _memory()
    arrays = [value for value in vars(splits).values() if hasattr(value, "nbytes")]
    opts = PipelineOptions(view="image", batch_size=128, seed=0)
    if dataset.startswith("drinks"):
        pipeline: Any = make_inputs("masks", splits, opts, {})
    else:
        pipeline = ArrayPipeline(splits.x_train, splits.y_train, splits.x_test, splits.y_test, len(splits.class_names), opts)
    stages["built"] = _memory()
    dataset_mb = sum(a.nbytes for a in arrays) / 1e6
    del splits, arrays
    gc.collect()
    next(iter(pipeline.test()))  # an op runs: tf.constant's staged copy is freed
    stages["after"] = _memory()
    out.write_text(json.dumps({"dataset_mb": dataset_mb, "stages": stages}))


def _case(variant: str, dataset: str, env: dict[str, str], tmp: Path, quick: bool) -> dict[str, Any]:
    out = tmp / f"{variant}-{dataset}-{len(list(tmp.iterdir()))}.json"
    argv = [sys.executable, __file__, variant, dataset, str(out), *(["--quick"] if quick else [])]
    proc = subprocess.run(argv, env=env, cwd=Path(__file__).parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"load_transient {variant} {dataset} exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.read_text())


def load_transient(s: Settings) -> dict[str, Any]:
    """Peak and held memory of loading MNIST and drinks_segmentation, host_tensor against tf.constant."""
    if s.data_dir is None or not Path("/proc/self/status").exists():
        return {"skipped": "needs real MNIST (RUNNER_DATA_DIR) and /proc/self/status (Linux)"}
    datasets = ["mnist"] + (["drinks_segmentation"] if (s.data_dir / "drinks").is_dir() else [])
    reps = 1 if s.quick else min(s.reps, 3)
    env = child_env(s.data_dir)
    timings: dict[str, list[float]] = {}
    ratios: dict[str, float | None] = {}
    table: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        for dataset in datasets:
            log(f"load_transient: {dataset}, {' vs '.join(VARIANTS)}, {reps} rep(s)")
            runs = alternate({v: (lambda v=v, d=dataset: _case(v, d, env, tmp, s.quick)) for v in VARIANTS}, reps)
            dataset_mb = runs[VARIANTS[0]][0]["dataset_mb"]
            for variant, results in runs.items():
                base = [r["stages"]["before"]["rss_mb"] for r in results]
                peak = [r["stages"]["built"]["hwm_mb"] - b for r, b in zip(results, base)]
                load = [r["stages"]["loaded"]["hwm_mb"] - b for r, b in zip(results, base)]
                held = [r["stages"]["after"]["rss_mb"] - b for r, b in zip(results, base)]
                timings[f"{dataset}_{variant}_peak_above_start_mb"] = peak
                timings[f"{dataset}_{variant}_held_after_mb"] = held
                table[f"{dataset} {variant}"] = {"dataset_mb": round(dataset_mb, 1), "peak_loading_arrays_mb": round(median(load), 1),
                                                 "peak_building_pipeline_mb": round(median(peak), 1),
                                                 "held_after_mb": round(median(held), 1)}
                ratios[f"{dataset}_{variant}_peak_vs_dataset"] = ratio(median(peak), dataset_mb)
                ratios[f"{dataset}_{variant}_held_vs_dataset"] = ratio(median(held), dataset_mb)
            ratios[f"{dataset}_peak_host_tensor_vs_tf_constant"] = ratio(
                median(timings[f"{dataset}_host_tensor_peak_above_start_mb"]), median(timings[f"{dataset}_tf_constant_peak_above_start_mb"]))
    return {
        "units": "MB (resident set, 1e6 bytes) above the process's RSS before loading (TensorFlow started)",
        "drinks_options": DRINKS_OPTIONS,
        "memory_table": table,
        "timings": timings,
        "medians": summarize(timings),
        "ratios": ratios,
    }


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2], Path(sys.argv[3]), quick="--quick" in sys.argv)
