"""`run-report serving-doc`: docs/results/serving.md from the softmax-regression walk-through's
records, and the committed page against its committed records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from adl_runner.runner import report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"
RECORD = DOCS / "runs" / "softmax_regression_mnist"


def _write(folder: Path, **files: object) -> None:
    folder.mkdir(parents=True)
    for name, content in files.items():
        name = name.replace("_dot_", ".")
        text = content if isinstance(content, str) else (yaml.safe_dump(content) if name.endswith(".yaml") else json.dumps(content))
        (folder / name).write_text(text)


def test_a_record_becomes_the_book_comparison_and_the_signatures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "runs" / "sr"
    config = {"model": {"name": "softmax_regression"}, "optimizer": {"name": "adam", "learning_rate": 0.001},
              "trainer": {"batch_size": 256, "steps": 200, "steps_per_epoch": 100, "checkpoint": {"keep": 5}}}
    run = {"argv": ["run", "model=softmax_regression"], "git_commit": "abc123"}
    _write(record / "train", config_dot_yaml=config, run_dot_json=run, checkpoints_dot_txt="step-200.keras\nlast.keras\nstep-100.keras\n",
           metrics_dot_json={"params": 7850, "steps_completed": 200, "test_accuracy": 0.9, "test_batch_accuracy": 0.91,
                             "test_batch_accuracy_std": 0.017, "train_loss": 0.09, "test_loss": 0.085},
           history_dot_csv="epoch,loss,val_loss,val_accuracy,test_batch_accuracy\n0,0.3,0.2,0.8,0.81\n1,0.09,0.085,0.9,0.91\n")
    _write(record / "evaluate", run_dot_json=run, config_dot_yaml=config,
           metrics_dot_json={"checkpoint": "/x/checkpoints/last.keras", "test_accuracy": 0.9, "test_batch_accuracy": 0.91})
    spec = {"inputs": {"images": {"shape": [None, 28, 28, 1], "dtype": "uint8"}},
            "outputs": {"classes": {"shape": [None], "dtype": "int32"}}}
    _write(record / "export", run_dot_json=run, config_dot_yaml=config, saved_model_cli_dot_txt="signature_def['classify']:\nThe MetaGraph ...\n",
           metrics_dot_json={"export": "/x/export/softmax_regression/1"},
           export_dot_json={"format": "tf_saved_model", "version": 1, "checked_on": 16, "largest_difference": 2e-6,
                            "endpoints": {"classify": spec}})
    assert report.main(["serving-doc", str(record), "--docs", str(tmp_path)]) == 0
    page = (tmp_path / "serving.md").read_text()
    assert "with the last 5 kept (`trainer.checkpoint.keep`, TF's `max_to_keep`): `step-100.keras`, `step-200.keras`." in page
    assert "| after training (200 steps) | 91.8 % | 91.0 % (spread 1.7 %) | 90.0 % |" in page
    assert "| restored in a new process (`last.keras`) | 87.1 % | 91.0 % | 90.0 % |" in page
    assert "| 200 | 0.0900 | 0.0850 | 90.0 % | 91.0 % |" in page
    assert "## The export: `export/softmax_regression/1`" in page and "largest difference 2e-06" in page
    assert "| `classify` | `images`: uint8 (N, 28, 28, 1) | `classes`: int32 (N) |" in page
    assert "signature_def['classify']:" in page and "The MetaGraph" not in page
    assert "- `export`: `run model=softmax_regression` (commit `abc123`)" in page

    (record / "train" / "config.yaml").write_text(yaml.safe_dump({**config, "model": {"name": "mlp"}}))
    assert report.main(["serving-doc", str(record), "--docs", str(tmp_path)]) == 2
    assert "is not a softmax_regression run" in capsys.readouterr().err


def test_the_committed_serving_page_is_the_one_its_record_generates(tmp_path: Path) -> None:
    page = DOCS / "serving.md"
    if not page.exists():
        pytest.skip("no serving page committed")
    assert report.main(["serving-doc", str(RECORD), "--docs", str(tmp_path)]) == 0
    assert (tmp_path / "serving.md").read_text() == page.read_text()
