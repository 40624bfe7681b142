"""`benchmarks/fcn.py`: its data falls back to synthetic masks without drinks, its dataset size counts
images and masks, and `run.py --quick --only fcn` writes the whole report (slow). Timings are never
checked, only that they came out."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_without_drinks_the_step_runs_on_synthetic_masks_and_the_dataset_size_counts_masks(bench_module, fake_data_dir: Path) -> None:
    fcn = bench_module("fcn")
    harness = bench_module("harness")
    splits, source = fcn.mask_splits(harness.Settings(quick=True, reps=1, out=Path("."), data_dir=None), (64, 96), 8)
    assert source == "synthetic_shapes" and splits.x_train.shape == (8, 64, 96, 3) and splits.masks_train.shape == (8, 64, 96)
    # the fake drinks: 16 + 8 images listed in the polygon JSONs, each 3 bytes of RGB and 1 of mask per pixel
    assert fcn.drinks_masks_mb(fake_data_dir, (10, 20)) == pytest.approx(24 * 10 * 20 * 4 / 1e6)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fcn_quick(tmp_path: Path, benchmarks_run) -> None:
    report, markdown, _ = benchmarks_run(tmp_path, "--quick", "--reps", "1", "--only", "fcn", timeout=850)
    result = report["benchmarks"]["fcn"]
    assert result["status"] == "ok", result
    cases, ratios = {"train_step_runner", "train_step_hand_written"}, {"train_step_runner_vs_hand_written"}
    if "dataset_mb" in result:  # drinks under the data dir: the memory job ran
        cases |= {"memory_import_tf_keras", "memory_drinks_job"}
        ratios |= {"memory_drinks_job_peak_vs_dataset", "memory_drinks_job_above_import_vs_dataset"}
    assert set(result["medians"]) == set(result["timings"]) == cases
    assert all(v > 0 for v in result["medians"].values())
    assert set(result["ratios"]) == ratios and all(v > 0 for v in result["ratios"].values())
    assert set(result["targets"]) == {"train_step_runner_vs_hand_written"}
    assert result["data"]["train_backbone"] == "ResNet11v2" and "## fcn" in markdown
