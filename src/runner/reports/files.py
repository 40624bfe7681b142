"""Reading a run dir's files for the reports, with one-line errors that name the file."""

from __future__ import annotations

import argparse
import csv
import json
import shlex
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import yaml

from adl_runner.kernel.errors import RunnerError


class ReportError(RunnerError):
    """A sweep dir, run dir or table spec that cannot give a table; the message is one line."""


def read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise ReportError(f"{path} is not JSON: {e.msg} (line {e.lineno})") from None


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError:
        raise ReportError(f"{path} is not valid YAML") from None


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header line (history.csv)."""
    return list(csv.DictReader(read_text(path).splitlines()))


def metrics(run: Path) -> Any:
    return read_json(run / "metrics.json")


def load_records(records: Sequence[Path], models: Sequence[str]) -> list[dict[str, Any]]:
    """Each run record (a folder of `config.yaml`, `metrics.json`, `run.json`) as {name, path,
    config, metrics, run}; a record of a model not in `models` is a one-line ReportError."""
    entries = []
    for record in records:
        config = read_yaml(record / "config.yaml")
        name = (config.get("model") or {}).get("name")
        if name not in models:
            raise ReportError(f"{record / 'config.yaml'} is a run of model '{name}'; give runs of {', '.join(models)}")
        entries.append({"name": record.name, "path": record, "config": config,
                        "metrics": read_json(record / "metrics.json"), "run": read_json(record / "run.json")})
    return entries


def record_command(run: dict[str, Any]) -> str:
    """The `run ...` command line a record's run.json holds."""
    argv = run.get("argv") or []
    return "run " + " ".join(argv[1:]) if argv else "(not recorded)"


def recorded_command(argv: Any) -> Optional[str]:
    """A job's `run -m ...` line from its run.json `argv`, Hydra's own options (`hydra.sweep.dir=`)
    left out and each override quoted, as `report.sweep_command` prints a sweep's multirun.yaml."""
    if not isinstance(argv, list) or not argv:
        return None
    return " ".join(["run", *(shlex.quote(str(a)) for a in argv[1:] if not str(a).startswith("hydra."))])


def command_line(name: str, run: dict[str, Any]) -> str:
    """A docs page's line naming a record's command and commit (from its run.json)."""
    return f"- `{name}`: `{record_command(run)}` (commit `{run.get('git_commit')}`)"


def records_doc_main(argv: Sequence[str], prog: str, description: str, files: str,
                     write: Callable[[Sequence[Path], Path], Path]) -> str:
    """`run-report <prog> <record> ... [--docs docs/results]`: `write(records, docs)` one docs page
    from run record folders (each holding `files`)."""
    parser = argparse.ArgumentParser(prog=f"run-report {prog}", description=description)
    parser.add_argument("records", type=Path, nargs="+", help=f"run record folders ({files})")
    parser.add_argument("--docs", type=Path, default=Path("docs/results"), help="the docs folder to write (docs/results)")
    args = parser.parse_args(argv)
    return f"wrote {write(args.records, args.docs)}\n"
