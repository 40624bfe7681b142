"""The `run` command: validate the command line fast, then hand it to Hydra.

Before Hydra starts (and long before TensorFlow is imported), every override is checked by
composing the config it asks for: an unknown group option, key, type or value ends here with one
line and exit code 2, and no run dir is created. Flags are checked first (`flags`); `--version` is
answered here, `--help` and the other Hydra flags go straight to Hydra, which never imports
TensorFlow on those paths either.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shlex
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import hydra
from omegaconf import DictConfig, OmegaConf, open_dict

from adl_runner.kernel.errors import ConfigError, RunnerError
from adl_runner.kernel.ranges import check_ranges
from adl_runner.kernel.registry import closest, did_you_mean, unknown_name_message
from adl_runner.runner import stages, sweeps
from adl_runner.runner.flags import (
    _INFO_FLAGS,
    given,
    mode_conflict,
    shell_completion_problem,
    split_argv,
    unknown_flag,
    version_line,
)
from adl_runner.runner.jobdir import held_run_dir, name_problem, placed, quoted, with_run_dir
from adl_runner.runner.launchers import preset_problem
from adl_runner.runner.rundir import RunDirBusy, run_config_of
from adl_runner.runner.schema import register_schema, scalar_for_list

CONF_DIR = Path(__file__).resolve().parent / "conf"
log = logging.getLogger("runner")
_MAX_VALIDATED_JOBS = 64

register_schema()


def config_groups(conf_dir: Path = CONF_DIR) -> dict[str, list[str]]:
    """Every config group under conf/ (e.g. 'model', 'experiment') and its options."""
    groups: dict[str, list[str]] = {}
    for path in sorted(conf_dir.rglob("*.yaml")):
        rel = path.relative_to(conf_dir)
        if len(rel.parts) < 2:
            continue
        top = rel.parts[0]
        # experiment/book/table_1_3_3.yaml is option 'book/table_1_3_3' of group 'experiment'
        groups.setdefault(top, []).append(str(rel.with_suffix("").relative_to(top)))
    return groups


def _deletable(key: str) -> bool:
    """Keys whose deletion is harmless: options typed by a builder's dataclass, whose default then
    applies. Every other key is read by the runner as is, so `~key` would fail inside the job."""
    return key.startswith(("model.", "optimizer.", "dataset.options.")) and not key.endswith(".name")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _flat_keys(cfg: Any, prefix: str = "") -> list[str]:
    keys = []
    if isinstance(cfg, DictConfig):
        for key in cfg.keys():
            full = f"{prefix}{key}"
            keys.append(full)
            keys.extend(_flat_keys(cfg._get_node(key), f"{full}."))
    return keys


def _composed_without(key: str, job: list[str]) -> DictConfig | None:
    """The config `job` composes without its overrides of `key` (with its other choices: the chosen
    model's and optimizer's own keys), or None when that fails too. Inside initialize_config_dir."""
    from hydra import compose

    try:
        return compose("config", overrides=[o for o in job if o.lstrip("+~").split("=", 1)[0] != key])
    except Exception:  # another override is bad as well: no better context than the defaults
        return None


def key_suggestion(key: str, keys: list[str]) -> str:
    """' (did you mean 'x'?)' for a mistyped dotted key: among the keys beside it, by their last
    part (optimizer.lr: optimizer.learning_rate), else among all keys but its parents."""
    parent, _, leaf = key.rpartition(".")
    beside = {k.rpartition(".")[2]: k for k in keys if k.rpartition(".")[0] == parent}
    match = closest(leaf, list(beside))
    if match is not None:
        return f" (did you mean '{beside[match]}'?)"
    return did_you_mean(key, [k for k in keys if not key.startswith(f"{k}.")])


def composition_error(exc: Exception, override_list: list[str], base_keys: Callable[[], list[str]]) -> str:
    """Turn a Hydra/OmegaConf composition failure into one line naming the bad override.
    `base_keys()`: the default config's, for suggestions when the job's own config cannot be had."""
    if isinstance(exc, RunnerError):
        return str(exc)
    text = str(exc)
    if text.startswith("Could not override '"):
        key = text.split("'")[1]
        cfg = _composed_without(key, override_list)
        keys = _flat_keys(cfg) if cfg is not None else base_keys()
        return (f"unknown config key '{key}'{key_suggestion(key, keys)}; "
                f"see `run --cfg job` for the keys, or add a new one with +{key}=...")
    cause = exc.__cause__
    if text.startswith("Error merging override") and cause is not None:
        key = str(getattr(cause, "full_key", ""))
        cfg = _composed_without(key, override_list)
        listed = scalar_for_list(cause, OmegaConf.select(cfg, key) if cfg is not None else None)
        return listed or f"{text[len('Error merging override '):].strip()}: {_one_line(cause)}"
    detail = f" ({_one_line(cause)})" if cause is not None else ""
    return f"{_one_line(exc)}{detail} [overrides: {' '.join(override_list)}]"


@dataclass(frozen=True)
class ComposedJob:
    """What `validate`'s composition of a job (its `hydra` node included) answers for the steps after
    it, each of which would otherwise compose the job again (about 0.09 s of CPU each). Composed
    without the command line's `hydra.*` settings, as `validate` composes."""

    mode: Any
    """`hydra.mode` as the config sets it (None: unset), all that Hydra's `get_mode` composes for."""
    output_dir: str | None
    """`paths.output_dir`; None where it does not resolve here."""
    run_dir: str | None
    """`hydra.run.dir` resolved now (the default's date and time); None where it does not resolve here."""

    @staticmethod
    def of(cfg: DictConfig) -> ComposedJob:
        return ComposedJob(cfg.hydra.mode, _resolved(cfg, "paths.output_dir"), _resolved(cfg, "hydra.run.dir"))


