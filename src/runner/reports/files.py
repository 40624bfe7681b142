"""Reading a run dir's files for the reports, with one-line errors that name the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

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
