"""Train, resume, evaluate and export through the real `run` entry point, on small data."""

from __future__ import annotations

import csv
from pathlib import Path

import keras
import numpy as np
import pytest

SMOKE = ("debug=smoke", "logger.tensorboard=false")
CIFAR_SHAPE = "dataset.options.shape=[32,32,3]"

# (model, extra overrides): every registered classifier on synthetic data of a shape it accepts.
MODELS = [
    ("mlp", ()),
    ("cnn", ()),
    ("cnn_functional", ()),
    ("rnn", ()),
    ("rnn", ("model.cell=lstm",)),
    ("rnn", ("model.cell=gru",)),
    ("ynet", ()),
    ("resnet", (CIFAR_SHAPE, "model.n=1")),
    ("resnet", (CIFAR_SHAPE, "model.version=2", "model.n=1")),
    ("densenet_bc", (CIFAR_SHAPE, "model.depth=16")),
]


@pytest.mark.parametrize(("model", "extra"), MODELS, ids=lambda v: "-".join(v) if isinstance(v, tuple) else v)
def test_smoke_train_then_evaluate(run_cli, tmp_path: Path, model: str, extra: tuple[str, ...]) -> None:
    result = run_cli(f"model={model}", "dataset=synthetic", *SMOKE, *extra)
    assert result.code == 0, result.err
    metrics = result.metrics()
    for key in ("test_accuracy", "test_loss", "train_accuracy", "train_eval_accuracy", "params", "epochs_completed",
                "wall_time_s"):
        assert metrics[key] is not None, key
    assert metrics["epochs_completed"] == 1
    for name in ("config.yaml", "run.json", "history.csv", "model_summary.txt", "loss.png", "accuracy.png",
                 "checkpoints/last.keras", "checkpoints/best.keras", "checkpoints/state.json"):
        assert (result.run_dir / name).exists(), name
    assert f"{metrics['params']:,}" in (result.run_dir / "model_summary.txt").read_text()
    assert "Test accuracy:" in result.out
    evaluated = run_cli("task=evaluate", f"ckpt={result.run_dir / 'checkpoints/best.keras'}", run_dir=tmp_path / "eval")
    assert evaluated.code == 0, evaluated.err
    assert evaluated.metrics()["params"] == metrics["params"]


def test_mlp_learns_the_synthetic_task(run_cli) -> None:
    result = run_cli("model=mlp", "dataset=synthetic", "trainer.epochs=3", "trainer.batch_size=32")
    assert result.code == 0, result.err
    assert result.metrics()["test_accuracy"] > 0.5  # chance is 0.1
    assert list((result.run_dir / "tensorboard").rglob("events.out.tfevents.*"))


def test_real_format_files_through_each_loader(run_cli, tmp_path: Path) -> None:
    for dataset, model in (("mnist", "mlp"), ("fashion_mnist", "cnn"), ("cifar10", "mlp")):
        result = run_cli(f"model={model}", f"dataset={dataset}", *SMOKE, run_dir=tmp_path / dataset)
        assert result.code == 0, (dataset, result.err)
        assert result.metrics()["dataset"] == dataset


def _history_epochs(run_dir: Path) -> list[int]:
    with (run_dir / "history.csv").open() as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_rerun_resumes_from_the_saved_epoch(run_cli) -> None:
    args = ("model=mlp", "dataset=synthetic", "trainer.batch_size=32", "logger.tensorboard=false")
    first = run_cli(*args, "trainer.epochs=2")
    assert first.code == 0, first.err
    second = run_cli(*args, "trainer.epochs=4")
    assert second.code == 0, second.err
    metrics = second.metrics()
    assert metrics["resumed_from_epoch"] == 2
    assert metrics["epochs_completed"] == 4
    assert _history_epochs(second.run_dir) == [0, 1, 2, 3]


def test_resumed_weights_equal_uninterrupted_weights(run_cli, tmp_path: Path) -> None:
    args = ("model=mlp", "model.dropout=0.0", "dataset=synthetic", "trainer.batch_size=32",
            "trainer.deterministic=true", "logger.tensorboard=false")
    straight = run_cli(*args, "trainer.epochs=3", run_dir=tmp_path / "straight")
    run_cli(*args, "trainer.epochs=1", run_dir=tmp_path / "resumed")
    resumed = run_cli(*args, "trainer.epochs=3", run_dir=tmp_path / "resumed")
    assert straight.code == resumed.code == 0
    a = keras.saving.load_model(straight.run_dir / "checkpoints/last.keras")
    b = keras.saving.load_model(resumed.run_dir / "checkpoints/last.keras")
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