def _resolved(cfg: DictConfig, key: str) -> str | None:
    try:
        value = OmegaConf.select(cfg, key, throw_on_missing=True)
    except Exception:  # an interpolation only a running job can resolve
        return None
    return None if value is None else str(value)


def _hydra_keys(overrides: list[str]) -> set[str]:
    """The `hydra.*` keys a command line sets (which `validate` leaves to Hydra)."""
    return {o.lstrip("+~").split("=", 1)[0] for o in overrides if o.lstrip("+~").startswith("hydra")}


def _single(composed: list[ComposedJob], overrides: list[str], multirun: bool) -> ComposedJob | None:
    """The command's one job as `validate` composed it; None for a sweep, or where a `hydra.*` setting
    on the command line (which `validate` leaves to Hydra) could change what it answers."""
    if multirun or len(composed) != 1 or _hydra_keys(overrides):
        return None
    return composed[0]


def _unparsable(overrides: list[str], exc: Exception) -> str:
    """The error line for a command line Hydra's grammar refuses: the override it refuses and, where
    its value reads as one once quoted (a sweep's job dir: `ckpt=.../model=dcgan,seed=1`), how to quote it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    for line in overrides:
        try:
            parser.parse_overrides([line])
            continue
        except OverrideParseException as refused:
            key, _, value = line.partition("=")
            quoted = f"{key}='{value}'"
            try:
                parser.parse_overrides([quoted])
            except OverrideParseException:
                return f"cannot parse '{line}': {_one_line(refused)}"
            return (f"cannot parse '{line}': its value holds characters of Hydra's override grammar (= , [ ] ...); "
                    f"quote it: \"{quoted}\"")
    return f"cannot parse the command line: {_one_line(exc)}"


def validate(overrides: list[str], multirun: bool, composed: list[ComposedJob] | None = None) -> str | None:
    """None if every job the command line describes composes and passes the schema checks,
    else the one-line error. `composed` receives what each job's composition answers (`ComposedJob`)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as exc:
        return _unparsable(overrides, exc)
    groups = config_groups()
    per_key: list[list[str]] = []
    for override in parsed:
        key = override.key_or_group
        if key.startswith("hydra"):
            continue  # Hydra's own settings: Hydra checks them itself
        if override.is_delete() and key not in groups and not _deletable(key):
            return (f"'{override.input_line}' would delete a key the runner reads; set it instead ({key}=...); "
                    f"only options under model., optimizer. and dataset.options. (their defaults apply) can be deleted")
        if override.is_sweep_override() and not multirun:
            return f"'{override.input_line}' is a sweep: add -m (--multirun) to run one job per value"
        if override.is_sweep_override() and not override.is_discrete_sweep():
            per_key.append([])  # interval(...) for an optimizing sweeper: nothing to enumerate
            continue
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.get_value_element_as_str()]
        if key in groups and not override.is_delete():
            for value in values:
                for name in _group_options(value):
                    if name not in groups[key] and name != "null":
                        return unknown_name_message(key, name, groups[key])
        prefix = "+" if override.is_add() else "++" if override.is_force_add() else "~" if override.is_delete() else ""
        per_key.append([f"{prefix}{key}={value}" for value in values] if not override.is_delete() else [override.input_line])
    jobs = [list(job) for job in itertools.islice(itertools.product(*[v for v in per_key if v]), _MAX_VALIDATED_JOBS)]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="run"):
        # The default config's keys serve only an error's suggestions: composed then, not for every job (0.3-0.8 s).
        def base_keys() -> list[str]:
            return _flat_keys(compose("config"))

        for job in jobs or [[]]:
            try:
                cfg = compose("config", overrides=job, return_hydra_config=True)
                if composed is not None:
                    composed.append(ComposedJob.of(cfg))
                with open_dict(cfg):
                    del cfg["hydra"]  # Hydra's runtime keys resolve only in a running job
                check_ranges(OmegaConf.to_object(cfg))  # the runner's own groups (kernel.ranges)
            except Exception as exc:  # Hydra and OmegaConf raise many types; all end in one line
                return composition_error(exc, job, base_keys)
            rows = OmegaConf.select(cfg, "table.rows")
            if rows and not multirun:
                return "this experiment is a book table (one job per row): run it with -m, e.g. run -m experiment=..."
            if OmegaConf.select(cfg, "comparison") is not None and not multirun:
                return "this experiment is a comparison (one job per configuration and seed): run it with -m, e.g. run -m experiment=..."
            for i, row in enumerate(rows or []):
                row_job = job + list(row.get("overrides", []))
                try:
                    OmegaConf.to_object(compose("config", overrides=row_job))
                except Exception as exc:
                    return f"table row {i}: {composition_error(exc, row_job, base_keys)}"
    return None


