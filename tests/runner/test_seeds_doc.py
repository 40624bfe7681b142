"""`run-report seeds-doc`: mean ± std per configuration from the run records of repeated seeds, with
each configuration's seeds, per-seed values and targets; the comparison presets' committed pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from adl_runner.runner import report
from adl_runner.runner.cli import CONF_DIR
from adl_runner.runner.reports.seeds_doc import EXPERIMENTS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"
PRESETS = sorted(str(p.relative_to(EXPERIMENTS).with_suffix("")) for p in EXPERIMENTS.rglob("*.yaml")
                 if "comparison" in (yaml.safe_load(p.read_text()) or {}))


def write_record(root: Path, name: str, config: dict[str, Any], metrics: dict[str, Any], argv: list[str] | None = None) -> Path:
    record = root / name
    record.mkdir(parents=True)
    (record / "config.yaml").write_text(yaml.safe_dump(config))
    (record / "metrics.json").write_text(json.dumps({"status": "completed", **metrics}))
    (record / "run.json").write_text(json.dumps({"argv": argv or ["run", "-m", "seed=1,2,3", "hydra.sweep.dir=/x"],
                                                 "git_commit": "abc123"}))
    return record


def gan_config(name: str, seed: int, comparison: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"seed": seed, "paths": {"data_dir": f"/machine{seed}"}, "model": {"name": name, "latent_dim": 100},
            "trainer": {"steps": 3000}, "comparison": comparison, "table": None}


def page_of(tmp_path: Path, *argv: str) -> str:
    assert report.main(["seeds-doc", *argv, "--docs", str(tmp_path)]) == 0
    return (tmp_path / f"{Path(argv[0]).name}.md").read_text()


def test_records_are_grouped_by_their_config_but_seed_with_per_seed_values_targets_and_claims(tmp_path: Path) -> None:
    comparison = {"title": "LSGAN against DCGAN", "source": "the book", "label": ["model.name"], "metrics": ["fid", "best_fid"],
                  "targets": [{"when": "model.name=lsgan", "target": "fid<=20"}],
                  "claims": [{"metric": "fid", "lower": "model.name=lsgan", "than": "model.name=dcgan"},
                             {"metric": "best_fid", "higher": "model.name=lsgan", "than": "model.name=dcgan"}]}
    records = tmp_path / "runs" / "pair"
    fids = {("dcgan", 2): 30.0, ("dcgan", 1): 20.0, ("lsgan", 1): 12.0, ("lsgan", 3): 16.0}
    for (name, seed), fid in fids.items():  # seed 2 first: the page orders by seed
        write_record(records, f"model={name},seed={seed}", gan_config(name, seed, comparison), {"fid": fid, "best_fid": fid - 2})
    (records / "model=lsgan,seed=9").mkdir()  # a job that never wrote anything: no record
    write_record(records, "model=lsgan,seed=4", gan_config("lsgan", 4, comparison), {"status": "failed"})
    page = page_of(tmp_path, str(records))
    assert page.startswith("# LSGAN against DCGAN\n")
    assert "[runs/pair/](runs/pair/)" in page and "Source: the book" in page
    assert "Command: `run -m seed=1,2,3`\nCommit: `abc123`" in page
    assert "| configuration | seeds | fid mean ± std | fid per seed | best_fid mean ± std | best_fid per seed | targets |" in page
    assert "| `model.name=dcgan` | 1, 2 | 25 ± 7.071 | 20 / 30 | 23 ± 7.071 | 18 / 28 | - |" in page
    assert "| `model.name=lsgan` | 1, 3 | 14 ± 2.828 | 12 / 16 | 12 ± 2.828 | 10 / 14 | fid <= 20: met |" in page
    assert "- mean fid of `model.name=lsgan` below that of `model.name=dcgan`: met (14 against 25)" in page
    assert "- mean best_fid of `model.name=lsgan` above that of `model.name=dcgan`: not met (12 against 23)" in page
    assert "Not completed (1): `model=lsgan,seed=4` (failed)" in page


def test_a_comparisons_figures_are_shown_for_each_completed_record_that_kept_them(tmp_path: Path) -> None:
    comparison = {"label": ["model.name"], "metrics": ["fid"], "figures": {"samples.png": "samples"}}
    records = tmp_path / "runs" / "pair"
    for name, seed, kept in [("lsgan", 2, True), ("lsgan", 1, True), ("dcgan", 1, False)]:
        record = write_record(records, f"model={name},seed={seed}", gan_config(name, seed, comparison), {"fid": 20.0})
        if kept:
            (record / "samples.png").write_bytes(b"png")
    failed = write_record(records, "model=dcgan,seed=2", gan_config("dcgan", 2, comparison), {"status": "failed"})
    (failed / "samples.png").write_bytes(b"png")
    page = page_of(tmp_path, str(records))
    assert page.split("## Figures\n\n", 1)[1].split("\n\nNot completed")[0] == (
        "![`model.name=lsgan`, seed 1: samples](runs/pair/model=lsgan,seed=1/samples.png)\n\n"
        "![`model.name=lsgan`, seed 2: samples](runs/pair/model=lsgan,seed=2/samples.png)")


def test_records_that_carry_no_figures_get_those_of_the_preset_they_name(tmp_path: Path) -> None:
    comparison = {"preset": "gan/batchnorm_d", "label": ["model.name"], "metrics": ["fid"]}
    record = write_record(tmp_path / "runs" / "old", "model=wgan,seed=1", gan_config("wgan", 1, comparison), {"fid": 40.0})
    (record / "samples.png").write_bytes(b"png")
    assert "![`model.name=wgan`, seed 1: samples after the last step (fixed noise)](runs/old/model=wgan,seed=1/samples.png)" in page_of(
        tmp_path, str(tmp_path / "runs" / "old"))


def test_without_a_label_a_configuration_is_named_by_the_keys_that_differ(tmp_path: Path) -> None:
    records = tmp_path / "runs" / "sweep"
    for i, (batch_norm, seed) in enumerate([(False, 1), (True, 1), (True, 2)]):
        config = {**gan_config("dcgan", seed), "model": {"name": "dcgan", "discriminator_batch_norm": batch_norm}}
        write_record(records, str(i), config, {"test_d_loss": 0.5 + i, "best_fid": 9.0})
    page = page_of(tmp_path, str(records), "--metrics", "test_d_loss", "--target", "test_d_loss<1")
    assert "| `model.discriminator_batch_norm=false` | 1 | 0.5 | 0.5 | test_d_loss < 1: met |" in page
    assert "| `model.discriminator_batch_norm=true` | 1, 2 | 2 ± 0.7071 | 1.5 / 2.5 | test_d_loss < 1: not met |" in page


def _config(*overrides: str) -> dict[str, Any]:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True, enum_to_str=True)


def test_a_book_row_is_held_to_the_books_value_less_the_tolerance(tmp_path: Path) -> None:
    """Single runs of Table 1.4.1's Adam row (`run model=cnn seed=N`) and a job of a table sweep (its `table.row`)."""
    records = tmp_path / "runs" / "cnn"
    for seed, accuracy in ((1, 0.9915), (2, 0.9925)):
        write_record(records, f"seed{seed}", _config("model=cnn", f"seed={seed}"), {"test_accuracy": accuracy},
                     ["run", "model=cnn", f"seed={seed}", "hydra.run.dir=/x"])
    page = page_of(tmp_path, str(records), "--metrics", "test_accuracy")
    assert "test_accuracy >= 0.988 (the book's 0.994, Table 1.4.1, less 0.6 points): met |" in page
    assert "Commands: `run model=cnn seed=1`; `run model=cnn seed=2`" in page
    assert "test_accuracy >= 0.993 (the book's 0.994, Table 1.4.1, less 0.1 points): not met" in page_of(
        tmp_path, str(records), "--metrics", "test_accuracy", "--tolerance", "0.1")

    sweep = tmp_path / "runs" / "chapter1"
    row = ["model=rnn"]
    write_record(sweep, "seed=1,table.row=3", _config("experiment=seeds/chapter1", *row, "seed=1", "table.row=3"),
                 {"test_accuracy": 0.975, "train_eval_accuracy": 0.99}, ["run", "-m", "experiment=seeds/chapter1"])
    page = page_of(tmp_path, str(sweep))
    assert page.startswith("# Chapter 1: the MLP, CNN and SimpleRNN over seeds 1-5\n")
    assert "To run: `run -m experiment=seeds/chapter1`, then `make record-set SWEEP=<its sweep dir> SET=chapter1_seeds`" in page
    assert ("| `SimpleRNN / Listing 1.5.1: 256, Dropout(0.2), SGD` | 1 | 0.975 | 0.975 | 0.99 | 0.99 | test_accuracy >= 0.976: "
            "not met; test_accuracy >= 0.974 (the book's 0.98, less 0.6 points): met; "
            "train_eval_accuracy >= 0.9666 (the book's 0.9726, less 0.6 points): met |") in page


