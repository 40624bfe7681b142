"""The pieces of the benchmarks that run in milliseconds: the shared helpers, argument parsing, the
variant list, the RSS reader and the Markdown of the results. Nothing is timed here;
`test_bench.py` (slow) runs the benchmarks themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_new_benchmarks_are_selectable(bench_module) -> None:
    run, threads, fits = bench_module("run"), bench_module("threads"), bench_module("fits")
    assert run.parse_args(["--only", "threads,xla", "--only", "memory_stages"]).only == ["threads", "xla", "memory_stages"]
    # the runner sets no threads: its default is the variant that leaves both unset
    assert threads.THREAD_VARIANTS[threads.DEFAULT_VARIANT] == (None, None)
    assert threads.THREAD_VARIANTS["tf_0_0"] == (0, 0)
    assert set(fits.FAMILIES) == {"mlp", "cnn", "gan"}


def test_variant_arguments(bench_module) -> None:
    variant = bench_module("variant")
    args = variant.parse_args(["--train", "64"])
    assert args.intra is None and args.inter is None and args.models == "mlp,cnn,gan"
    args = variant.parse_args(["--train", "64", "--intra", "1", "--inter", "2", "--models", "mlp"])
    assert (args.intra, args.inter, args.models) == (1, 2, "mlp")


def test_memory_now_and_record(bench_module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stages = bench_module("memory_stages")
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmHWM:\t  200000 kB\nVmRSS:\t  150000 kB\nThreads:\t4\n")
    assert stages.memory_now(str(status)) == {"rss_mb": 150000 * 1024 / 1e6, "hwm_mb": 200000 * 1024 / 1e6}
    out = tmp_path / "stages.jsonl"
    monkeypatch.setenv("BENCH_STAGES_OUT", str(out))
    if Path("/proc/self/status").exists():
        stages.record("started")
        stages.record("data_loaded", pipeline_tensors_mb=1.5)
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["stage"] for r in rows] == ["started", "data_loaded"]
        assert all(r["rss_mb"] > 0 and r["hwm_mb"] >= r["rss_mb"] * 0.5 for r in rows)
        assert rows[1]["pipeline_tensors_mb"] == 1.5


def test_markdown_of_the_new_results(bench_module) -> None:
    harness, summary = bench_module("harness"), bench_module("summary")
    ok = {"status": "ok", "seconds": 1.0, "units": "u"}
    report = {
        "started": "2026-11-22T02:00:00", "options": {"quick": True},
        "machine": {"cpus_usable": 2, "cpu_count": 2, "load_avg_at_start": [1.0, 1.0, 1.0], "tensorflow": "2.21.0",
                    "keras": "3.15.1", "python": "3.11.7"},
        "benchmarks": {
            "threads": {**ok, "timings": {"mlp_runner_default": [1.0], "mlp_intra1_inter1": [2.0]},
                        "medians": {"mlp_runner_default": 1.0, "mlp_intra1_inter1": 2.0},
                        "ratios": {"mlp_intra1_inter1_vs_default": 2.0}, "fastest": {"mlp": "runner_default"},
                        "variants": {"runner_default": {"intra": None, "inter": None}, "intra1_inter1": {"intra": 1, "inter": 1}}},
            "xla": {**ok, "timings": {"mlp_off": [1.0], "mlp_on": [3.0]}, "medians": {"mlp_off": 1.0, "mlp_on": 3.0},
                    "ratios": {"mlp_on_vs_off": 3.0}, "auto_resolves_to": {"mlp": False},
                    "targets": {"mlp_on_vs_off": harness.target(3.0, ">=", 1.0)}},
            "memory_stages": {**ok, "timings": {"mlp_end": [700.0]}, "medians": {"mlp_end": 700.0},
                              "ratios": {"mlp_load_growth_vs_dataset": 1.1}, "dataset_mb": 55.0,
                              "pipeline_tensors_mb": 55.2,
                              "stages": {"mlp": {"before_data": {"rss_mb": 570.0, "hwm_mb": 570.0},
                                                 "end": {"rss_mb": 700.0, "hwm_mb": 740.0}}}},
        },
    }
    md = summary.markdown(report)
    assert "Fastest variant: mlp runner_default" in md
    assert "runner_default (None, None), intra1_inter1 (1, 1)" in md
    assert '`jit_compile="auto"` resolves to: mlp off' in md
    assert "| mlp_on_vs_off | 3 | >= 1.0 (met) |" in md
    assert "| before_data | 570 | 570 |" in md and "| end | 700 | 740 |" in md
    assert "The pipeline's tensors after loading: 55.2 MB" in md


def test_every_benchmark_is_its_own_module(bench_module) -> None:
    run = bench_module("run")
    assert {name: fn.__module__ for name, fn in run.BENCHMARKS.items()} == {name: name for name in run.BENCHMARKS}


def test_helpers(bench_module) -> None:
    harness, run = bench_module("harness"), bench_module("run")
    calls: list[str] = []
    out = harness.alternate({"a": lambda: calls.append("a") or 1.0, "b": lambda: calls.append("b") or 2.0}, 3)
    assert calls == ["a", "b", "b", "a", "a", "b"] and out == {"a": [1.0] * 3, "b": [2.0] * 3}
    assert harness.median([3.0, 1.0, 2.0]) == 2.0 and harness.ratio(1.0, 0.0) is None
    assert run.parse_args(["--only", "cli_startup,memory"]).only == ["cli_startup", "memory"]
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "nope"])