def search_space_problem(overrides: list[str]) -> str | None:
    """None unless an Optuna search (hparams_search=...) names a key its jobs' config lacks."""
    if _override_value(overrides, "hparams_search") is None:
        return None
    from hydra import compose, initialize_config_dir

    job = [o for o in overrides if not o.startswith("hydra") and "," not in o]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="run"):
        cfg = compose("config", overrides=job, return_hydra_config=True)
    keys = _flat_keys(cfg)
    prefix = "hydra.sweeper.params."  # the command's own (compose refuses their sweep values outside -m)
    given_keys = [o.split("=", 1)[0][len(prefix):] for o in overrides if o.startswith(prefix)]
    for key in [*(OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}), *given_keys]:
        if not str(key).startswith("+") and key not in keys:
            return (f"the search space (hydra.sweeper.params) names '{key}', which is not a key of the config"
                    f"{key_suggestion(str(key), keys)}; see `run --cfg job` for the keys")
    return None


def _group_options(value: str) -> list[str]:
    """The options a group override names: one, or a list of them (`logger=[tensorboard,mlflow]`)."""
    if value.startswith("[") and value.endswith("]"):
        return [name.strip() for name in value[1:-1].split(",") if name.strip()]
    return [value]


def _override_value(overrides: list[str], key: str) -> str | None:
    """The last `key=value` among the overrides (what Hydra would use), if any."""
    value = None
    for override in overrides:
        name, sep, rest = override.lstrip("+").partition("=")
        if sep and name == key:
            value = rest
    return value


