"""`benchmarks/ssd.py`: its re-implementation of the book's data generator computes the targets the
runner's `assign` computes, its anchors are the SSD's, and its pipeline cases run and report batches
per second (fast, tiny settings); `run.py --quick --only ssd` writes the whole report (slow).
Timings are never checked, only that they came out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SIZE = (128, 160)  # the smallest input the SSD's four scales take


def splits(n: int, max_objects: int):
    from adl_runner.data.inputs.boxes import BoxSplits
    from adl_runner.data.synthetic_boxes import class_names, render_split

    x_train, boxes_train, _ = render_split("train", n, (*SIZE, 3), 3, max_objects, seed=0)
    return BoxSplits(x_train, boxes_train, x_train[:1], boxes_train[:1], class_names(3))


def test_book_targets_are_the_runners(bench_module) -> None:
    """One box per image: no anchor is claimed by two boxes, where the book lets the last one win."""
    ssd = bench_module("ssd")
    data = splits(8, max_objects=1)
    anchors, layer = ssd.anchors_of(SIZE)
    pipeline = ssd.box_pipeline(data)
    images, truth = next(iter(pipeline.evaluation("train")))
    runner = ssd.ssd_targets(anchors, layer, pipeline.num_classes)(truth["boxes"], truth["classes"])
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



def test_the_book_generator_as_written_reads_its_jpegs_and_computes_the_same_targets(bench_module, tmp_path: Path) -> None:
    """On files written from the same images: decoding and per-image anchors change little but the cost."""
    from PIL import Image

    ssd = bench_module("ssd")
    data = splits(4, max_objects=2)
    files = []
    for i, image in enumerate(data.x_train):
        files.append(tmp_path / f"{i}.png")  # lossless, so the pixels are the arrays'
        Image.fromarray(image).save(files[-1])
    anchors, layer = ssd.anchors_of(SIZE)
    layer_anchors = [anchors[layer == i] for i in range(ssd.N_LAYERS)]
    x, targets = ssd.book_as_written(files, list(data.boxes_train), SIZE, 4)[0]
    x_ref, reference = ssd.book_generator(data.x_train, list(data.boxes_train), layer_anchors, 4)[0]
    np.testing.assert_allclose(x, x_ref, atol=1e-6)
    # float64 anchors (the book's) may break an IoU tie between neighbouring anchors the other way
    # than float32 ones: the same number of positives per image, and almost every row the same
    positives, ref_positives = targets[0][..., 1:].sum(axis=(1, 2)), reference[0][..., 1:].sum(axis=(1, 2))
    np.testing.assert_array_equal(positives, ref_positives)
    assert (targets[0] != reference[0]).any(axis=-1).mean() < 0.01

@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ssd_quick(tmp_path: Path, benchmarks_run) -> None:
    report, markdown, _ = benchmarks_run(tmp_path, "--quick", "--reps", "1", "--only", "ssd", timeout=850)
    result = report["benchmarks"]["ssd"]
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
    assert "## ssd" in markdown
