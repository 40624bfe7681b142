"""`benchmarks/load_transient.py`: its child records the four memory stages of loading a dataset into
the runner's pipeline, and `run.py --quick --only load_transient` compares host_tensor with tf.constant
(slow). Memory figures are never checked, only that they came out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_the_child_records_each_stage_of_loading(bench_module, fake_data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    load_transient = bench_module("load_transient")
    monkeypatch.setenv("RUNNER_DATA_DIR", str(fake_data_dir))
    out = tmp_path / "stages.json"
    load_transient.child("host_tensor", "mnist", out, quick=True)
    result = json.loads(out.read_text())
    assert result["dataset_mb"] > 0
    assert set(result["stages"]) == {"before", "loaded", "built", "after"}
    assert all(stage["hwm_mb"] >= stage["rss_mb"] > 0 for stage in result["stages"].values())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_load_transient_quick(tmp_path: Path, benchmarks_run) -> None:
    report, markdown, _ = benchmarks_run(tmp_path, "--quick", "--only", "load_transient", timeout=850)
    result = report["benchmarks"]["load_transient"]
    assert result["status"] == "ok", result
    assert result["ratios"]["mnist_peak_host_tensor_vs_tf_constant"] > 0
    assert "mnist_peak_host_tensor_vs_tf_constant" in markdown
