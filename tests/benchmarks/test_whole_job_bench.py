"""`benchmarks/whole_job.py`: its jobs at the book's budgets and with --quick, --jobs, the child
process's wall and CPU seconds, the harness's child environment, the book's scripts training (their
losses, in-process on tiny budgets), and quick whole runs (slow: real jobs and the book's scripts as
processes). Timings are never checked, only that they came out."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pytest


def settings(harness, quick: bool, jobs: tuple[str, ...] = (), epochs: int | None = None):
    return harness.Settings(quick=quick, reps=3, out=Path("."), data_dir=Path("/data"), jobs=jobs, epochs=epochs)


def test_the_jobs_run_the_book_budgets_and_quick_cuts_both_sides_alike(bench_module) -> None:
    whole, harness = bench_module("whole_job"), bench_module("harness")
    full = whole.jobs(settings(harness, quick=False))
    assert list(full) == ["mlp", "cnn", "dcgan", "dqn", "smoke"]
    assert full["mlp"].runner == ("model=mlp", "dataset=mnist") and full["mlp"].other == ("mlp",)
    assert "trainer.steps=200" in full["dcgan"].runner and ("--steps", "200") == full["dcgan"].other[1:3]
    assert full["smoke"].book is False and full["smoke"].other[-1] == "import tensorflow, keras"
    assert (full["mlp"].limit, full["dcgan"].limit, full["smoke"].limit) == (1.05, 1.0, 1.5)
    quick = whole.jobs(settings(harness, quick=True))
    for name in ("mlp", "cnn"):
        assert "dataset.train_limit=4096" in quick[name].runner and "4096" in quick[name].other
    assert "trainer.steps=10" in quick["dcgan"].runner and ("--steps", "10") == quick["dcgan"].other[1:3]
    assert "trainer.episodes=3" in quick["dqn"].runner and ("--episodes", "3") == quick["dqn"].other[1:3]


def test_epochs_cuts_both_classifier_sides_alike_and_leaves_the_others(bench_module) -> None:
    whole, harness = bench_module("whole_job"), bench_module("harness")
    cut, full = whole.jobs(settings(harness, quick=False, epochs=2)), whole.jobs(settings(harness, quick=False))
    for name in ("mlp", "cnn"):
        assert cut[name].runner[-1] == "trainer.epochs=2" and cut[name].other[-2:] == ("--epochs", "2")
    assert (cut["dcgan"], cut["dqn"], cut["smoke"]) == (full["dcgan"], full["dqn"], full["smoke"])


def test_jobs_picks_the_named_ones_and_refuses_an_unknown_name(bench_module) -> None:
    whole, harness = bench_module("whole_job"), bench_module("harness")
    assert list(whole.jobs(settings(harness, quick=False, jobs=("smoke", "mlp")))) == ["mlp", "smoke"]
    with pytest.raises(ValueError, match="--jobs mlpp: no such job; valid: mlp, cnn"):
        whole.jobs(settings(harness, quick=False, jobs=("mlpp",)))


def test_a_child_reports_its_own_cpu_and_a_failure_names_its_exit_code(bench_module, tmp_path: Path) -> None:
    whole, harness = bench_module("whole_job"), bench_module("harness")
    env = harness.child_env()
    wall, cpu = whole.usage_process([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], env, tmp_path)
    assert wall > 0 and 0 < cpu < wall + 1
    with pytest.raises(RuntimeError, match="exited 3"):
        whole.usage_process([sys.executable, "-c", "raise SystemExit(3)"], env, tmp_path)


def test_children_import_this_checkout(bench_module) -> None:
    harness = bench_module("harness")
    assert harness.child_env()["PYTHONPATH"].split(":")[0] == str(harness.REPO / ".pkg")


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("names", [("smoke",), ("cnn", "dcgan", "dqn")])
def test_whole_job_quick(tmp_path: Path, benchmarks_run, names: tuple[str, ...]) -> None:
    report, markdown, _ = benchmarks_run(tmp_path, "--quick", "--only", "whole_job", "--jobs", ",".join(names),
                                         timeout=850)
    result = report["benchmarks"]["whole_job"]
    if result["status"] == "skipped":
        pytest.skip(result["reason"])
    assert set(result["timings"]) == {f"{name}_{side}_{kind}" for name in names for side in ("runner", "book")
                                      for kind in ("wall", "cpu")}
    assert set(result["ratios"]) == {f"{name}_runner_vs_book_{kind}" for name in names for kind in ("wall", "cpu")}
    assert all(v > 0 for v in result["ratios"].values())
    assert all("train" in result["job_stages"][name] for name in names)
    assert "## whole_job" in markdown and f"| {names[0]}_runner_wall |" in markdown


def book_args(out: Path, data_dir: Path | None = None, **budget) -> argparse.Namespace:
    """book_jobs.py's arguments with a test's tiny budget."""
    defaults = dict(epochs=None, train_limit=None, test_limit=None, steps=200, save_interval=100, episodes=20)
    return argparse.Namespace(data_dir=data_dir, out=out, **{**defaults, **budget})


def test_the_book_cnn_script_trains(bench_module, fake_data_dir: Path, tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    losses = bench_module("book_jobs").classifier("cnn", book_args(tmp_path, fake_data_dir, epochs=3))
    assert len(losses) == 3 and losses[-1] < losses[0]


@pytest.mark.slow  # three models traced: about 10 s
def test_the_book_dcgan_script_trains_and_writes_its_grids(bench_module, fake_data_dir: Path, tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    losses = bench_module("book_jobs").dcgan(book_args(tmp_path, fake_data_dir, steps=4, save_interval=2))
    assert len(losses) == 4 and all(math.isfinite(loss) for step in losses for loss in step)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00002.png", "00004.png", "dcgan_mnist.keras"]


@pytest.mark.slow  # a predict per replayed sample, as the book: about 20 s
def test_the_book_dqn_script_replays(bench_module, tmp_path: Path) -> None:
    import keras

    pytest.importorskip("gymnasium")
    keras.utils.set_random_seed(0)
    losses = bench_module("book_jobs").dqn(book_args(tmp_path, episodes=6))
    assert losses and all(math.isfinite(loss) and loss >= 0 for loss in losses)
