"""The GAN datasets through the real `run` entry point: errors users see, and a one-domain run."""

from __future__ import annotations

from pathlib import Path

import pytest

from adl_runner.data.synthetic import write_mnist_npz, write_svhn

SMOKE = ("debug=smoke", "logger.tensorboard=false")


def test_missing_svhn_names_the_file_and_the_folder(run_cli, tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("RUNNER_DATA_DIR", str(empty))
    result = run_cli("model=cnn", "dataset=svhn", *SMOKE)
    result.assert_error("svhn/train_32x32.mat not found in", str(empty), "dataset.download=true")
    assert not result.run_dir.exists()


def test_corrupt_svhn_fails_its_checksum(run_cli, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "data"
    write_svhn(root, n_train=8, n_test=4)
    monkeypatch.setenv("RUNNER_DATA_DIR", str(root))
    run_cli("model=cnn", "dataset=svhn", *SMOKE, checksums=True).assert_error("checksum mismatch", "train_32x32.mat")


def test_a_classifier_on_a_two_domain_dataset_is_refused(run_cli, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "data"
    write_svhn(root, n_train=8, n_test=4)
    write_mnist_npz(root, n_train=8, n_test=4)
    monkeypatch.setenv("RUNNER_DATA_DIR", str(root))
    run_cli("model=cnn", "dataset=mnist_svhn", *SMOKE).assert_error("two unpaired image domains", "mnist32 or svhn")


@pytest.mark.slow  # about 30 s on 2 cores: two smoke trainings
def test_cnn_trains_on_svhn_and_mnist32(run_cli, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "data"
    write_svhn(root, n_train=64, n_test=32)
    write_mnist_npz(root, n_train=64, n_test=32)
    monkeypatch.setenv("RUNNER_DATA_DIR", str(root))
    for dataset in ("svhn", "mnist32"):
        result = run_cli("model=cnn", f"dataset={dataset}", *SMOKE, run_dir=tmp_path / dataset)
        assert result.code == 0, result.err
        assert result.metrics()["test_accuracy"] is not None
