"""Tasks on a checkpoint (evaluate, sample, export) get a run dir named after the checkpoint's
model and data, with that provenance in their config.yaml (not the command's default model)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import yaml

from adl_runner.kernel.errors import IncompatibleError
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


def test_an_architecture_option_given_with_a_checkpoint_is_refused_not_ignored(run_cli, tmp_path: Path) -> None:
    """The loaded network is the trained one: `model.hidden_units=` on evaluate would be ignored."""
    trained = run_cli("model=mlp", "dataset=synthetic", "model.hidden_units=[16]", "debug=smoke", "logger.plots=false",
                      run_dir=tmp_path / "mlp")
    assert trained.code == 0, trained.err
    run_cli("task=evaluate", f"ckpt={trained.run_dir}", "model.hidden_units=[32]", run_dir=tmp_path / "eval").assert_error(
        "model.hidden_units=[32] cannot change the trained mlp", "its run has model.hidden_units=[16]", no_run_dir=True)
    same = run_cli("task=evaluate", f"ckpt={trained.run_dir}", "model.hidden_units=[16]", run_dir=tmp_path / "eval")
    assert same.code == 0, same.err


def test_a_familys_inference_options_still_reach_its_checkpoint() -> None:
    from adl_runner.kernel.registry import MODELS
    from adl_runner.runner.families import load_families
    from adl_runner.runner.resolve import refuse_changed_architecture

    load_families()
    assert "soft_nms" in MODELS.get("ssd").spec.inference_options
    refuse_changed_architecture("ssd", Path("x.keras"), {"soft_nms": True}, {"soft_nms": False})  # allowed
    with pytest.raises(IncompatibleError, match="model.n_layers=3 cannot change the trained ssd .* takes model.class_threshold"):
        refuse_changed_architecture("ssd", Path("x.keras"), {"n_layers": 3}, {"n_layers": 4})
