"""Book tables: the report (runner.report), the book_table sweeper and the table configs.

Fast: fake sweep dirs in tmp_path stand in for trained runs; one test drives a real Hydra multirun
of a stub app (no TensorFlow) through the sweeper and the end-of-sweep callback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from adl_runner.runner import report
from adl_runner.runner.report import ReportError
from hydra_plugins.adl_runner.book_table_sweeper import (
    BookTableError,
    BookTableSweeper,
    chunk,
    expand_jobs,
    shadowed_keys,
    table_rows,
)

REPO = Path(__file__).resolve().parents[2]
BOOK = REPO / "conf" / "experiment" / "book"
TABLES = sorted(BOOK.glob("*.yaml"))


# ---------------------------------------------------------------------------------------------
# helpers


def table_node(name: str) -> Any:
    return OmegaConf.load(BOOK / f"{name}.yaml").table


def make_sweep(
    tmp_path: Path,
    name: str,
    results: dict[int, list[dict[str, Any]]],
    *,
    task: list[str] | None = None,
) -> Path:
    """A sweep dir as Hydra + the runner leave it: multirun.yaml and one dir per job.

    `results` maps row index -> metrics of each job of that row ({} = a job that never finished).
    """
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    exp = OmegaConf.load(BOOK / f"{name}.yaml")
    multirun = OmegaConf.create(
        {
            "table": exp.table,
            "hydra": {
                "sweep": {"dir": "${now:%Y}/x"},  # an unresolvable-outside-Hydra interpolation
                "overrides": {"task": task if task is not None else [f"experiment=book/{name}"]},
            },
        }
    )
    OmegaConf.save(multirun, sweep / "multirun.yaml")
    job = 0
    for row, runs in results.items():
        for metrics in runs:
            d = sweep / str(job)
            d.mkdir()
            cfg = OmegaConf.create({"table": exp.table, "seed": job})
            cfg.table.row = row
            OmegaConf.save(cfg, d / "config.yaml")
            if metrics:
                (d / "metrics.json").write_text(json.dumps(metrics))
            job += 1
    return sweep


def metrics(test: float, train: float = 0.99, **extra: Any) -> dict[str, Any]:
    base = {
        "test_accuracy": test,
        "test_loss": 0.1,
        "train_accuracy": train,
        "train_eval_accuracy": train,
        "best_val_accuracy": test,
        "params": 1,
        "epochs_completed": 20,
        "wall_time_s": 1.0,
        "seed": 0,
        "status": "completed",
    }
    return {**base, **extra}


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def md_row(md: str, starts: str) -> list[str]:
    """The cells of the first Markdown table line that starts with `starts`."""
    line = next(x for x in md.splitlines() if x.startswith(f"| {starts}"))
    return [c.strip() for c in line.strip("|").split("|")]


# ---------------------------------------------------------------------------------------------
# the table configs


@pytest.mark.parametrize("path", TABLES, ids=[p.stem for p in TABLES])
def test_table_config_is_complete(path: Path) -> None:
    cfg = OmegaConf.load(path)
    spec = report.validate_spec(cfg.table)  # every row: a label per column, a book value per metric
    assert spec["row"] is None
    assert spec["id"] and spec["title"] and spec["source"]
    assert "override /hydra/sweeper" in str(OmegaConf.to_container(cfg)["defaults"])
    assert cfg.hydra.callbacks.book_table._target_ == "adl_runner.runner.report.BookTableCallback"
    for row in spec["rows"]:
        assert row["overrides"], "a row must set its config"
        for m in spec["metrics"]:
            value = row["book"][m["book"]]
            assert isinstance(value, float) or value is None, value  # None: a row the book never ran
    # the sweeper accepts every row (parses, no sweeps)
    assert len(table_rows(cfg)) == len(spec["rows"])


def test_table_configs_cover_the_book() -> None:
    counts = {p.stem: len(OmegaConf.load(p).table.rows) for p in TABLES}
    assert counts == {
        "table_1_3_3": 18,
        "table_1_4_1": 4,
        "table_1_5_1": 4,
        "table_2_2_2": 5,
        "table_2_3_1": 2,
        "densenet": 1,
        "table_9_5_1": 3,
        "table_11_13_1": 5,
        "table_13_6_1": 5,
    }
    t11 = table_node("table_11_13_1")
    assert t11.rows[0].book == {"miou": 0.64, "precision": 0.87, "recall": 0.87, "map50": None, "map": None}
    t133 = table_node("table_1_3_3")
    assert t133.rows[0].book == {"train": 93.65, "test": 92.5}
    assert t133.rows[15].book == {"train": 99.39, "test": 98.5}
    # every MLP row determines all five knobs
    for row in t133.rows:
        keys = {o.split("=")[0] for o in row.overrides}
        assert keys == {"model.hidden_units", "model.activation", "model.dropout", "model.l2", "optimizer"}
    # the v2 erratum: n = 6 and 12, not the book table's 9 and 18
    t231 = table_node("table_2_3_1")
    assert [r.labels.n for r in t231.rows] == [6, 12]
    assert ["model.n=6" in r.overrides for r in t231.rows] == [True, False]
    assert t231.rows[0].book.paper is None
    assert table_node("densenet").rows[0].book == {"this_book": 93.74, "paper": 95.49}


# ---------------------------------------------------------------------------------------------
# the report


def test_report_values_diffs_and_missing(tmp_path: Path) -> None:
    sweep = make_sweep(
        tmp_path,
        "table_1_3_3",
        {0: [metrics(0.9251, train=0.9370)], 2: [metrics(0.950, train=0.9690)], 3: [{}]},
    )
    rep = report.write_table(sweep)
    md = (sweep / "table.md").read_text()
    assert md == rep.markdown
    assert md.startswith("# Table 1.3.3: Different MLP network configurations")
    assert "Command: `run -m experiment=book/table_1_3_3`" in md
    # row 0: train 93.70 vs 93.65 (+0.05), test 92.5 vs 92.5 (diff of the shown values: 0.0)
    assert md_row(md, "256-256-256 | None | SGD | None") == [
        "256-256-256", "None", "SGD", "None", "93.65", "93.70", "+0.05", "92.5", "92.5", "0.0",
        "93.65", "93.70", "+0.05",
    ]
    # row 2: test 95.0 vs 96.7 -> -1.7, flagged
    assert md_row(md, "256-256-256 | L2(0.01)")[7:10] == ["96.7", "95.0", "**-1.7**"]
    assert "Differences beyond ±0.6 points (1):" in md
    assert "- row 2: 256-256-256 / L2(0.01) / SGD / Yes: Test acc (%) -1.7" in md
    # 16 rows never ran; row 3 had a job without metrics.json: missing as well
    assert "Missing rows (16 of 18, no finished run):" in md
    assert "- row 3: 256-256-256 / None / SGD / Yes" in md
    assert md_row(md, "128-128-128")[4:] == ["98.70", "—", "—", "97.7", "—", "—", "98.70", "—", "—"]
    assert "Runs" not in md  # single runs: no mean ± std column
    rows = read_csv(sweep / "table.csv")
    assert len(rows) == 18
    assert rows[0]["layers"] == "256-256-256" and rows[0]["relu"] == "None"
    assert (rows[0]["train_accuracy_book"], rows[0]["train_accuracy"], rows[0]["train_accuracy_diff"]) == (
        "93.65", "93.70", "0.05",  # plain numbers in the CSV
    )
    assert rows[2]["test_accuracy_diff"] == "-1.7"
    assert rows[5]["test_accuracy"] == "" and rows[5]["runs"] == "0"
    assert not list(sweep.glob("*.tmp")) and not list(sweep.glob(".*.tmp"))


def test_report_extras_show_every_head_beside_the_books_best_head(tmp_path: Path) -> None:
    def heads(*accuracies: float) -> dict[str, Any]:
        mean = sum(accuracies) / len(accuracies)
        std = (sum((a - mean) ** 2 for a in accuracies) / len(accuracies)) ** 0.5
        return metrics(0.0, accuracy=max(accuracies), accuracy_per_head=list(accuracies), accuracy_mean=mean, accuracy_std=std)

    sweep = make_sweep(tmp_path, "table_13_6_1", {0: [heads(0.9612)], 2: [heads(0.99, 0.50, 0.98), heads(0.98, 0.52, 0.99)]})
    md = report.write_table(sweep).markdown
    assert md.startswith("# Table 13.6.1: IIC on MNIST, accuracy for different numbers of heads")
    header = md_row(md, "Heads")
    assert header == ["Heads", "Best head, % book", "Best head, % measured", "Diff", "Every head, %", "Mean over heads, %",
                      "Std over heads, %", "Runs"]
    assert md_row(md, "1 |") == ["1", "99.49", "96.12", "**-3.37**", "96.12", "96.12", "0.00", "1"]
    # two runs of 3 heads: the best head's mean and std over runs; every head entry by entry (a stuck head shows)
    assert md_row(md, "3 |") == ["3", "99.54", "99.00 ± 0.00", "-0.54", "98.50 / 51.00 / 98.50", "82.67", "22.40", "2"]
    assert md_row(md, "5 |")[4:7] == ["—", "—", "—"]
    rows = read_csv(sweep / "table.csv")
    assert rows[2]["accuracy_per_head"] == "98.50 / 51.00 / 98.50" and rows[4]["accuracy_per_head"] == "—"


def test_report_mean_std_for_repeated_rows(tmp_path: Path) -> None:
    runs = {i: [metrics(0.99)] for i in range(4)}
    runs[2] = [metrics(0.990, train=0.997), metrics(0.994, train=0.998), metrics(0.998, train=0.999)]
    sweep = make_sweep(tmp_path, "table_1_4_1", runs)
    md = report.write_table(sweep).markdown
    cells = md_row(md, "64-64-64 | Adam | Dropout(0.2)")
    # mean 99.40, sample std 0.40 over 3 seeds; train mean 99.80 ± 0.10
    assert cells == ["64-64-64", "Adam", "Dropout(0.2)", "99.75", "99.80 ± 0.10", "+0.05",
                     "99.40", "99.40 ± 0.40", "0.00", "99.75", "99.80 ± 0.10", "+0.05", "3"]
    assert "Runs |" in md and "mean ± sample standard deviation" in md
    row = read_csv(sweep / "table.csv")[2]
    assert (row["test_accuracy"], row["test_accuracy_std"], row["runs"]) == ("99.40", "0.40", "3")
    assert read_csv(sweep / "table.csv")[0]["test_accuracy_std"] == ""


def test_report_tolerance_and_references(tmp_path: Path) -> None:
    sweep = make_sweep(tmp_path, "table_2_3_1", {0: [metrics(0.9221, best_val_accuracy=0.9301)]})
    md = report.write_table(sweep, tolerance=1.0).markdown
    # paper NA for ResNet56 v2; test 92.21 vs 93.01 (-0.80 within 1.0), best val exact
    assert md_row(md, "ResNet56") == ["ResNet56", "6", "NA", "93.01", "92.21", "-0.80", "93.01", "93.01", "0.00"]
    assert "All differences are within ±1 points." in md
    assert "n is corrected to 6 and 12" in md
    md = report.write_table(sweep, tolerance=0.5).markdown
    assert "**-0.80**" in md and "Differences beyond ±0.5 points (1):" in md
    assert read_csv(sweep / "table.csv")[1]["paper_book"] == "93.63"


def test_report_skips_failed_and_foreign_runs(tmp_path: Path) -> None:
    sweep = make_sweep(
        tmp_path, "table_1_5_1", {0: [metrics(0.98), metrics(0.5, status="failed")], 1: [metrics(0.5, status="failed")]}
    )
    other = sweep / "99"
    other.mkdir()
    cfg = OmegaConf.create({"table": table_node("table_1_4_1")})
    cfg.table.row = 0
    OmegaConf.save(cfg, other / "config.yaml")
    (other / "metrics.json").write_text(json.dumps(metrics(0.1)))
    md = report.write_table(sweep).markdown
    assert md_row(md, "256 | SGD")[6:9] == ["98.00", "98.00", "0.00"]  # the failed seed is not averaged in
    assert "- row 1: 256 / RMSprop / Dropout(0.2) (runs with status failed)" in md
    assert "Skipped run dirs (1): 99: belongs to table 1.4.1" in md


def test_run_report_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = make_sweep(tmp_path, "densenet", {0: [metrics(0.9374)]}, task=["experiment=book/densenet", "seed=1,2"])
    assert report.main([str(sweep)]) == 0
    out = capsys.readouterr().out
    assert out == (sweep / "table.md").read_text()
    assert out.startswith("# DenseNet-BC result (section 2.4): DenseNet-BC-100")
    assert "Command: `run -m experiment=book/densenet seed=1,2`" in out
    # --table takes a packaged name or a file; the sweep's own multirun.yaml is not needed then
    (sweep / "multirun.yaml").unlink()
    assert report.main([str(sweep), "--table", "book/densenet", "--tolerance", "0.1"]) == 0
    assert report.main([str(sweep), "--table", str(BOOK / "densenet.yaml")]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    "setup, args, message",
    [
        ("none", ["{tmp}/nope"], "error: no such sweep dir: "),
        ("empty", ["{tmp}/sweep"], "error: "),  # no multirun.yaml
        ("no_table", ["{tmp}/sweep"], "holds no jobs"),
        ("no_runs", ["{tmp}/sweep"], "error: no finished runs of table 1.3.3 in "),
        ("no_runs", ["{tmp}/sweep", "--table", "book/nonexistent"], "error: no such table config: book/nonexistent"),
    ],
)
def test_run_report_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, args: list[str], message: str
) -> None:
    if setup == "empty":
        (tmp_path / "sweep").mkdir()
    elif setup == "no_table":
        (tmp_path / "sweep").mkdir()
        OmegaConf.save(OmegaConf.create({"hydra": {"x": 1}}), tmp_path / "sweep" / "multirun.yaml")
    elif setup == "no_runs":
        make_sweep(tmp_path, "table_1_3_3", {0: [{}]})
    code = report.main([a.format(tmp=tmp_path) for a in args])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith("error: ") and message in captured.err
    assert captured.err.count("\n") == 1


def _table_md(tmp_path: Path, name: str, results: dict[int, list[dict[str, Any]]]) -> str:
    folder = tmp_path / name
    folder.mkdir()
    return report.write_table(make_sweep(folder, name, results)).markdown


def test_targets_are_judged_on_the_unrounded_best_of_their_rows(tmp_path: Path) -> None:
    # row 15 is the target's (Dropout 0.45, Adam): 98.17 shows as 98.2 in the one-decimal column, yet is below 98.2
    md = _table_md(tmp_path, "table_1_3_3", {15: [metrics(0.9817)], 16: [metrics(0.99)]})
    assert md_row(md, "256-256-256 | Dropout(0.45) | Adam")[7:9] == ["98.5", "98.2"]
    assert "- best MLP row (Dropout 0.45, Adam), Test acc (%) >= 98.2: **not met** (98.17, row 15: " in md
    met = _table_md(tmp_path, "table_1_4_1", {2: [metrics(0.9925)]})
    assert ("- best CNN row (Adam, Dropout 0.2), Test acc (%) >= 99.2: **met** (99.25, row 2: 64-64-64 / Adam / "
            "Dropout(0.2))") in met
    unmeasured = _table_md(tmp_path, "table_1_5_1", {1: [metrics(0.99)]})
    assert "- SimpleRNN 256 / SGD, Test acc (%) >= 97.6: not measured (no finished run)" in unmeasured


@pytest.mark.parametrize(("target", "message"), [
    ({"label": "x", "metric": "nope", "min": 1}, r"targets\[0\] needs `label` and `metric` \(one of train_accuracy"),
    ({"label": "x", "metric": "test_accuracy", "min": "high"}, r"targets\[0\]: `min` must be a number"),
    ({"label": "x", "metric": "test_accuracy", "min": 99, "rows": [4]}, r"targets\[0\]: `rows` must list row indices in 0..3"),
])
def test_a_bad_target_is_named(target: dict[str, Any], message: str) -> None:
    spec = OmegaConf.to_container(table_node("table_1_4_1"))
    spec["targets"] = [target]
    with pytest.raises(ReportError, match=message):
        report.validate_spec(spec)


def test_validate_spec_names_the_gap() -> None:
    spec = OmegaConf.to_container(table_node("table_1_4_1"))
    del spec["rows"][1]["labels"]["optimizer"]
    with pytest.raises(ReportError, match=r"rows\[1\] lacks optimizer"):
        report.validate_spec(spec)


def test_callback_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = make_sweep(tmp_path, "table_1_4_1", {0: [metrics(0.985)]})
    config = OmegaConf.create({"table": table_node("table_1_4_1"), "hydra": {"sweep": {"dir": str(sweep)}}})
    report.BookTableCallback(tolerance=0.6).on_multirun_end(config=config)
    assert "| 64-64-64 | SGD | Dropout(0.2) |" in capsys.readouterr().out
    assert (sweep / "table.csv").is_file()
    # nothing finished: one error line, no exception (the multirun itself already ended)
    empty = tmp_path / "empty"
    empty.mkdir()
    config.hydra.sweep.dir = str(empty)
    report.BookTableCallback().on_multirun_end(config=config)
    assert capsys.readouterr().err.startswith("error: no finished runs")


# ---------------------------------------------------------------------------------------------
# the sweeper


def test_expand_jobs_crosses_combinations_with_rows() -> None:
    combos = [["experiment=book/t", "seed=1"], ["experiment=book/t", "seed=2"]]
    rows = [["model.dropout=0.2", "optimizer=sgd"], ["model.dropout=0.4", "optimizer=adam"]]
    assert expand_jobs(combos, rows) == [
        ["experiment=book/t", "seed=1", "model.dropout=0.2", "optimizer=sgd", "table.row=0"],
        ["experiment=book/t", "seed=1", "model.dropout=0.4", "optimizer=adam", "table.row=1"],
        ["experiment=book/t", "seed=2", "model.dropout=0.2", "optimizer=sgd", "table.row=0"],
        ["experiment=book/t", "seed=2", "model.dropout=0.4", "optimizer=adam", "table.row=1"],
    ]
    assert expand_jobs([], rows)[1] == ["model.dropout=0.4", "optimizer=adam", "table.row=1"]
    assert shadowed_keys(combos + [["optimizer=rmsprop"]], rows) == ["optimizer"]
    assert chunk(list(map(list, "abcde")), 2) == [[["a"], ["b"]], [["c"], ["d"]], [["e"]]]
    assert chunk([["a"]], None) == [[["a"]]]


def test_sweeper_job_lists_from_cli_overrides() -> None:
    """The sweeper's hook into BasicSweeper: parsed CLI overrides in, batches of jobs out."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    config = OmegaConf.create({"table": OmegaConf.to_container(table_node("table_1_5_1"))})
    sweeper = BookTableSweeper(max_batch_size=3)
    sweeper.rows = table_rows(config)
    sweeper.config = config
    parsed = OverridesParser.create().parse_overrides(["experiment=book/table_1_5_1", "seed=1,2"])
    batches = sweeper.split_arguments(parsed, sweeper.max_batch_size)
    jobs = [job for batch in batches for job in batch]
    assert [len(b) for b in batches] == [3, 3, 2]
    assert jobs[0] == [
        "experiment=book/table_1_5_1", "seed=1",
        "model.cell=simple", "model.units=256", "model.dropout=0.2", "optimizer=sgd", "table.row=0",
    ]
    assert jobs[7][:2] == ["experiment=book/table_1_5_1", "seed=2"] and jobs[7][-1] == "table.row=3"
    assert "model.units=512" in jobs[7]


