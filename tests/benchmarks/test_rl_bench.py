"""`benchmarks/run.py --quick --only rl_replay` runs and reports its three loops and two ratios.

Slow (minutes: the book-style loop calls `predict` about 130 times per episode), so only
`make test-full` runs it. Timings are not checked, only that the report is complete.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1200)
def test_rl_replay_quick(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--out", str(tmp_path), "--quick",
                           "--reps", "1", "--only", "rl_replay"], cwd=REPO, capture_output=True, text=True, timeout=1100)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (json_path,) = tmp_path.glob("*.json")
    result = json.loads(json_path.read_text())["benchmarks"]["rl_replay"]
    assert result["status"] == "ok", result
    assert set(result["medians"]) == {"book_style", "hand_written", "runner"}
    assert all(v > 0 for v in result["medians"].values())
    assert set(result["ratios"]) == {"runner_vs_book_style", "runner_vs_hand_written"}
    assert set(result["targets"]) == set(result["ratios"])
    assert "## rl_replay" in json_path.with_suffix(".md").read_text()