def checkpoint_overrides(overrides: list[str], multirun: bool) -> list[str]:
    """What a task on a checkpoint (evaluate, sample, export, predict) takes from the run that saved
    it, read once: its run dir named after the checkpoint's model and data
    (`<time>_sample_dcgan_mnist`, not this command's defaults) unless the command names its own, and
    `model=<the checkpoint's family>` unless the command names one, so that the family's own
    `model.<key>=` overrides compose (`task=predict ckpt=<ssd run> model.soft_nms=true`; only a family
    with a preset in conf/model/). None of it when the checkpoint has no run config around it."""
    task, ckpt = _override_value(overrides, "task"), _override_value(overrides, "ckpt")
    if task in (None, "train") or not ckpt or multirun:
        return []
    trained = run_config_of(Path(ckpt))
    if not trained or not isinstance(trained.get("model"), dict):
        return []
    name = trained["model"].get("name")
    added = []
    if _override_value(overrides, "hydra.run.dir") is None:
        env, dataset = trained.get("env") or {}, trained.get("dataset") or {}
        data = env.get("name") or _override_value(overrides, "dataset") or dataset.get("name")
        added.append(f"hydra.run.dir=${{paths.output_dir}}/runs/${{now:%Y-%m-%d}}/${{now:%H-%M-%S}}_{task}_{name}_{data}")
    if _override_value(overrides, "model") is None and name and (CONF_DIR / "model" / f"{name}.yaml").is_file():
        added.append(f"model={name}")
    return added


def default_run_dir(overrides: list[str], job: ComposedJob | None = None) -> str | None:
    """The run dir Hydra would make of the config's `hydra.run.dir` (the default's date, time, model
    and data), resolved now so that it can be claimed before Hydra writes there; None when it
    cannot be resolved here (Hydra will say why). `job`: the command's one job as `validate` composed it."""
    if job is not None:
        return job.run_dir
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="run"):
        try:
            return str(compose("config", overrides=overrides, return_hydra_config=True).hydra.run.dir)
        except Exception:  # Hydra and OmegaConf raise many types
            return None


def output_dir_problem(overrides: list[str], multirun: bool, job: ComposedJob | None = None) -> str | None:
    """None if the run (or sweep) dir can be created and written, else the one-line error.

    Hydra creates the dir before the job starts and answers a failure with a traceback, so this
    runs first: the nearest existing folder on the way to the dir must take a new file. Only the
    part before any `${...}` interpolation (the date and time of the default) is looked at.
    `job`: the command's one job as `validate` composed it.
    """
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    target = _override_value(overrides, key)
    if target is None and job is not None and job.output_dir is not None:
        target = job.output_dir
    if target is None:
        from hydra import compose, initialize_config_dir

        jobs = [o for o in overrides if not o.startswith("hydra") and "," not in o]
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="run"):
            try:
                target = str(compose("config", overrides=jobs).paths.output_dir)
            except Exception:  # a sweep value or interpolation we cannot resolve here: Hydra will tell
                return None
    static = target.split("${", 1)[0] or "."
    path = Path(static).expanduser().absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{key}={target} cannot be created: {existing} is a file, not a folder; choose another {key}"
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"{key}={target} is not writable ({exc.strerror} in {existing}); choose another {key} or paths.output_dir"
    return None


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _hydra_entry(cfg: DictConfig) -> Any:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    # TensorFlow is imported here, once a job really runs (first without its load-time notices),
    # after a parallel launcher's worker has taken its GPU.
    from adl_runner.runner.gpu_slots import pin_worker_gpu
    from adl_runner.runner.tf_startup import import_tensorflow

    # through the module: a joblib worker gets this function by value (its globals copied), modules by reference
    stages.STAGES.job_started()
    hydra = HydraConfig.get()
    pin_worker_gpu(hydra)
    import_tensorflow()
    from adl_runner.runner.resolve import resolve
    from adl_runner.runner.rundir import RunDir
    from adl_runner.runner.tasks import run_task

    multirun = hydra.mode == RunMode.MULTIRUN
    try:
        with RunDir(hydra.runtime.output_dir).removed_if_failed_fresh():  # a bad config leaves no run dir
            job = resolve(cfg, run_dir=hydra.runtime.output_dir, overrides=list(hydra.overrides.task))
        stages.STAGES.lap("set-up")
        _OUTCOME["metrics"] = run_task(job)
        return sweeps.objective(cfg.get("optimized_metric"), _OUTCOME["metrics"])
    except RunnerError as exc:
        _OUTCOME["error"] = exc
        print(f"error: {exc}", file=sys.stderr)
        if multirun:  # the sweep goes on; the job's record says why it failed (a busy dir is another job's)
            if not isinstance(exc, RunDirBusy):
                _record_failure(hydra, str(exc))
            raise JobFailed(str(exc)) from None
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        rundir = RunDir(hydra.runtime.output_dir)
        if rundir.path.is_dir():
            rundir.mark_interrupted()
        _INTERRUPTED.append(resume_command(sys.argv[1:], Path(hydra.sweep.dir) if multirun else rundir.path, multirun))
        raise
    except Exception as exc:  # TensorFlow, Keras, gymnasium, the OS (a full disk): one line, status failed
        from adl_runner.runner.failures import TRACEBACK_FILE, failure_line, traceback_text

        rundir = RunDir(hydra.runtime.output_dir)
        line = failure_line(exc, rundir.path)
        if rundir.path.is_dir():
            with contextlib.suppress(Exception):  # a full disk may refuse these too; the line still goes out
                rundir.write_text(TRACEBACK_FILE, traceback_text(exc))
            with contextlib.suppress(Exception):
                rundir.mark_failed(line)
        print(f"error: {line}", file=sys.stderr)
        if multirun:  # the sweep goes on, as after a one-line error
            _record_failure(hydra, line)
            raise JobFailed(line) from None
        raise SystemExit(1) from None


