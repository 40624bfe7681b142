"""The results of one invocation: the machine it ran on, its Markdown summary, and the file names."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    def version(*dists: str) -> str | None:
        for dist in dists:
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return None

    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_avg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "tensorflow": version("tensorflow-cpu", "tensorflow"),
        "keras": version("keras"),
        "numpy": version("numpy"),
        "hydra_core": version("hydra-core"),
    }


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# adl-runner benchmarks, {report['started']}",
        "",
        f"{m['cpus_usable']} usable CPUs (of {m['cpu_count']}), load average at start "
        f"{', '.join(f'{v:.2f}' for v in m['load_avg_at_start'] or [])}; TF {m['tensorflow']}, Keras {m['keras']}, "
        f"Python {m['python']}. Options: {json.dumps(report['options'])}.",
        "",
        "Medians of alternated repetitions; on a shared machine quote the ratios, not the seconds.",
    ]
    for name, result in report["benchmarks"].items():
        lines += ["", f"## {name}", ""]
        if result["status"] != "ok":
            lines.append(f"{result['status']}: {result.get('reason', '')}")
            continue
        lines += [f"Units: {result.get('units', '')}. Took {result['seconds']:.0f} s.", "",
                  "| case | median | reps |", "|---|---|---|"]
        spread = result.get("spread", {})
        lines += [f"| {case} | {fmt(value)}{fmt_spread(spread.get(case))} | {len(result['timings'][case])} |"
                  for case, value in result["medians"].items()]
        targets = result.get("targets", {})
        lines += ["", "| ratio | value | target |", "|---|---|---|"]
        for key, value in result["ratios"].items():
            t = targets.get(key)
            lines.append(f"| {key} | {fmt(value)} | {fmt_target(t)} |")
        for key, t in targets.items():
            if key not in result["ratios"]:
                lines.append(f"| {key} (absolute) | {fmt(t['value'])} | {fmt_target(t)} |")
        if "gflops" in result:
            lines += ["", "GFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in result["gflops"].items())]
        if "dataset_mb" in result:
            lines += ["", f"Dataset arrays (uint8, train+test): {result['dataset_mb']:.1f} MB"]
        if "pipeline_tensors_mb" in result:
            lines += ["", f"The pipeline's tensors after loading: {result['pipeline_tensors_mb']:.1f} MB"]
        if "stages" in result:
            models = list(result["stages"])
            lines += ["", "| stage | " + " | ".join(f"{m} RSS | {m} peak so far" for m in models) + " |",
                      "|---|" + "---|---|" * len(models)]
            for stage in next(iter(result["stages"].values())):
                lines.append(f"| {stage} | " + " | ".join(
                    f"{result['stages'][m][stage]['rss_mb']:.0f} | {result['stages'][m][stage]['hwm_mb']:.0f}"
                    for m in models) + " |")
        if "job_stages" in result:
            groups = list(result["job_stages"])
            names = list(dict.fromkeys(name for stages in result["job_stages"].values() for name in stages))
            lines += ["", "Median seconds per job and stage (run.json `stages`; `train` holds `checkpoints`):", "",
                      "| stage | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
            lines += [f"| {name} | " + " | ".join(fmt(result["job_stages"][g].get(name, 0.0)) for g in groups) + " |"
                      for name in names]
        if "paired_ratios" in result:
            lines += ["", "Ratios of each alternated pair: " + "; ".join(
                f"{k} {', '.join(fmt(v) for v in values)}" for k, values in result["paired_ratios"].items())]
        if "smoke_job_above_import_s" in result:
            lines += ["", f"Smoke job above the bare import (median of the pairs' differences): "
                      f"{result['smoke_job_above_import_s']:.2f} s"]
        if "variants" in result:
            lines += ["", "Variants (intra, inter; None: not set): " + ", ".join(
                f"{name} ({v['intra']}, {v['inter']})" for name, v in result["variants"].items())]
        if "fastest" in result:
            lines += ["", "Fastest variant: " + ", ".join(f"{k} {v}" for k, v in result["fastest"].items())]
        if "auto_resolves_to" in result:
            lines += ["", "`jit_compile=\"auto\"` resolves to: " + ", ".join(
                f"{k} {'on' if v else 'off'}" for k, v in result["auto_resolves_to"].items())]
        if "data" in result:
            lines += ["", "Data: " + ", ".join(f"{k}={v}" for k, v in result["data"].items())]
    return "\n".join(lines) + "\n"


def fmt_spread(low_high: list[float] | None) -> str:
    return "" if low_high is None else f" ({fmt(low_high[0])}-{fmt(low_high[1])})"


def fmt_target(t: dict[str, Any] | None) -> str:
    return "" if t is None else f"{t['op']} {t['limit']} ({'met' if t['met'] else 'NOT met'})"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")  # benchmarks/results/*.tmp is git-ignored
    tmp.write_text(text)
    os.replace(tmp, path)


def result_stem(out: Path, started: dt.datetime) -> Path:
    stem = out / started.strftime("%Y-%m-%dT%H%M%S")
    n = 1
    while stem.with_suffix(".json").exists():  # two invocations within a second
        stem, n = out / f"{started.strftime('%Y-%m-%dT%H%M%S')}-{n}", n + 1
    return stem
