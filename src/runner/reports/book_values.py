"""The book's numbers for a single run: which row of which book table (conf/experiment/book/) a
run is, if any, so that its end summary can put the book's value beside each measured one.

A run is a row when it ran that row's configuration and nothing else: the table's model (and
dataset or env), the table's own settings (say Table 9.5.1's 40,000 episodes), every override of
the row holding in the run's config, and no command-line override outside the row's keys except
those that do not change what is trained (seed, paths, logger, hydra, data download and checksum
switches). `run model=cnn` is Table 1.4.1's Adam / Dropout(0.2) row; `run model=cnn
trainer.epochs=2` is no row. Plain YAML is read (the tables are data), not composed with Hydra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BOOK_TABLES = Path(__file__).resolve().parent.parent / "conf" / "experiment" / "book"
NEUTRAL = ("seed", "paths.", "hydra.", "logger.", "dataset.download", "dataset.verify_checksums", "table.", "experiment",
           "task")
"""Override keys (prefixes) that do not change what a run trains."""
GROUPS = ("model", "dataset", "env", "optimizer")
DEFAULT_TOLERANCE = 0.6
"""Points of a table's displayed scale (percentage points for accuracies) by which a measured value
may differ from the book's before a book table flags it (the book gives no error bars); seeds-doc
holds a book row's mean to the book's value less this."""


@dataclass(frozen=True)
class BookValue:
    table: str
    """The table's id, e.g. "1.4.1"."""
    value: float
    """The book's number in the metric's own units (a 99.40 % accuracy is 0.994)."""
    scale: float = field(default=1.0, compare=False)
    """The table's display scale of the metric (100 for a percentage): DEFAULT_TOLERANCE is in its units."""


def book_values(config: dict[str, Any], overrides: list[str], tables: Path | None = None) -> dict[str, BookValue]:
    """{metric key: the book's value} of the row `config` (a run's config.yaml) with command-line
    `overrides` (its .hydra/overrides.yaml) is, or {} when it is no book row. `tables`: the folder
    of table configs (default: the packaged conf/experiment/book)."""
    for path in sorted((tables or BOOK_TABLES).glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        table = doc.get("table")
        if not isinstance(table, dict) or not _same_setup(doc, config):
            continue
        for row in table.get("rows") or []:
            if _is_row(row.get("overrides") or [], config, overrides, _groups(doc)):
                return row_values(table, row)
    return {}


def row_values(table: dict[str, Any], row: dict[str, Any]) -> dict[str, BookValue]:
    """{metric key: the book's value} of one row of a table node (a row's missing or NA book values left out)."""
    book = row.get("book") or {}
    return {m["key"]: BookValue(str(table.get("id")), float(book[m["book"]]) / float(m.get("scale", 1)), float(m.get("scale", 1)))
            for m in table.get("metrics") or [] if isinstance(book.get(m["book"]), (int, float))}


def _groups(doc: dict[str, Any]) -> dict[str, str]:
    """{group: option} of the table's `override /group: option` defaults."""
    chosen = {}
    for entry in doc.get("defaults") or []:
        for key, value in (entry.items() if isinstance(entry, dict) else []):
            group = key.removeprefix("override ").strip().lstrip("/")
            if group in GROUPS:
                chosen[group] = value
    return chosen


def _same_setup(doc: dict[str, Any], config: dict[str, Any]) -> bool:
    """The run used the table's groups and its own settings (the keys beside `table`)."""
    if any(_select(config, f"{group}.name") != option for group, option in _groups(doc).items()):
        return False
    settings = {k: v for k, v in doc.items() if k not in ("defaults", "table", "hydra")}
    return all(_select(config, key) == value for key, value in flatten(settings))


def _is_row(row: list[str], config: dict[str, Any], overrides: list[str], groups: dict[str, str]) -> bool:
    keys = {_key(o) for o in row} | set(groups)
    if any(_key(o) not in keys for o in overrides if not _key(o).startswith(NEUTRAL)):
        return False
    return all(_holds(config, o) for o in row)


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _holds(config: dict[str, Any], override: str) -> bool:
    key, _, text = override.partition("=")
    value = yaml.safe_load(text) if text else None
    current = _select(config, key)
    if isinstance(current, dict):  # a group: `optimizer=sgd`
        return current.get("name") == value
    return current == value


def _select(config: dict[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def flatten(node: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """The leaves of a nested mapping as (dotted key, value); a list is one leaf."""
    items: list[tuple[str, Any]] = []
    for key, value in node.items():
        items += flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else [(f"{prefix}{key}", value)]
    return items


_MISSING = object()