def test_a_target_may_name_a_per_seed_statistic_where_a_seed_without_the_metric_counts_as_the_worst(tmp_path: Path) -> None:
    comparison = {"label": ["model.name"], "metrics": ["episodes_to_solve"],
                  "targets": ["median(episodes_to_solve)<=1500", "max(episodes_to_solve)<=3000", "min(eval_mean_return)>=150"]}
    records = tmp_path / "runs" / "dqn"
    solved = {("dqn", 0): 700, ("dqn", 1): 1600, ("dqn", 2): 900, ("ddqn", 0): 1200, ("ddqn", 1): None, ("ddqn", 2): None}
    for (name, seed), episodes in solved.items():
        config = {"seed": seed, "model": {"name": name}, "comparison": comparison}
        write_record(records, f"model={name},seed={seed}", config, {"episodes_to_solve": episodes, "eval_mean_return": 200.0})
    page = page_of(tmp_path, str(records))
    assert ("| `model.name=dqn` | 0, 1, 2 | 1067 ± 472.6 | 700 / 1600 / 900 | median(episodes_to_solve) <= 1500: met (median 900); "
            "max(episodes_to_solve) <= 3000: met (max 1600); min(eval_mean_return) >= 150: met (min 200) |") in page
    # two of three DDQN seeds never solved: they count as worse than any bound, so the median is none too
    assert ("| `model.name=ddqn` | 0, 1, 2 | 1200 | 1200 / — / — | median(episodes_to_solve) <= 1500: not met (median none); "
            "max(episodes_to_solve) <= 3000: not met (max none);") in page
    assert "unless it names another statistic over the seeds" in page


