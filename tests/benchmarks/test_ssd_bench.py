"""`benchmarks/ssd.py`: its re-implementation of the book's data generator computes the targets the
runner's `assign` computes, its anchors are the SSD's, and its pipeline cases run and report batches
per second (fast, tiny settings); `run.py --quick --only ssd` writes the whole report (slow).
Timings are never checked, only that they came out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SIZE = (128, 160)  # the smallest input the SSD's four scales take


def splits(n: int, max_objects: int):
    from adl_runner.data.inputs.boxes import BoxSplits
    from adl_runner.data.synthetic_boxes import class_names, render_split

    x_train, boxes_train = render_split("train", n, (*SIZE, 3), 3, max_objects, seed=0)
    return BoxSplits(x_train, boxes_train, x_train[:1], boxes_train[:1], class_names(3))


def test_book_targets_are_the_runners(bench_module) -> None:
    """One box per image: no anchor is claimed by two boxes, where the book lets the last one win."""
    ssd = bench_module("ssd")
    data = splits(8, max_objects=1)
    anchors, layer = ssd.anchors_of(SIZE)
    pipeline = ssd.box_pipeline(data)
    images, truth = next(iter(pipeline.evaluation("train")))
    runner = ssd.ssd_targets(anchors, layer, truth["boxes"], truth["classes"], pipeline.num_classes)
    book = ssd.book_targets(data.boxes_train[:ssd.BATCH], [anchors[layer == i] for i in range(ssd.N_LAYERS)],
                            pipeline.num_classes)
    assert book[0].shape == (ssd.BATCH, len(anchors), 4) and book[1].shape == (ssd.BATCH, len(anchors), 8)
    np.testing.assert_array_equal(book[0], runner[0].numpy())
    np.testing.assert_allclose(book[1], runner[1].numpy(), atol=1e-4)
    assert (book[1][..., 4:].sum(axis=1) >= ssd.N_LAYERS).all()  # a positive per layer, at least
    x, targets = ssd.book_generator(data.x_train, data.boxes_train, [anchors[layer == i] for i in range(4)], 4)[0]
    np.testing.assert_allclose(x, images.numpy(), atol=1e-6)
    np.testing.assert_array_equal(targets[0], book[0])


def test_anchors_are_the_models(bench_module) -> None:
    from adl_runner.models.detection.anchors import all_anchors
    from adl_runner.models.detection.ssd import head_shapes, ssd_network

    anchors, layer = bench_module("ssd").anchors_of(SIZE)
    expected, expected_layer = all_anchors(SIZE, head_shapes(ssd_network((*SIZE, 3), 4, 4, backbone_n=1)))
    np.testing.assert_array_equal(anchors, expected)
    np.testing.assert_array_equal(layer, expected_layer)


def test_pipeline_cases_report_batches_per_second(bench_module) -> None:
    ssd = bench_module("ssd")
    cases = ssd.pipeline_cases(splits(2 * ssd.BATCH, max_objects=3))
    assert set(cases) == {"runner", "book_style", "runner_targets_only", "book_style_targets_only"}
    for case in cases.values():
        assert case() > 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ssd_quick(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--out", str(tmp_path), "--quick",
                           "--reps", "1", "--only", "ssd"], cwd=REPO, capture_output=True, text=True, timeout=850)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (json_path,) = tmp_path.glob("*.json")
    result = json.loads(json_path.read_text())["benchmarks"]["ssd"]
    assert result["status"] == "ok", result
    cases = {f"pipeline_{c}" for c in ("runner", "book_style", "runner_targets_only", "book_style_targets_only")}
    cases |= {"train_step_runner", "train_step_hand_written"}
    ratios = {"pipeline_runner_vs_book_style", "pipeline_targets_only_runner_vs_book_style",
              "train_step_runner_vs_hand_written"}
    if "dataset_mb" in result:  # drinks under the data dir: the memory job ran
        cases |= {"memory_import_tf_keras", "memory_drinks_job"}
        ratios |= {"memory_drinks_job_peak_vs_dataset", "memory_drinks_job_above_import_vs_dataset"}
    assert set(result["medians"]) == set(result["timings"]) == cases
    assert all(v > 0 for v in result["medians"].values())
    assert set(result["ratios"]) == ratios and all(v > 0 for v in result["ratios"].values())
    assert set(result["targets"]) == {"pipeline_runner_vs_book_style", "train_step_runner_vs_hand_written"}
    assert result["data"]["train_backbone"] == "ResNet11v2"
    assert "## ssd" in json_path.with_suffix(".md").read_text()
