"""A Hydra sweeper that runs every row of a book table: `run -m experiment=book/<table>`.

The table experiment config holds its rows under `table.rows`; each row carries the overrides that
reproduce it. This sweeper expands the usual cartesian product of command-line sweeps (exactly as
Hydra's BasicSweeper does) and crosses it with the rows, so `seed=1,2,3` on a 18-row table gives 54
jobs. Row overrides come after the command-line ones: Hydra lets the last override of a key win, so
the table, not a stray command-line value, defines each row. Every job also gets `table.row=<i>`,
which is how the end-of-sweep report (runner.report) maps run dirs back to rows.

Hydra imports this module at start-up (plugin discovery), which is also what registers the
`hydra/sweeper=book_table` config node below; it must therefore stay free of TensorFlow imports.
"""

# No `from __future__ import annotations`: Hydra loads plugins with exec_module, outside
# sys.modules, where dataclasses cannot resolve string annotations.

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import CompactHydraException
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, ListConfig, OmegaConf

from hydra_plugins.adl_runner.resumable_sweeper import ResumableSweeper

log = logging.getLogger(__name__)

# Command-line keys that choose the table itself: sweeping them would mix several tables (with
# different rows) into one sweep dir and one report, so the sweeper refuses.
_TABLE_CHOOSING_KEYS = ("experiment",)


@dataclass
class BookTableSweeperConf:
    """`hydra/sweeper=book_table`: the resumable sweeper's options; the rows come from `table.rows`."""

    _target_: str = "hydra_plugins.adl_runner.book_table_sweeper.BookTableSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None
    retry_failed: bool = False


ConfigStore.instance().store(
    group="hydra/sweeper", name="book_table", node=BookTableSweeperConf, provider="adl_runner"
)


class BookTableError(CompactHydraException):
    """A table config the sweeper cannot expand. Hydra prints a compact exception's message alone."""


def _parse(overrides: Sequence[str]) -> List[Override]:
    return OverridesParser.create().parse_overrides(list(overrides))


def table_rows(config: DictConfig) -> List[List[str]]:
    """The override list of each row of `config.table.rows`, validated.

    A row is a mapping with an `overrides` list of Hydra override strings (non-sweep: a row is one
    job). Raises BookTableError with a one-line message when there is no table or a row is malformed.
    """
    rows = OmegaConf.select(config, "table.rows", default=None)
    if not isinstance(rows, ListConfig) or len(rows) == 0:
        raise BookTableError(
            "book_table sweeper: the config has no table rows (table.rows is missing or empty); "
            "pick a table with experiment=book/<table>, e.g. experiment=book/table_1_3_3"
        )
    result: List[List[str]] = []
    for i, row in enumerate(rows):
        overrides = OmegaConf.select(row, "overrides", default=None) if isinstance(row, DictConfig) else None
        if not isinstance(overrides, ListConfig) or not all(isinstance(o, str) for o in overrides):
            raise BookTableError(f"book_table sweeper: table.rows[{i}].overrides must be a list of override strings")
        items = [str(o) for o in overrides]
        try:
            parsed = _parse(items)
        except Exception as e:  # the parser's message is multi-line; keep ours to one line
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise BookTableError(f"book_table sweeper: table.rows[{i}] has a bad override: {first}") from None
        for o in parsed:
            if o.is_sweep_override():
                raise BookTableError(
                    f"book_table sweeper: table.rows[{i}] override '{o.input_line}' is a sweep; a row is one job"
                )
        result.append(items)
    return result


def expand_jobs(combos: Sequence[Sequence[str]], rows: Sequence[Sequence[str]]) -> List[List[str]]:
    """Cross the command-line combinations with the table rows: one override list per job.

    Order is combination-major, rows inner, so a partial multirun (or the first seed of several)
    covers the whole table before it repeats it. Each job is `combo + row + ["table.row=<i>"]`.
    """
    return [
        [*combo, *row, f"table.row={i}"]
        for combo in (combos or [[]])
        for i, row in enumerate(rows)
    ]


def shadowed_keys(combos: Sequence[Sequence[str]], rows: Sequence[Sequence[str]]) -> List[str]:
    """Command-line keys that some row also sets (the row's value wins), sorted, for a warning."""
    combo_keys = {o.key_or_group for combo in combos for o in _parse(combo)}
    row_keys = {o.key_or_group for row in rows for o in _parse(row)}
    return sorted(combo_keys & row_keys)


def chunk(jobs: List[List[str]], max_batch_size: Optional[int]) -> List[List[List[str]]]:
    """Split the job list into launcher batches of at most `max_batch_size` (None or -1: one batch)."""
    if max_batch_size is None or max_batch_size == -1:
        return [jobs]
    if max_batch_size <= 0:
        raise BookTableError(f"book_table sweeper: max_batch_size must be positive, got {max_batch_size}")
    return [jobs[i : i + max_batch_size] for i in range(0, len(jobs), max_batch_size)]


class BookTableSweeper(ResumableSweeper):
    """The resumable sweeper whose job list is (command-line sweep product) x (table rows)."""

    def __init__(self, max_batch_size: Optional[int] = None, params: Optional[Dict[str, str]] = None,
                 retry_failed: bool = False) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params, retry_failed=retry_failed)
        self.rows: List[List[str]] = []

    def job_name(self, job: List[str]) -> str:
        """A row's job dir is named by the command line's overrides and `table.row=<i>` (the row's
        own overrides follow from the table): `experiment=book+table_1_4_1,seed=2,table.row=1`."""
        job = [o for o in job if not o.startswith("hydra.sweep.subdir=")]
        row = int(job[-1].split("=", 1)[1])
        return super().job_name([*job[: len(job) - len(self.rows[row]) - 1], job[-1]])

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        # Read the rows before the launcher is set up so a bad table fails before anything runs.
        self.rows = table_rows(config)
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        for o in _parse(arguments):
            if o.key_or_group in _TABLE_CHOOSING_KEYS and o.is_sweep_override():
                raise BookTableError(
                    f"book_table sweeper: '{o.input_line}' sweeps over tables; run one table per multirun"
                )
        try:
            return super().sweep(arguments)
        except BaseException:
            # An interrupt ends the multirun before Hydra's on_multirun_end callback writes the
            # table (a failed job does not: the sweep goes on); the finished rows are on disk.
            if self.config is not None:
                sweep_dir = self.config.hydra.sweep.dir
                log.error(f"The sweep stopped early; `run-report {sweep_dir}` tabulates the rows that finished")
            raise

    # BasicSweeper.sweep calls `self.split_arguments(overrides, max_batch_size)`; overriding it is
    # the narrowest hook into the job list, and keeps BasicSweeper's launch loop and multirun.yaml.
    def split_arguments(  # type: ignore[override]
        self, overrides: List[Override], max_batch_size: Optional[int]
    ) -> List[List[List[str]]]:
        combos = BasicSweeper.split_arguments(overrides, None)[0]
        shadowed = shadowed_keys(combos, self.rows)
        if shadowed:
            log.warning(f"book_table: the table's rows set {', '.join(shadowed)}; their row values win")
        jobs = expand_jobs(combos, self.rows)
        table_id = OmegaConf.select(self.config, "table.id", default="?") if self.config is not None else "?"
        log.info(f"Book table {table_id}: {len(self.rows)} rows x {len(combos)} combinations = {len(jobs)} jobs")
        return chunk(jobs, max_batch_size)
