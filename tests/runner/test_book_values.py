"""A single run that is a row of a book table shows the book's value beside its own numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from adl_runner.runner.cli import CONF_DIR  # also registers the config schema
from adl_runner.runner.reports import book_values as bv


def _config(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True)


@pytest.mark.parametrize("overrides, expected", [
    (["model=cnn"], {"test_accuracy": 0.994, "train_accuracy": 0.9975}),            # Table 1.4.1, Adam / Dropout(0.2)
    (["model=cnn", "optimizer=sgd"], {"test_accuracy": 0.985, "train_accuracy": 0.9776}),
    (["model=cnn", "seed=3", "logger.tensorboard=false"], {"test_accuracy": 0.994, "train_accuracy": 0.9975}),
    (["model=cnn", "trainer.epochs=2"], {}),                                           # not the book's budget
    (["model=cnn", "model.dropout=0.3"], {}),                                          # no row has it
    (["model=mlp"], {}),                                                               # Listing 1.3.2 is in no table
])
def test_a_run_is_a_book_row_only_when_it_ran_that_rows_configuration(overrides, expected) -> None:
    values = bv.book_values(_config(*overrides), overrides)
    assert {key: value.value for key, value in values.items() if key in expected} == pytest.approx(expected)
    assert all(value.table == "1.4.1" for value in values.values())


def test_a_book_table_job_is_its_row() -> None:
    row = ["model.hidden_units=[256,256,256]", "model.activation=none", "model.dropout=0.0", "model.l2=0.0", "optimizer=sgd"]
    overrides = ["experiment=book/table_1_3_3", *row, "table.row=0"]
    values = bv.book_values(_config(*overrides), overrides)
    assert values["test_accuracy"] == bv.BookValue("1.3.3", pytest.approx(0.925))


def test_the_end_summary_puts_the_book_beside_the_measured_value(run_cli, tmp_path: Path, monkeypatch) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "tiny.yaml").write_text(
        "defaults:\n  - override /model: mlp\n  - override /dataset: mnist\n"
        "table:\n  id: T1\n  columns: [c]\n  metrics: [{key: test_accuracy, book: test, scale: 100}]\n"
        "  rows:\n    - labels: {c: x}\n      overrides: [trainer.epochs=1, dataset.train_limit=256, dataset.test_limit=128]\n"
        "      book: {test: 42.0}\n")
    monkeypatch.setattr(bv, "BOOK_TABLES", tables)
    result = run_cli("model=mlp", "trainer.epochs=1", "dataset.train_limit=256", "dataset.test_limit=128",
                     "logger.tensorboard=false")
    assert result.code == 0, result.err
    assert "| test_accuracy |" in (result.run_dir / "summary.md").read_text()
    assert "0.42 (Table T1)" in (result.run_dir / "summary.md").read_text()
    assert "0.42 (Table T1)" in result.out