def test_resume_refuses_a_run_dir_of_another_model(run_cli) -> None:
    assert run_cli("model=mlp", "dataset=synthetic", *SMOKE).code == 0
    result = run_cli("model=cnn", "dataset=synthetic", *SMOKE)
    assert result.code == 2
    assert "different model config" in result.err
    assert (result.run_dir / "metrics.json").exists()  # the earlier run is untouched


def test_evaluate_and_export_a_checkpoint(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=cnn", "dataset=synthetic", *SMOKE, run_dir=tmp_path / "train")
    assert trained.code == 0, trained.err
    ckpt = trained.run_dir / "checkpoints/last.keras"
    evaluated = run_cli("task=evaluate", f"ckpt={ckpt}", run_dir=tmp_path / "eval")
    assert evaluated.code == 0, evaluated.err
    assert evaluated.metrics()["dataset"] == "synthetic"  # taken from the checkpoint's run
    assert evaluated.metrics()["test_accuracy"] == pytest.approx(trained.metrics()["test_accuracy"])
    on_train = run_cli("task=evaluate", "split=train", f"ckpt={ckpt}", run_dir=tmp_path / "eval_train")
    assert on_train.code == 0, on_train.err
    assert 0.0 <= on_train.metrics()["train_accuracy"] <= 1.0 and "test_accuracy" not in on_train.metrics()
    assert "Train accuracy:" in on_train.out
    exported = run_cli("task=export", f"ckpt={ckpt}", run_dir=tmp_path / "export")
    assert exported.code == 0, exported.err
    assert (exported.run_dir / "export" / "cnn" / "1" / "saved_model.pb").exists()


def test_lr_schedule_and_plateau_are_applied(run_cli) -> None:
    result = run_cli("model=mlp", "dataset=synthetic", "trainer.epochs=3", "trainer.batch_size=64",
                     "logger.tensorboard=false", "trainer.lr_schedule={boundaries:[0],factors:[1.0,0.1]}")
    assert result.code == 0, result.err
    with (result.run_dir / "history.csv").open() as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    assert rates == pytest.approx([1e-3, 1e-4, 1e-4])


def test_sweep_gives_each_job_its_run_dir(run_cli, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    result = run_cli("-m", "model=mlp", "optimizer=adam,sgd", "dataset=synthetic", *SMOKE, f"hydra.sweep.dir={sweep}")
    assert result.code == 0, result.err
    jobs = [f"dataset=synthetic,debug=smoke,logger.tensorboard=False,model=mlp,optimizer={o}" for o in ("adam", "sgd")]
    for job in jobs:
        assert (sweep / job / "metrics.json").exists()
    index = (sweep / "jobs.md").read_text().splitlines()
    assert index[2:4] == ["| job | overrides | status | main metric | value |", "|---|---|---|---|---|"]
    assert index[4].startswith(f"| [{jobs[0]}]({jobs[0]}/) | `model=mlp optimizer=adam dataset=synthetic")
    assert "| completed | best_val_accuracy |" in index[4]
    assert index[5].startswith(f"| [{jobs[1]}]({jobs[1]}/) | `model=mlp optimizer=sgd")
    with (sweep / "jobs.csv").open() as f:
        assert [row["status"] for row in csv.DictReader(f)] == ["completed", "completed"]
    # every multirun ends with its results: one row per configuration, mean over its seeds
    assert "| `optimizer=adam` | 1 |" in (sweep / "results.md").read_text() and "| `optimizer=adam` | 1 |" in result.out


def test_rerunning_a_completed_run_changes_nothing(run_cli) -> None:
    args = ("model=mlp", "dataset=synthetic", *SMOKE)
    first = run_cli(*args)
    assert first.code == 0, first.err
    before = (first.run_dir / "metrics.json").read_text()
    again = run_cli(*args)
    assert again.code == 0, again.err
    assert (again.run_dir / "metrics.json").read_text() == before


def test_every_run_ends_with_a_readable_summary_also_in_summary_md(run_cli) -> None:
    result = run_cli("model=mlp", "dataset=synthetic", *SMOKE)
    assert result.code == 0, result.err
    block = result.out[result.out.index("## train mlp on synthetic: completed in "):]
    assert "| metric | value |" in block and "| test_accuracy | " in block and "| best_val_accuracy | " in block
    assert "Files: accuracy.png, loss.png, checkpoints/best.keras" in block and f"Run dir: {result.run_dir}" in block
    markdown = (result.run_dir / "summary.md").read_text()
    assert markdown.startswith("## train mlp on synthetic: completed in ") and "|---|---|" in markdown
    assert "metrics: {" not in result.out + result.err  # the old one-line dict is gone
