"""`run-report iic-doc`: docs/results/iic.md from IIC run records, and the committed page is what its records generate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from adl_runner.runner import report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"


def iic_record(root: Path, name: str, heads: list[float], best: float, config: dict) -> Path:
    run = root / "runs" / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "metrics.json").write_text(json.dumps({
        "task": "train", "model": "iic", "accuracy": max(heads), "accuracy_per_head": heads,
        "accuracy_mean": sum(heads) / len(heads), "accuracy_std": 0.01, "best_accuracy": best, "best_epoch": 2,
        "steps_completed": 100, "epochs_completed": 2}))
    (run / "history.csv").write_text("epoch,accuracy,accuracy_mean,loss\n0,0.5,0.45,-1.0\n1,NA,NA,-1.5\n")
    (run / "run.json").write_text(json.dumps({"argv": ["run", "model=iic", f"model.heads={len(heads)}"], "git_commit": "abc123"}))
    (run / "confusion_head0.png").write_bytes(b"png")
    return run


def test_iic_doc_puts_the_book_beside_every_head_with_its_protocol_and_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {"model": {"name": "iic", "heads": 2}, "dataset": {"name": "mnist"}, "optimizer": {"name": "adam", "learning_rate": 0.001},
              "trainer": {"batch_size": 128, "steps_per_epoch": 50}}
    run = iic_record(tmp_path, "iic_two", [0.9612, 0.4], 0.97, config)
    limited = {**config, "model": {"name": "iic", "heads": 1}, "dataset": {"name": "mnist", "train_limit": 1000, "test_limit": None}}
    small = iic_record(tmp_path, "iic_small", [0.5], 0.5, limited)
    evaluated = iic_record(tmp_path, "iic_two_eval", [0.98, 0.5], 0.0, {**config, "evaluate": {"bn_recalibrate": 10}})
    metrics = json.loads((evaluated / "metrics.json").read_text())
    (evaluated / "metrics.json").write_text(json.dumps({**metrics, "task": "evaluate", "best_accuracy": None,
                                                        "checkpoint": "/runs/two/checkpoints/best.keras"}))
    (run / "run.json").write_text(json.dumps({"argv": ["run", "model=iic", "model.heads=2", "hydra.run.dir=/runs/two"],
                                              "git_commit": "abc123"}))
    assert report.main(["iic-doc", str(run), str(small), str(evaluated), "--docs", str(tmp_path)]) == 0
    page = (tmp_path / "iic.md").read_text()
    assert ("| [iic_two_eval](runs/iic_two_eval/) | 2 | train: 60,000 training images (no labels); score: the 10,000 test "
            "images | the checkpoint best.keras of [iic_two](runs/iic_two/) | re-estimated from 10 training batches of 128 | "
            "98.00 | 98.00 / 50.00 | 74.00 ± 1.00 | - | 99.47 | met |") in page
    assert page.count("## `iic_two_eval`") == 0  # an evaluation has no per-epoch curve
    assert ("| [iic_two](runs/iic_two/) | 2 | train: 60,000 training images (no labels); score: the 10,000 test images | "
            "100 steps of batch 128 (2 epochs of 50 steps), adam 0.001 | moving averages of training | 96.12 | 96.12 / 40.00 | 68.06 ± 1.00 | 2: 97.00 | "
            "99.47 | met |") in page
    assert "| [iic_small](runs/iic_small/) | 1 | train: the first 1,000 training images (no labels); score: all test images |" in page
    assert page.count("| not met |") == 1 and "99.2-99.3 % on MNIST" in page
    assert "- `iic_two`: `run model=iic model.heads=2 hydra.run.dir=/runs/two` (commit `abc123`)" in page
    assert "| 1 | -1.000 | 50.00 | 45.00 |" in page and "| 2 | -1.500 | - | - |" in page
    assert "![iic_two: confusion head0, clusters (matched) x labels](runs/iic_two/confusion_head0.png)" in page
    (tmp_path / "runs" / "ssd").mkdir()
    (tmp_path / "runs" / "ssd" / "config.yaml").write_text(yaml.safe_dump({"model": {"name": "ssd"}}))
    assert report.main(["iic-doc", str(tmp_path / "runs" / "ssd"), "--docs", str(tmp_path)]) == 2
    assert "is a run of model 'ssd'; give runs of iic" in capsys.readouterr().err


def test_a_table_13_6_1_job_is_named_by_its_set_and_row_and_linked_below_its_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {"model": {"name": "iic", "heads": 3}, "dataset": {"name": "mnist"}, "optimizer": {"name": "adam", "learning_rate": 0.001},
              "trainer": {"batch_size": 128, "steps_per_epoch": 50}, "table": {"id": "13.6.1", "row": 2}}
    job = iic_record(tmp_path, "table_13_6_1/experiment=book+table_13_6_1,table.row=2", [0.7, 0.6, 0.5], 0.75, config)
    assert report.main(["iic-doc", str(job), "--docs", str(tmp_path)]) == 0, capsys.readouterr().err
    page = (tmp_path / "iic.md").read_text()
    link = "runs/table_13_6_1/experiment=book+table_13_6_1,table.row=2/"
    assert f"| [table_13_6_1 row 2]({link}) | 3 |" in page and "| 70.00 / 60.00 / 50.00 |" in page and "| 99.54 | not met |" in page
    assert "The book-table page of the set table_13_6_1: [table_13_6_1.md](table_13_6_1.md)" in page
    assert "## `table_13_6_1 row 2`: per epoch (50 steps each)" in page
    assert f"]({link}confusion_head0.png)" in page


def test_a_seed_sets_jobs_are_named_by_heads_and_seed_and_its_seeds_page_is_linked(tmp_path: Path,
                                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = {"model": {"name": "iic", "heads": 3}, "dataset": {"name": "mnist"}, "optimizer": {"name": "adam", "learning_rate": 0.001},
              "trainer": {"batch_size": 128, "steps_per_epoch": 50}, "table": None}
    for seed, heads in ((1, [0.97, 0.5, 0.6]), (2, [0.4, 0.41, 0.42])):
        iic_record(tmp_path, f"iic_seeds/model.heads=3,seed={seed}", heads, max(heads), {**config, "seed": seed})
    alone = iic_record(tmp_path, "iic_alone", [0.8], 0.8, {**config, "model": {"name": "iic", "heads": 1}, "seed": 1})
    assert report.main(["iic-doc", str(alone), str(tmp_path / "runs" / "iic_seeds"), "--docs", str(tmp_path)]) == 0, capsys.readouterr().err
    page = (tmp_path / "iic.md").read_text()
    assert "| [iic_alone](runs/iic_alone/) | 1 |" in page
    assert "| [iic_seeds: 3 heads, seed 1](runs/iic_seeds/model.heads=3,seed=1/) | 3 |" in page and "| 97.00 / 50.00 / 60.00 |" in page
    assert "| [iic_seeds: 3 heads, seed 2](runs/iic_seeds/model.heads=3,seed=2/) | 3 |" in page and "| 42.00 | 40.00 / 41.00 / 42.00 |" in page
    assert "The seeds page of the set iic_seeds: [iic_seeds.md](iic_seeds.md) (`run-report seeds-doc runs/iic_seeds`)." in page
    assert "## `iic_seeds: 3 heads, seed 2`: per epoch (50 steps each)" in page
    assert report.main(["iic-doc", str(tmp_path / "runs" / "nope"), "--docs", str(tmp_path)]) == 2


def test_the_committed_iic_page_is_the_one_its_records_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The records and the sets (folders of a sweep's records) under docs/results/runs/ that hold IIC runs."""
    records = sorted((DOCS / "runs").glob("iic_*")) + [DOCS / "runs" / "table_13_6_1"]
    assert report.main(["iic-doc", *map(str, records), "--docs", str(tmp_path)]) == 0, capsys.readouterr().err
    assert (tmp_path / "iic.md").read_text() == (DOCS / "iic.md").read_text()
