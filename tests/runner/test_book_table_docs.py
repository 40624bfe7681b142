"""The docs' book tables (docs/results/table_<id>.md/.csv) come from committed run records:
`run-report <records> --table book/<table> --docs docs/results` reads the small files each job of a
book-table sweep wrote and gives the very table the sweep printed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from adl_runner.runner import report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"
RECORD_FILES = ("config.yaml", "metrics.json", "history.csv", "run.json")
"""What `make records` copies of each job (docs/results/chapter1.md)."""
CHAPTER1 = ("table_1_3_3", "table_1_4_1", "table_1_5_1")
TABLES = sorted({*CHAPTER1, *(p.name for p in (DOCS / "runs").glob("table_*"))})


@pytest.mark.parametrize("table", TABLES)
def test_the_committed_table_is_what_its_records_generate(table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Records or none (then the page holds the book's values alone), the committed files are generated."""
    code = report.main([str(DOCS / "runs" / table), "--table", f"book/{table}", "--docs", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    for suffix in (".md", ".csv"):
        assert (tmp_path / f"{table}{suffix}").read_text() == (DOCS / f"{table}{suffix}").read_text()


@pytest.mark.slow  # four CNN jobs through `run`: about 10 s of CPU (30 s on the shared machine)
def test_a_sweeps_records_give_the_table_the_sweep_printed(run_cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep, records, docs = tmp_path / "sweep", tmp_path / "runs" / "table_1_4_1", tmp_path / "docs"
    result = run_cli("-m", "experiment=book/table_1_4_1", "debug=smoke", "logger.tensorboard=false",
                     f"hydra.sweep.dir={sweep}")
    assert result.code == 0, result.err
    jobs = [d for d in sweep.iterdir() if d.is_dir()]
    assert len(jobs) == 4
    for job in jobs:
        (records / job.name).mkdir(parents=True)
        for name in RECORD_FILES:
            shutil.copy(job / name, records / job.name / name)
    docs.mkdir()
    assert report.main([str(records), "--table", "book/table_1_4_1", "--docs", str(docs)]) == 0
    assert capsys.readouterr().out == f"wrote {docs / 'table_1_4_1.md'}\n"
    assert (docs / "table_1_4_1.md").read_text() == (sweep / "table.md").read_text()
    assert (docs / "table_1_4_1.csv").read_text() == (sweep / "table.csv").read_text()
    commit = json.loads((jobs[0] / "run.json").read_text())["git_commit"]
    assert f"Commit: `{commit}`" in (docs / "table_1_4_1.md").read_text()
    assert "Command: `run -m experiment=book/table_1_4_1 debug=smoke logger.tensorboard=false`" in (sweep / "table.md").read_text()


def test_records_of_two_commands_name_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = tmp_path / "runs"
    spec = report.load_table_spec("book/table_1_4_1")
    for row, (argv, commit) in enumerate([(["run", "-m", "experiment=book/table_1_4_1", "hydra.sweep.dir=/x"], "abc"),
                                          (["run", "-m", "experiment=book/table_1_4_1", "model.filters=[8, 8]"], "def")]):
        job = records / str(row)
        job.mkdir(parents=True)
        (job / "config.yaml").write_text(f"table:\n  id: '1.4.1'\n  row: {row}\n")
        (job / "metrics.json").write_text(json.dumps({"test_accuracy": 0.99, "status": "completed"}))
        (job / "run.json").write_text(json.dumps({"argv": argv, "git_commit": commit}))
    md = report.write_table_doc(records, spec, tmp_path).markdown
    assert ("Commands: `run -m experiment=book/table_1_4_1`; `run -m experiment=book/table_1_4_1 'model.filters=[8, 8]'`"
            in md.splitlines())
    assert "Commits: `abc`, `def`" in md.splitlines()
    assert "Missing rows (2 of 4, no finished run):" in md


@pytest.mark.parametrize("table", ["book/table_1_3_3", "book/table_13_6_1", "book/densenet"])
def test_a_docs_table_is_named_as_its_config(table: str) -> None:
    assert report.doc_stem(report.load_table_spec(table)) == table.removeprefix("book/")


@pytest.mark.parametrize("args, message", [
    (["{tmp}/runs", "--table", "book/table_1_4_1", "--docs", "{tmp}/nope"], "error: no such docs folder: "),
    (["{tmp}/runs", "--docs", "{tmp}"], "has no multirun.yaml; name its table with --table book/<table>"),
])
def test_a_docs_table_without_its_folder_or_table_is_one_error_line(
        args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.main([a.format(tmp=tmp_path) for a in args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and message in captured.err
    assert captured.err.count("\n") == 1
