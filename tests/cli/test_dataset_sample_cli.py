"""`run task=sample` with no checkpoint samples the dataset itself (the book's MNIST sampler,
Listing 1.3.1): label counts per split and a grid of random training images."""

from __future__ import annotations

import numpy as np
from PIL import Image

from adl_runner.runner.tasks.dataset_sample import label_counts


def test_label_counts_of_ids_and_one_hot_and_none_for_non_classes() -> None:
    ids = np.array([0, 2, 2, 1, 2])
    assert label_counts(ids, 3) == {"0": 1, "1": 1, "2": 3}
    assert label_counts(np.eye(3, dtype=np.float32)[ids], 3) == {"0": 1, "1": 1, "2": 3}
    assert label_counts(np.zeros((5, 4), np.float32), 3) is None  # boxes, not classes


def test_sample_without_checkpoint_counts_labels_and_draws_a_grid(run_cli) -> None:
    result = run_cli("task=sample", "dataset=synthetic", "sample.n=25", "dataset.train_limit=100")
    assert result.code == 0, result.err
    metrics = result.metrics()
    counts = metrics["label_counts_train"]
    assert sum(counts.values()) == metrics["examples_train"] == 100
    assert len(counts) == len(metrics["class_names"])
    assert sum(metrics["label_counts_test"].values()) == metrics["examples_test"]
    assert Image.open(result.run_dir / "samples.png").size[0] > 100
    assert "train labels: {" in result.err + result.out


def test_sample_without_checkpoint_is_seeded(run_cli, tmp_path) -> None:
    first = run_cli("task=sample", "dataset=synthetic", "sample.n=4", run_dir=tmp_path / "a")
    again = run_cli("task=sample", "dataset=synthetic", "sample.n=4", run_dir=tmp_path / "b")
    other = run_cli("task=sample", "dataset=synthetic", "sample.n=4", "seed=7", run_dir=tmp_path / "c")
    chosen = [r.metrics()["sampled_indices"] for r in (first, again, other)]
    assert chosen[0] == chosen[1] != chosen[2]
    assert len(set(chosen[0])) == 4


def test_the_dataset_samplers_caption_names_no_model(tmp_path) -> None:
    from types import SimpleNamespace

    from adl_runner.runner.schema import Task
    from adl_runner.runner.tasks import figure_caption

    job = SimpleNamespace(env=None, dataset=SimpleNamespace(name="mnist"), model=SimpleNamespace(name="mlp"),
                          task=Task.sample, ckpt=None, run_dir=tmp_path / "runs" / "x")
    assert figure_caption(job) == "mnist, run runs/x"
    job.ckpt = tmp_path
    assert figure_caption(job) == "mlp on mnist, run runs/x"


def test_the_committed_mnist_sampler_record_has_the_books_label_counts() -> None:
    import json
    from pathlib import Path

    record = Path(__file__).parents[2] / "docs/results/runs/mnist_sampler/metrics.json"
    metrics = json.loads(record.read_text())
    book_train = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # spec E1.0, printed by the book
    book_test = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert list(metrics["label_counts_train"].values()) == book_train
    assert list(metrics["label_counts_test"].values()) == book_test
