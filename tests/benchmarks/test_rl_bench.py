"""`benchmarks/run.py --quick --only rl_replay` runs and reports its three loops and two ratios.

Slow (minutes: the book-style loop calls `predict` about 130 times per episode), so only
`make test-full` runs it. Timings are not checked, only that the report is complete.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1200)
def test_rl_replay_quick(tmp_path: Path, benchmarks_run) -> None:
    report, markdown, _ = benchmarks_run(tmp_path, "--quick", "--reps", "1", "--only", "rl_replay")
    result = report["benchmarks"]["rl_replay"]
    assert result["status"] == "ok", result
    assert set(result["medians"]) == {"book_style", "hand_written", "runner"}
    assert all(v > 0 for v in result["medians"].values())
    assert set(result["ratios"]) == {"runner_vs_book_style", "runner_vs_hand_written"}
    assert set(result["targets"]) == set(result["ratios"])
    assert "## rl_replay" in markdown