def test_sweeper_refuses_a_sweep_over_tables() -> None:
    # (Reached only when the primary config already picks book_table: otherwise the master config,
    # composed without sweep overrides, has no table and Hydra's BasicSweeper runs instead.)
    with pytest.raises(BookTableError, match="sweeps over tables; run one table per multirun"):
        BookTableSweeper().sweep(["experiment=book/table_1_4_1,book/table_1_5_1"])


@pytest.mark.parametrize(
    "table, message",
    [
        (None, "has no table rows"),
        ({"rows": []}, "has no table rows"),
        ({"rows": [{"labels": {}}]}, r"table.rows\[0\].overrides must be a list"),
        ({"rows": [{"overrides": ["seed=1,2"]}]}, "is a sweep; a row is one job"),
        ({"rows": [{"overrides": ["model.x=[1,"]}]}, r"table.rows\[0\] has a bad override"),
    ],
)
def test_sweeper_rejects_bad_tables(table: Any, message: str) -> None:
    with pytest.raises(BookTableError, match=message) as info:
        table_rows(OmegaConf.create({"table": table}))
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# a real Hydra multirun through the sweeper and the callback (a stub task, no TensorFlow)

STUB_APP = """
import json, os
import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    out = HydraConfig.get().runtime.output_dir
    if str(cfg.table.row) == os.environ.get("FAIL_ROW"):
        raise RuntimeError("this row fails")
    OmegaConf.save(cfg, os.path.join(out, "config.yaml"), resolve=True)
    # a fake result: test accuracy = 0.9 + dropout / 10 (so rows differ), train = 0.99
    acc = 0.9 + cfg.model.dropout / 10
    json.dump({"test_accuracy": acc, "train_accuracy": 0.99, "status": "completed",
               "optimizer": cfg.optimizer.name, "seed": cfg.seed}, open(os.path.join(out, "metrics.json"), "w"))

main()
"""


