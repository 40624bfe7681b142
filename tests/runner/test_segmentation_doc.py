"""`run-report segmentation-doc`: docs/results/segmentation.md from mask-model run records, and the
committed page against its committed records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from adl_runner.runner import report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"


def write_record(root: Path, name: str, config: dict, metrics: dict, history: str | None = None) -> Path:
    record = root / "runs" / name
    record.mkdir(parents=True)
    (record / "config.yaml").write_text(yaml.safe_dump(config))
    (record / "metrics.json").write_text(json.dumps(metrics))
    (record / "run.json").write_text(json.dumps({"argv": ["run", f"model={config['model']['name']}"], "git_commit": "abc123"}))
    if history is not None:
        (record / "history.csv").write_text(history)
    return record


def test_records_become_rows_commands_and_curves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = {"model": {"name": "encoder_decoder", "threshold_on": "probabilities", "threshold": 0.5, "init_std": None},
              "optimizer": {"name": "adam", "learning_rate": 1e-4},
              "dataset": {"name": "drinks_foreground", "validation": 50, "options": {"image_size": [48, 64]}},
              "trainer": {"steps": 40, "steps_per_epoch": 20, "batch_size": 32}}
    train = write_record(tmp_path, "ed", config, {"task": "train", "test_loss": 0.25},
                         "epoch,dice,loss,val_loss,val_miou\n0,0.1,0.6,0.5,0.4\n1,0.7,0.3,0.25,0.8\n")
    (train / "segmentation.png").write_bytes(b"png")
    logits = {**config, "model": {**config["model"], "threshold_on": "logits"}}
    evaluated = write_record(tmp_path, "ed_eval", logits, {"task": "evaluate", "test_loss": 0.25, "dice": 0.8, "iou": 0.66})
    assert report.main(["segmentation-doc", str(train), str(evaluated), "--docs", str(tmp_path)]) == 0
    page = (tmp_path / "segmentation.md").read_text()
    assert ("| [ed_eval](runs/ed_eval/) | encoder_decoder | evaluate | drinks_foreground | 48x64, 40 steps, batch 32, "
            "adam 0.0001, He-normal init, threshold on logits at 0.5 | 0.250 | - | - | - | 0.800 | 0.660 |") in page
    assert "- `ed`: `run model=encoder_decoder` (commit `abc123`)" in page
    assert "## `ed`: every 20 steps; validation on 50 held-out training images, test on the test split" in page
    assert "| epoch | train loss | validation loss | validation book mIoU | test Dice |\n|---|---|---|---|---|\n" in page
    assert "| 2 | 0.300 | 0.250 | 0.800 | 0.700 |\n" in page
    assert "![ed: test images, ground truth and prediction](runs/ed/segmentation.png)" in page

    fcn_config = {"model": {"name": "fcn"}, "optimizer": {"name": "adam", "learning_rate": 1e-3},
                  "dataset": {"name": "drinks_segmentation", "validation": 50, "options": {"image_size": [128, 160]}},
                  "trainer": {"epochs": 8, "batch_size": 4}}
    for name, mean_iou in (("fcn_short", 0.55), ("fcn_long", 0.61)):
        write_record(tmp_path, name, fcn_config, {"task": "train", "mean_iou": mean_iou, "miou": 0.7, "pixel_accuracy": 0.95},
                     "epoch,loss\n0,0.5\n")
    records = [tmp_path / "runs" / name for name in ("fcn_short", "fcn_long")]
    assert report.main(["segmentation-doc", *map(str, records), "--docs", str(tmp_path)]) == 0
    page = (tmp_path / "segmentation.md").read_text()
    assert "reports a max mIoU of 0.91 and a max average pixel accuracy of 97.9 %" in page
    assert ("- `fcn_short` (128x160, 8 epochs, batch 4, adam 0.001): mean IoU 0.550, book mIoU 0.700, pixel accuracy "
            "0.950: the CPU target (mean IoU >= 0.6 on the test images) not met.") in page
    assert "- `fcn_long` (128x160, 8 epochs, batch 4, adam 0.001): mean IoU 0.610" in page and "images) met." in page

    fcn = write_record(tmp_path, "ssd", {"model": {"name": "ssd"}, "dataset": {"name": "drinks"}}, {"task": "train"})
    assert report.main(["segmentation-doc", str(fcn), "--docs", str(tmp_path)]) == 2
    assert "is a run of model 'ssd'; give runs of fcn, unet, encoder_decoder" in capsys.readouterr().err


def test_the_committed_segmentation_page_is_the_one_its_records_generate(tmp_path: Path) -> None:
    page = DOCS / "segmentation.md"
    if not page.exists():
        pytest.skip("no segmentation page committed")
    records = [DOCS / "runs" / line.split("](runs/", 1)[1].split("/)", 1)[0]
               for line in page.read_text().splitlines() if line.startswith("| [")]
    assert report.main(["segmentation-doc", *map(str, records), "--docs", str(tmp_path)]) == 0
    assert (tmp_path / "segmentation.md").read_text() == page.read_text()