@pytest.mark.parametrize("argv, fragments", [
    (["--target", "fid=<3"], ("--target: bad target 'fid=<3'", "metric>=value")),
    (["--target", "mode(fid)<=3"], ("--target: bad target 'mode(fid)<=3'", "median/max/min(metric)<=value")),
    ([], ("no run records under", "--preset")),
    (["--preset", "gan/nope"], ("no such preset: gan/nope", "gan/lsgan_vs_dcgan, rl/dqn_cartpole, rl/policy_gradients, seeds/chapter1")),
])
def test_a_bad_command_is_one_error_line(argv: list[str], fragments: tuple[str, ...], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    records = tmp_path / "runs" / "x"
    if argv[:1] == ["--target"]:
        write_record(records, "0", gan_config("dcgan", 1), {"fid": 3.0})
    assert report.main(["seeds-doc", str(records), *argv, "--docs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(f in err for f in fragments), err


@pytest.mark.parametrize("preset", PRESETS)
def test_each_presets_committed_page_is_what_its_records_generate(preset: str, tmp_path: Path) -> None:
    """Records or none yet (then the page says what to run), the committed page is generated."""
    page = yaml.safe_load((EXPERIMENTS / f"{preset}.yaml").read_text())["comparison"]["page"]
    generated = page_of(tmp_path, str(DOCS / "runs" / page), "--preset", preset)
    assert generated == (DOCS / f"{page}.md").read_text()
    assert f"`run -m experiment={preset}`" in generated


@pytest.mark.slow  # two MLP jobs through `run`: about 16 s on the shared machine
def test_a_two_seed_sweeps_records_give_its_seeds_and_values(run_cli, tmp_path: Path) -> None:
    sweep, records = tmp_path / "sweep", tmp_path / "runs" / "mlp_seeds"
    result = run_cli("-m", "model=mlp", "debug=smoke", "seed=1,2", "logger.tensorboard=false", f"hydra.sweep.dir={sweep}")
    assert result.code == 0, result.err
    jobs = sorted(d for d in sweep.iterdir() if (d / "metrics.json").is_file())
    assert len(jobs) == 2
    for job in jobs:  # what `make record-set` copies: no .hydra/
        (records / job.name).mkdir(parents=True)
        for name in ("config.yaml", "metrics.json", "history.csv", "run.json"):
            shutil.copy(job / name, records / job.name / name)
    values = [json.loads((job / "metrics.json").read_text())["test_accuracy"] for job in jobs]
    page = page_of(tmp_path, str(records), "--metrics", "test_accuracy", "--target", "test_accuracy>=0")
    assert "| `model=mlp debug=smoke logger.tensorboard=false` | 1, 2 | " in page
    assert f"| {values[0]:.4g} / {values[1]:.4g} | test_accuracy >= 0: met |" in page
    assert "Command: `run -m model=mlp debug=smoke seed=1,2 logger.tensorboard=false`" in page