def test_hydra_multirun_through_sweeper_and_callback(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    for group, names in {"model": ["mlp", "cnn"], "dataset": ["mnist"], "optimizer": ["adam", "sgd", "rmsprop"]}.items():
        (conf / group).mkdir(parents=True)
        for n in names:
            (conf / group / f"{n}.yaml").write_text(f"name: {n}\n")
    (conf / "model" / "cnn.yaml").write_text("name: cnn\nfilters: [32]\ndropout: 0.1\n")
    (conf / "config.yaml").write_text(
        textwrap.dedent(
            """
            defaults:
              - _self_  # before the experiment, or `table: null` here would clobber the table
              - model: mlp
              - dataset: mnist
              - optimizer: adam
              - optional experiment: null
            seed: 0
            table: null
            """
        )
    )
    (conf / "experiment").mkdir()
    (conf / "experiment" / "book").symlink_to(BOOK)
    (tmp_path / "app.py").write_text(STUB_APP)
    sweep = tmp_path / "multirun"
    proc = subprocess.run(
        [sys.executable, "app.py", "-m", "experiment=book/table_1_4_1", "seed=1,2", "optimizer=adam",
         f"hydra.sweep.dir={sweep}", "hydra.sweeper.max_batch_size=3"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    job_dirs = [p for p in sweep.iterdir() if p.is_dir()]
    assert len(job_dirs) == 8
    assert proc.stdout.count("Launching 3 jobs locally") == 2 and "Launching 2 jobs locally" in proc.stdout
    # a job's dir is named after its overrides (sorted by key), so the same command finds it again
    job = sweep / "experiment=book+table_1_4_1,optimizer=adam,seed=2,table.row=1"
    overrides = OmegaConf.load(job / ".hydra" / "overrides.yaml")
    assert list(overrides) == [
        "experiment=book/table_1_4_1", "seed=2", "optimizer=adam",
        "model.filters=[64,64,64]", "model.dropout=0.2", "optimizer=rmsprop", "table.row=1",
    ]
    # the row's optimizer wins over the command line's
    assert json.loads((job / "metrics.json").read_text())["optimizer"] == "rmsprop"
    assert OmegaConf.load(job / "config.yaml").table.row == 1
    md = (sweep / "table.md").read_text()
    assert md in proc.stdout  # the callback printed it
    assert "Command: `run -m experiment=book/table_1_4_1 seed=1,2 optimizer=adam" in md
    assert md_row(md, "64-64-64 | Adam | Dropout(0.4)")[6:] == ["99.30", "94.00 ± 0.00", "**-5.30**", "99.64", "—", "—", "2"]
    assert "their row values win" in proc.stdout + proc.stderr

    # a failing row does not stop the sweep: the table lists it as missing, and the same command
    # run again launches only that row (the completed ones are skipped)
    fail_dir = tmp_path / "fail"
    command = [sys.executable, "app.py", "-m", "experiment=book/table_1_4_1", f"hydra.sweep.dir={fail_dir}"]
    failing = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**os.environ, "FAIL_ROW": "2"})
    assert failing.returncode == 0, failing.stderr  # a plain Hydra app; `run` exits with the count
    assert "failed: this row fails" in failing.stdout + failing.stderr
    assert "- row 2: 64-64-64 / Adam / Dropout(0.2)" in (fail_dir / "table.md").read_text()
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert (again.stdout + again.stderr).count("completed, skipped") == 3 and "Launching 1 jobs locally" in again.stdout
    assert "Missing rows" not in (fail_dir / "table.md").read_text()

    # a config without a table: one clear line, nothing runs
    none = subprocess.run(
        [sys.executable, "app.py", "-m", "hydra/sweeper=book_table", f"hydra.sweep.dir={tmp_path / 'none'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert none.returncode == 1
    assert none.stderr.splitlines()[0] == (  # Hydra adds its HYDRA_FULL_ERROR hint below
        "book_table sweeper: the config has no table rows (table.rows is missing or empty); "
        "pick a table with experiment=book/<table>, e.g. experiment=book/table_1_3_3"
    )
