"""Tasks on a checkpoint (evaluate, sample, export) get a run dir named after the checkpoint's
model and data, with that provenance in their config.yaml (not the command's default model)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import yaml

from adl_runner.runner.cli import main


def test_evaluate_and_export_are_named_after_the_checkpoint(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=cnn", "debug=smoke", "logger.plots=false", run_dir=tmp_path / "cnn")
    assert trained.code == 0, trained.err
    ckpt = trained.run_dir / "checkpoints" / "best.keras"
    for task in ("evaluate", "export"):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            code = main([f"task={task}", f"ckpt={ckpt}", f"paths.output_dir={tmp_path / 'out'}"])
        assert code == 0, err.getvalue()
        (run,) = (tmp_path / "out" / "runs").glob(f"*/*_{task}_cnn_mnist")
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert (config["task"], config["model"]["name"], config["dataset"]["name"]) == (task, "cnn", "mnist")
        assert config["ckpt"] == str(ckpt)