def _record_failure(hydra: Any, error: str) -> None:
    """A sweep's failed job: metrics.json says so, and its dir keeps Hydra's overrides.yaml (which
    a job refused at set-up has had removed with the rest) for the sweep's results."""
    from adl_runner.runner.rundir import RunDir

    rundir = RunDir(hydra.runtime.output_dir)
    rundir.mark_failed(error)
    overrides = rundir.path / hydra.output_subdir / "overrides.yaml" if hydra.output_subdir else None
    if overrides is not None and not overrides.exists():
        overrides.parent.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(hydra.overrides.task, overrides)


class JobFailed(Exception):
    """A sweep's job that failed with a one-line error: Hydra records it and the sweep goes on
    (a SystemExit would end the sweep); picklable, so a parallel launcher's worker can return it."""


_OUTCOME: dict[str, Any] = {}
"""The last job's metrics, or the RunnerError that ended it (what `adl_runner.run` returns or raises)."""
_INTERRUPTED: list[str] = []
"""The command that resumes the job a Ctrl-C or SIGTERM stopped (set by `_hydra_entry`, printed by `main`)."""


def resume_command(argv: list[str], where: Path, multirun: bool) -> str:
    """`run ...` as given, pointed at the run dir (or a sweep's dir) so that it resumes there."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    kept = [arg for arg in argv if not arg.startswith(f"{key}=")]
    return " ".join(["run", *(shlex.quote(arg) for arg in kept), shlex.quote(f"{key}={where}")])


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (the job stops where it is, its checkpoints kept), exit 143."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def main(argv: list[str] | None = None, raising: bool = False) -> int:
    """Entry point of the `run` console script; returns the exit code. `raising` (the Python API,
    `adl_runner.run`): a refused command line or a failed job raises its RunnerError instead.
    Without `argv` (the `run` command, `python -m adl_runner`), a process that ran one job ends
    here, without the interpreter's teardown (`process_exit`); a sweep's launcher may still hold workers."""
    code = _main(argv, raising)
    if argv is None and "tensorflow" in sys.modules and not split_argv(sys.argv[1:])[1]:
        from adl_runner.runner.process_exit import end_process

        end_process(code)
    return code


def _main(argv: list[str] | None, raising: bool) -> int:
    from hydra.core.global_hydra import GlobalHydra

    stages.STAGES.entered_main()
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    GlobalHydra.instance().clear()  # a previous in-process call (tests) may have left it set
    _OUTCOME.clear()
    problem = unknown_flag(argv) or mode_conflict(argv) or shell_completion_problem(argv)
    if problem is not None:
        return _refused(problem, raising)
    if given(argv, "--version"):  # Hydra's would print only its own version
        print(version_line())
        return 0
    run_dir, fresh = None, False
    composed: list[ComposedJob] = []
    if not given(argv, *_INFO_FLAGS):
        overrides, multirun = split_argv(argv)
        added = checkpoint_overrides(overrides, multirun)
        argv, overrides = [*argv, *added], [*overrides, *added]
        problem = (preset_problem("launcher", _override_value(overrides, "launcher"), multirun)
                   or preset_problem("hparams_search", _override_value(overrides, "hparams_search"), multirun)
                   or validate(overrides, multirun, composed) or search_space_problem(overrides)
                   or output_dir_problem(overrides, multirun, _single(composed, overrides, multirun))
                   or name_problem("hydra.job.name", _override_value(overrides, "hydra.job.name"))
                   or name_problem("hydra.output_subdir", _override_value(overrides, "hydra.output_subdir")))
        if problem is None and not multirun:
            try:  # a task on a checkpoint never writes over another run's record (runner.jobdir)
                argv, run_dir = placed(argv, _override_value(overrides, "task"), _override_value(overrides, "hydra.run.dir"))
            except RunnerError as exc:
                problem = str(exc)
            if problem is None and (run_dir is None or "${" in run_dir):  # the default's date and time: a fresh dir, claimed below
                run_dir = default_run_dir(overrides, _single(composed, overrides, multirun))
                fresh = run_dir is not None
        if problem is not None:
            return _refused(problem, raising)
        if multirun and _override_value(overrides, "hydra.sweep.dir") is None:
            argv.append(sweeps.sweep_dir_override(overrides))  # the same command, the same sweep dir
    saved_argv = sys.argv
    sys.argv = ["run", *argv]
    _INTERRUPTED.clear()
    on_main_thread = threading.current_thread() is threading.main_thread()
    saved_sigterm = signal.signal(signal.SIGTERM, _on_sigterm) if on_main_thread else None
    sweeps.OUTCOME.failed = 0
    try:
        with held_run_dir(run_dir, fresh=fresh) as own:  # before Hydra writes .hydra/ there: a refused job rewrites nothing
            if fresh:
                sys.argv = ["run", *with_run_dir(argv, quoted(own))]
            with _mode_known(composed, sys.argv[1:]):
                _hydra_entry()
    except RunnerError as exc:
        if raising:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except SystemExit as exc:
        if raising and "error" in _OUTCOME:
            raise _OUTCOME["error"] from None
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt as exc:
        if raising:
            raise
        how = "terminated (SIGTERM)" if isinstance(exc, _Terminated) else "interrupted"
        where = (f"resume with: {_INTERRUPTED[0]}" if _INTERRUPTED else
                 "re-run the same command with the same hydra.run.dir to resume")
        print(f"error: {how}; the run dir keeps its last completed epoch; {where}", file=sys.stderr)
        return 143 if isinstance(exc, _Terminated) else 130
    finally:
        sys.argv = saved_argv
        if on_main_thread:
            signal.signal(signal.SIGTERM, saved_sigterm)
    return sweeps.exit_code()  # a sweep: how many of its jobs failed


_NAMING_HYDRA_KEYS = frozenset({"hydra.run.dir", "hydra.job.name", "hydra.output_subdir"})
"""Hydra settings on a command line that name where a job goes, never its mode."""


@contextlib.contextmanager
def _mode_known(composed: list[ComposedJob], argv: list[str]) -> Iterator[None]:
    """Spare Hydra's `get_mode`, a whole composition (about 0.09 s of CPU) made only to read
    `hydra.mode`, where `validate` has composed the one job and read it unset, and no Hydra setting on
    the command line (other than a name or a dir) could set it: Hydra's own answer is then None, and it
    runs the one job (adding hydra.mode=RUN) exactly as after composing. `argv`: what Hydra is given."""
    overrides, multirun = split_argv(argv)
    if multirun or len(composed) != 1 or composed[0].mode is not None or not _hydra_keys(overrides) <= _NAMING_HYDRA_KEYS:
        yield
        return
    from hydra._internal.hydra import Hydra

    asked = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hydra.get_mode = asked  # type: ignore[method-assign]


def _refused(problem: str, raising: bool) -> int:
    """A command line refused before Hydra starts: one `error:` line and exit code 2, or raised."""
    if raising:
        raise ConfigError(problem)
    print(f"error: {problem}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
