"""`benchmarks/run.py --quick`: it runs, writes its JSON and Markdown, and the JSON has its schema.

Slow (tens of seconds: real subprocesses and small Keras fits), so only `make test-full` runs it.
Timings themselves are not checked: only that every ratio came out as a positive number.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "run.py"

pytestmark = pytest.mark.slow


def bench(out: Path, *args: str) -> tuple[dict, str, str]:
    """Run the script into `out`; its report (the one JSON there), its Markdown and its stdout."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (json_path,) = out.glob("*.json")
    md_path = json_path.with_suffix(".md")
    assert md_path.is_file()
    assert not list(out.glob("*.tmp"))
    return json.loads(json_path.read_text()), md_path.read_text(), proc.stdout


def check_report(report: dict, name: str, cases: set[str], ratios: set[str]) -> dict:
    assert report["schema_version"] == 1
    for key in ("started", "finished", "options", "machine", "benchmarks"):
        assert key in report
    assert report["options"]["quick"] is True
    assert report["options"]["only"] == [name]
    machine = report["machine"]
    assert machine["cpu_count"] >= 1 and machine["tensorflow"] and machine["keras"]
    assert list(report["benchmarks"]) == [name]
    result = report["benchmarks"][name]
    assert result["status"] == "ok", result
    assert result["seconds"] > 0
    assert set(result["timings"]) == set(result["medians"]) == cases
    for case, values in result["timings"].items():
        assert values and all(v > 0 for v in values), case
        assert result["medians"][case] > 0
    assert set(result["ratios"]) == ratios
    for key, value in result["ratios"].items():
        assert isinstance(value, float) and value > 0, key
    for t in result.get("targets", {}).values():
        assert set(t) == {"value", "op", "limit", "met"}
    return result


@pytest.mark.timeout(600)
def test_cli_startup_quick(tmp_path: Path) -> None:
    report, md, stdout = bench(tmp_path, "--quick", "--only", "cli_startup")
    result = check_report(
        report, "cli_startup",
        {"python_pass", "run_help", "run_bad_model", "python_pass_job", "job_1_step"},
        {"run_help_vs_python", "run_bad_model_vs_python", "job_1_step_vs_python"},
    )
    assert set(result["targets"]) == {"run_help_s", "run_bad_model_s"}
    assert "## cli_startup" in md and md in stdout


@pytest.mark.timeout(600)
def test_fit_overhead_quick(tmp_path: Path) -> None:
    report, md, _ = bench(tmp_path, "--only", "fit_overhead", "--quick")
    result = check_report(report, "fit_overhead", {"mlp_plain", "mlp_runner"}, {"mlp_runner_vs_plain"})
    assert result["data"]["train_examples"] == 4096
    assert result["data"]["source"] in ("mnist", "synthetic")
    for side in ("mlp_plain", "mlp_runner"):
        reps = result["epoch_times"][side]
        assert len(reps) == report["options"]["reps"]
        assert all(len(epochs) == result["data"]["epochs_per_fit"]["mlp"] for epochs in reps)
    assert "mlp_runner_vs_plain" in md


@pytest.mark.timeout(600)
def test_gan_step_quick(tmp_path: Path) -> None:
    report, md, _ = bench(tmp_path, "--only", "gan_step", "--quick", "--reps", "1")
    result = check_report(report, "gan_step", {"runner", "hand_written", "book_style"},
                          {"runner_vs_hand_written", "runner_vs_book_style"})
    assert result["data"]["batch_size"] == 64
    assert set(result["targets"]) == {"runner_vs_hand_written", "runner_vs_book_style"}
    assert "runner_vs_book_style" in md


@pytest.mark.timeout(600)
def test_memory_stages_quick(tmp_path: Path) -> None:
    report, md, _ = bench(tmp_path, "--only", "memory_stages", "--quick")
    result = report["benchmarks"]["memory_stages"]
    if result["status"] == "skipped":  # no real MNIST on this machine
        pytest.skip(result["reason"])
    stages = ("started", "before_data", "data_loaded", "model_built", "first_epoch", "fit_end", "end")
    cases = {f"{m}_{s}" for m in ("mlp", "cnn") for s in (*stages, "peak")}
    ratios = {f"{m}_{r}" for m in ("mlp", "cnn") for r in ("load_growth_vs_dataset", "load_peak_vs_dataset",
                                                           "peak_vs_dataset")}
    result = check_report(report, "memory_stages", cases, ratios)
    for model in ("mlp", "cnn"):
        assert list(result["stages"][model]) == list(stages)
        for row in result["stages"][model].values():
            assert row["hwm_mb"] >= row["rss_mb"] > 0
    assert result["pipeline_tensors_mb"] > 50  # MNIST's uint8 arrays, as the pipeline holds them
    assert "| data_loaded |" in md
