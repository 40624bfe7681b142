"""The default sweeper of `run -m`: Hydra's BasicSweeper with job dirs named after their overrides,
so that running the same sweep again skips the jobs that completed, resumes the unfinished ones
from their checkpoints and (with `hydra.sweeper.retry_failed=true`) retries the failed ones; a
failed job never stops the sweep (adl_runner.runner.sweeps says how a job dir is named and read).
Each job dir is held (its `.lock`) by the sweep from before Hydra writes there until the job
ends, so a second identical sweep started meanwhile skips the jobs this one runs and rewrites
none of their files (`.hydra/` included).

Hydra has no sweep resume of its own (hydra issue #3328). Hydra imports this module at start-up
(plugin discovery), which registers `hydra/sweeper=resumable`; it stays free of TensorFlow.
"""

# No `from __future__ import annotations`: Hydra loads plugins with exec_module, outside
# sys.modules, where dataclasses cannot resolve string annotations.

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from adl_runner.runner import sweeps
from adl_runner.runner.rundir import HOLDER_VARIABLE, RunDir, RunDirBusy

log = logging.getLogger(__name__)


@dataclass
class ResumableSweeperConf:
    """`hydra/sweeper=resumable`: BasicSweeper's options and whether failed jobs run again."""

    _target_: str = "hydra_plugins.adl_runner.resumable_sweeper.ResumableSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None
    retry_failed: bool = False


ConfigStore.instance().store(group="hydra/sweeper", name="resumable", node=ResumableSweeperConf, provider="adl_runner")


def error_line(result: JobReturn) -> str:
    """The first line of a failed job's exception."""
    text = str(result._return_value).strip()  # .return_value would raise it
    return text.splitlines()[0] if text else type(result._return_value).__name__


class ResumableSweeper(BasicSweeper):
    """BasicSweeper whose jobs live in dirs named after their overrides and are launched only when
    they have not completed (nor failed, unless retry_failed); failures are counted, not raised."""

    def __init__(self, max_batch_size: Optional[int] = None, params: Optional[Dict[str, str]] = None,
                 retry_failed: bool = False) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.retry_failed = retry_failed

    def sweep(self, arguments: List[str]) -> Any:
        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        params_conf = self._parse_config()
        params_conf.extend(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        batches = self.split_arguments(parser.parse_overrides(params_conf), self.max_batch_size)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        sweeps.OUTCOME.failed = 0
        returns: List[Sequence[JobReturn]] = []
        job_idx = 0
        with _holder_of_its_jobs():
            for batch in batches:
                with contextlib.ExitStack() as held:  # the batch's job dirs, until its jobs have ended
                    launched = self._to_launch(sweep_dir, batch, held)
                    if launched:
                        self.validate_batch_is_legal(launched)
                        results = self.launcher.launch(launched, initial_job_idx=job_idx)
                        for job, result in zip(launched, results):
                            if result.status == JobStatus.FAILED:
                                sweeps.OUTCOME.failed += 1
                                log.error(f"job {self.job_name(job)} failed: {error_line(result)}")
                        returns.append(results)
                job_idx += len(batch)
        if sweeps.OUTCOME.failed:
            log.error(f"{sweeps.OUTCOME.failed} job(s) failed; their error lines are in {sweep_dir / 'results.md'}")
        return returns

    def job_name(self, job: List[str]) -> str:
        """The job's dir name: its overrides, sorted (sweeps.job_name)."""
        return sweeps.job_name([o for o in job if not o.startswith("hydra.sweep.subdir=")])

    def _to_launch(self, sweep_dir: Path, batch: List[List[str]], held: contextlib.ExitStack) -> List[List[str]]:
        """The batch's jobs that run (each given its job dir, held in `held`); one log line per job
        skipped. A job dir another job holds is skipped before Hydra writes anything there; the
        state of the others is read once they are held, so it cannot change before the launch."""
        launched = []
        for job in batch:
            name = self.job_name(job)
            job_dir = sweep_dir / name
            new = not job_dir.exists()
            job_dir.mkdir(parents=True, exist_ok=True)  # the lock file lives in it
            hold = contextlib.ExitStack()
            try:
                hold.enter_context(RunDir(job_dir).locked())
            except RunDirBusy as busy:
                log.info(f"job {name}: in use by another job (pid {busy.holder}), skipped; run the sweep again "
                         f"once that job has ended")
                continue
            state = sweeps.JobState(sweeps.NEW) if new else sweeps.job_state(job_dir)
            skipped = sweeps.plan(state, self.retry_failed)
            if skipped is not None:
                hold.close()
                log.info(f"job {name}: {skipped}")
                sweeps.OUTCOME.failed += state.status == sweeps.FAILED
                continue
            held.enter_context(hold)
            if state.status in (sweeps.INTERRUPTED, sweeps.UNFINISHED, sweeps.FAILED):
                log.info(f"job {name}: {state.status}, resumed from its checkpoints")
            launched.append([*job, sweeps.subdir_override(name)])
        return launched


@contextlib.contextmanager
def _holder_of_its_jobs() -> Any:
    """While the sweep runs, its jobs (here, or in a launcher's processes, which inherit the
    environment) take a job dir this process holds as held for them (`RunDir.locked`)."""
    before = os.environ.get(HOLDER_VARIABLE)
    os.environ[HOLDER_VARIABLE] = str(os.getpid())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(HOLDER_VARIABLE, None)
        else:
            os.environ[HOLDER_VARIABLE] = before
