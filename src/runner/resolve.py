"""Config -> one complete, frozen `Job`, checked before anything is built.

This is the one place where the composed config is read: every group is validated against its
schema or against the options dataclass its builder registered, so an unknown key or a value of
the wrong type is a one-line error naming the key and the valid choices. Below this, tasks read
the `Job` only: no `DictConfig`, no Hydra, so a task runs the same from the CLI or from Python.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from adl_runner.data.inputs import INPUT_KINDS
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.hooks import SampleConfig
from adl_runner.kernel.ranges import check_ranges
from adl_runner.kernel.registry import DATASETS, ENVS, MODELS, Entry, Registry, did_you_mean
from adl_runner.kernel.specs import FamilySpec, FitSpec, NoneSpec
from adl_runner.runner.families import use_family_index
from adl_runner.runner.input_options import kind_of, split_dataset_options
from adl_runner.runner.optim import OPTIMIZERS
from adl_runner.runner.rundir import run_config_of
from adl_runner.runner.schema import (
    TRACKERS,
    Config,
    DatasetConfig,
    EvaluateConfig,
    ExportConfig,
    LoggerConfig,
    Split,
    Task,
    TrainerConfig,
    scalar_for_list,
)

log = logging.getLogger("runner")


@dataclass(frozen=True)
class Job:
    """Everything a task needs, typed. For a task on a checkpoint (evaluate, sample, export), the
    model is the checkpoint's family, found from the run that saved it."""

    task: Task
    seed: int
    run_dir: Path
    model: Entry[Any, FamilySpec]
    model_options: Any
    dataset: Entry[Any, Any]
    dataset_config: DatasetConfig
    dataset_options: Any
    optimizer: Entry[Any, Any]
    optimizer_options: Any
    trainer: TrainerConfig
    logger: LoggerConfig
    data_dir: Path
    output_dir: Path
    ckpt: Optional[Path]
    split: Split
    sample: SampleConfig
    image: Optional[Path]
    """task=predict's image file or folder; a no-loop family's input image (RunContext.image)."""
    env: Optional[dict[str, Any]]
    """The env config (episode-loop families), as plain values; None when no env is chosen."""
    gif: bool
    export: ExportConfig
    """task=export's format, name, version and verification settings."""
    evaluate: EvaluateConfig
    """How the model is scored (task=evaluate, and the end of training)."""
    chosen: frozenset[str]
    """The groups and keys set on the command line (`model`, `dataset`, `trainer.epochs`, ...)."""
    config: dict[str, Any]
    """The composed config, resolved, as plain values: what config.yaml holds."""
    input_options: Any = None
    """The options of the model's input kind (`dataset.options` keys it declares: views' crop,
    rotation, ...), typed by its dataclass; None for a family without an input kind."""

    @property
    def loop(self) -> str:
        return self.model.spec.loop

    @property
    def config_yaml(self) -> str:
        return yaml.safe_dump(self.config, sort_keys=False)

    def chose(self, group: str) -> bool:
        """Whether `group` (or a key under it) was set on the command line."""
        return any(key == group or key.startswith(f"{group}.") for key in self.chosen)


def config_at(config: Mapping[str, Any] | None, key: str) -> Any:
    """The value at dotted `key` (`trainer.batch_size`) of a plain config; None where it is absent."""
    for part in key.split("."):
        if not isinstance(config, Mapping):
            return None
        config = config.get(part)
    return config


def typed_options(registry: Registry[Any, Any], node: Any, where: str) -> tuple[Entry[Any, Any], Any]:
    """The registry entry named by `node.name` and `node`'s other keys as its options dataclass."""
    values = dict(OmegaConf.to_container(node, resolve=True)) if isinstance(node, DictConfig) else dict(node)
    name = values.pop("name", None)
    if name is None:
        raise ConfigError(f"{where}.name is missing; valid: {', '.join(registry.names())}")
    entry = registry.get(str(name))
    options_cls = entry.spec.options
    if options_cls is None:
        return entry, None
    valid = [f.name for f in dataclasses.fields(options_cls)]
    for key in values:
        if key not in valid:
            raise ConfigError(
                f"{where}.{key} is not an option of {registry.kind} '{name}'{did_you_mean(key, valid)}; "
                f"valid: {', '.join(valid) or '(none)'}"
            )
    return entry, typed_values(options_cls, values, where)


def typed_values(options_cls: type, values: Mapping[str, Any], where: str) -> Any:
    """`values` (known keys of `options_cls`) as an instance of it: a value of the wrong type, or
    one its `__post_init__` refuses, is a one-line error naming `where.<key>`."""
    try:
        options = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(options_cls), dict(values)))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        listed = scalar_for_list(exc, option_default(options_cls, key), where)
        if listed is not None:
            raise ConfigError(listed) from None
        message = str(exc).splitlines()[0]
        raise ConfigError(f"{where}.{key}: {message}" if key else f"{where}: {message}") from None
    check_ranges(options, where)  # each field's declared range (kernel.ranges)
    return options


def option_default(options_cls: type, key: str) -> Any:
    """The default value of option `key` of `options_cls` (None when it has none)."""
    for option in dataclasses.fields(options_cls):
        if option.name == key:
            return option.default_factory() if option.default_factory is not dataclasses.MISSING else option.default
    return None


def typed_sample(model: Entry[Any, FamilySpec], values: Mapping[str, Any]) -> SampleConfig:
    """The `sample` node as the family's sample options; a key it does not read is refused, naming
    the families that do (`sample.code1` is InfoGAN's)."""
    options_cls = model.spec.sample_options if isinstance(model.spec, FitSpec) else SampleConfig
    valid = [f.name for f in dataclasses.fields(options_cls)]
    for key in values:
        if key not in valid:
            readers = [f"{name} ({spec.sample_options.__name__})" for name in MODELS.names()
                       if isinstance(spec := MODELS.get(name).spec, FitSpec)
                       and key in {f.name for f in dataclasses.fields(spec.sample_options)}]
            raise ConfigError(f"sample.{key} is not a sample option of model '{model.name}'{did_you_mean(key, valid)}; "
                              f"valid: {', '.join(valid)}; sample.{key}= is read by: {', '.join(readers) or 'no model'}")
    return typed_values(options_cls, values, "sample")  # type: ignore[no-any-return]


def typed_trackers(logger: LoggerConfig) -> LoggerConfig:
    """`logger` with each tracker's settings as its dataclass (schema.TRACKERS), or None when it is
    off: left out of the `logger` list, or `logger.<name>=false` (`true`: on, with its defaults)."""
    def typed(name: str, value: Any) -> Any:
        if value is None or value is False:
            return None
        if value is not True and not isinstance(value, Mapping):
            keys = ", ".join(f.name for f in dataclasses.fields(TRACKERS[name]))
            raise ConfigError(f"logger.{name} expects true, false or its settings ({keys}), got {value!r}")
        return typed_values(TRACKERS[name], {} if value is True else value, f"logger.{name}")

    return dataclasses.replace(logger, **{name: typed(name, getattr(logger, name)) for name in TRACKERS})


def dataset_entry(dataset: DatasetConfig) -> tuple[Entry[Any, Any], Any]:
    """The loader of `dataset` and its typed loader options."""
    shorthand = {"rho": dataset.rho} if dataset.rho is not None else {}
    return typed_options(DATASETS, {"name": dataset.name, **dataset.options, **shorthand}, "dataset.options")


def env_entry(node: Mapping[str, Any] | None) -> tuple[Entry[Any, Any], Any]:
    """The env builder named by an env config and its typed options."""
    if node is None:
        raise ConfigError(f"an episode-loop model needs an environment: add env=<name>; valid: {', '.join(ENVS.names())}")
    return typed_options(ENVS, node, "env")


def chosen_keys(overrides: Sequence[str]) -> frozenset[str]:
    """The group or key each command-line override sets (`+x=1` and `~x` included)."""
    return frozenset(o.split("=", 1)[0].lstrip("+~") for o in overrides if not o.startswith("hydra"))


def resolve(cfg: DictConfig | Mapping[str, Any], run_dir: str | Path, overrides: Sequence[str] = ()) -> Job:
    """Check the whole job config and look up its builders. `cfg` is the composed config (a
    DictConfig from Hydra, or plain values from Python); `overrides` the command line's."""
    use_family_index()  # each lookup below imports its family's module only
    source = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    plain: dict[str, Any] = OmegaConf.to_container(source, resolve=True, enum_to_str=True)  # type: ignore[assignment]
    chosen = chosen_keys(overrides)
    if plain.get("ckpt") and plain.get("task", "train") != Task.train.value:
        plain = with_checkpoint_provenance(plain, Path(plain["ckpt"]), chosen)
    try:
        typed: Config = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Config), plain))  # type: ignore[assignment]
    except OmegaConfBaseException as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None
    check_ranges(typed)  # the runner's own groups: seed, paths, dataset, trainer, logger
    model, model_options = typed_options(MODELS, plain["model"], "model")
    refuse_unread_groups(model, chosen)
    refuse_unread_image(model, typed.task, typed.image)
    sample = typed_sample(model, plain.get("sample") or {})
    optimizer, optimizer_options = typed_options(OPTIMIZERS, plain["optimizer"], "optimizer")
    if "optimizer" in chosen:
        report_carried_over(optimizer, optimizer_options, chosen)
    loader_values, kind_values = split_dataset_options(model, typed.dataset.name, typed.dataset.options)
    dataset, dataset_options = dataset_entry(dataclasses.replace(typed.dataset, options=loader_values))
    kind_cls = INPUT_KINDS.get(kind).spec.options if (kind := kind_of(model.spec)) else None
    input_options = typed_values(kind_cls, kind_values, "dataset.options") if kind_cls else None
    if isinstance(model.spec, FitSpec):
        refuse_unreadable_source(model, dataset)
    trainer = typed.trainer
    if not isinstance(model.spec, FitSpec):
        refuse_fit_loop_settings(model, trainer)
    refuse_unread_evaluate(model, Task(typed.task), typed.evaluate)
    if getattr(optimizer_options, "decay", 0) > 0 and (trainer.lr_schedule.boundaries or trainer.plateau.enabled):
        raise ConfigError("optimizer.decay cannot be combined with trainer.lr_schedule or trainer.plateau; set one of them")
    return Job(
        task=Task(typed.task),
        seed=typed.seed,
        run_dir=Path(run_dir),
        model=model,
        model_options=model_options,
        dataset=dataset,
        dataset_config=typed.dataset,
        dataset_options=dataset_options,
        optimizer=optimizer,
        optimizer_options=optimizer_options,
        trainer=trainer,
        logger=typed_trackers(typed.logger),
        data_dir=Path(typed.paths.data_dir),
        output_dir=Path(typed.paths.output_dir),
        ckpt=Path(typed.ckpt) if typed.ckpt else None,
        split=Split(typed.split),
        sample=sample,
        image=Path(typed.image) if typed.image else None,
        env=plain.get("env"),
        gif=typed.gif,
        export=typed.export,
        evaluate=typed.evaluate,
        chosen=chosen,
        config=plain,
        input_options=input_options,
    )


GROUPS_EVERY_FAMILY_READS = ("model", "seed", "task", "ckpt", "split", "sample", "image", "gif", "export", "evaluate",
                             "paths", "experiment", "debug", "hparams_search", "launcher", "table", "optimized_metric")
"""Set on the command line for any family: the job's identity, task options and presets."""


def refuse_unread_groups(model: Entry[Any, FamilySpec], chosen: frozenset[str]) -> None:
    """A group set on the command line that the chosen family never reads is refused: its value
    would be silently ignored (`run model=dqn dataset=mnist`)."""
    reads = model.spec.reads()
    for key in sorted(chosen):
        group = key.split(".", 1)[0]
        if group in reads or group in GROUPS_EVERY_FAMILY_READS:
            continue
        readers = [name for name in MODELS.names() if group in MODELS.get(name).spec.reads()]
        raise ConfigError(
            f"model '{model.name}' {model.spec.does} and does not read {key}= (it reads: {', '.join(reads)}); "
            f"{group}= is read by: {', '.join(readers) or 'no model'}")


def refuse_fit_loop_settings(model: Entry[Any, FamilySpec], trainer: TrainerConfig) -> None:
    """trainer.strategy and trainer.precision act on the fit loop's Keras training; an agent or a
    family with no training loop would silently ignore them."""
    for key, value, default in (("strategy", trainer.strategy, "none"), ("precision", trainer.precision, "float32")):
        if value != default:
            raise ConfigError(f"trainer.{key}={value} applies to the fit loop's models; model '{model.name}' "
                              f"{model.spec.does}: leave trainer.{key}={default}")


def refuse_unread_evaluate(model: Entry[Any, FamilySpec], task: Task, evaluate: EvaluateConfig) -> None:
    """evaluate.bn_recalibrate acts where a fit-loop model is scored on a dataset (task=train's end,
    task=evaluate); anywhere else it would be silently ignored."""
    if evaluate.bn_recalibrate and (not isinstance(model.spec, FitSpec) or task not in (Task.train, Task.evaluate)):
        raise ConfigError(f"evaluate.bn_recalibrate={evaluate.bn_recalibrate} applies to the scoring of a fit-loop model "
                          f"(task=train or task=evaluate); task={task.value} of model '{model.name}' does not read it: "
                          "leave it at 0")


def refuse_unread_image(model: Entry[Any, FamilySpec], task: Task, image: Optional[str]) -> None:
    """`image=` is read by task=predict and by the no-training-loop families (classical
    segmentation); anywhere else it would be silently ignored."""
    if not image or task == Task.predict or (task == Task.train and isinstance(model.spec, NoneSpec)):
        return
    readers = [name for name in MODELS.names() if isinstance(MODELS.get(name).spec, NoneSpec)]
    raise ConfigError(f"image= is not read by task={task.value} of model '{model.name}'; it is read by task=predict "
                      f"(a checkpoint on your own images) and by the models with no training loop: {', '.join(readers)}")


def sources_read(spec: FitSpec) -> tuple[str, ...]:
    """The dataset sources (kernel.specs.SOURCES) a fit family's pipeline reads: its input kind's, or
    the array pipeline's labelled images (and two image domains for a two-domain model)."""
    if spec.input_kind is not None:
        return tuple(INPUT_KINDS.get(spec.input_kind).spec.sources)
    return ("labels", "pairs") if spec.two_domains else ("labels",)


def refuse_unreadable_source(model: Entry[Any, FitSpec], dataset: Entry[Any, Any]) -> None:
    """A dataset whose source the family's pipeline cannot read (`run model=mlp dataset=drinks`) is
    refused before anything is loaded, naming the datasets it can read and the models that read this
    one. Two image domains given to a one-domain array model are left to the loaded data, whose error
    names the domains to choose from."""
    reads, source = sources_read(model.spec), dataset.spec.source
    if source in reads or (source == "pairs" and model.spec.input_kind is None):
        return
    readers = [name for name in MODELS.names() if isinstance(spec := MODELS.get(name).spec, FitSpec)
               and source in sources_read(spec)]
    datasets = [name for name in DATASETS.names() if DATASETS.get(name).spec.source in reads]
    wanted = " or ".join(reads)
    raise IncompatibleError(
        f"model '{model.name}' reads {wanted} but dataset '{dataset.name}' yields {source}; datasets that yield "
        f"{wanted}: {', '.join(datasets) or 'none'}; models that read {source}: {', '.join(readers) or 'none'}")


def report_carried_over(optimizer: Entry[Any, Any], options: Any, chosen: frozenset[str]) -> None:
    """`optimizer=X` on a model preset keeps the preset's optimizer values (WGAN's learning rate,
    say) rather than X's own defaults: say so in one line, naming each value kept."""
    defaults = optimizer.spec.options()
    kept = [f"{field.name}={getattr(options, field.name)!r} (its default: {getattr(defaults, field.name)!r})"
            for field in dataclasses.fields(options)
            if getattr(options, field.name) != getattr(defaults, field.name) and f"optimizer.{field.name}" not in chosen]
    if kept:
        log.info("optimizer=%s keeps the model preset's %s; set optimizer.<key>= to change them",
                 optimizer.name, ", ".join(kept))


def with_checkpoint_provenance(config: dict[str, Any], ckpt: Path, chosen: frozenset[str]) -> dict[str, Any]:
    """`config` with the model, and unless `dataset=` was chosen the data identity (name, loader
    options, label encoding, preprocessing; never augmentation), of the run that saved `ckpt`. A
    checkpoint with no run dir around it keeps this command's. A different model named on the
    command line is refused: it would misread the checkpoint; `model.<key>=` values on the command
    line override the trained ones."""
    trained = run_config_of(ckpt) if ckpt.exists() else None
    if not trained or "model" not in trained:
        return config
    mine, theirs = config["model"], trained["model"]
    if "model" in chosen and mine.get("name") != theirs.get("name"):
        kind = "agent" if MODELS.get(str(theirs.get("name"))).spec.loop == "episodes" else "model"
        raise IncompatibleError(
            f"checkpoint {ckpt} holds a '{theirs.get('name')}' {kind}, not '{mine.get('name')}'; "
            f"use model={theirs.get('name')} (or leave model= out)")
    # The command's own model.<key>= values (a detector's NMS settings) apply on top; the family
    # refuses those the checkpoint fixed (FitSpec.for_inference).
    given = {key.split(".", 1)[1] for key in chosen if key.startswith("model.") and key.count(".") == 1}
    refuse_changed_architecture(str(theirs.get("name")), ckpt, {key: mine[key] for key in given if key in mine}, theirs)
    config = {**config, "model": {**theirs, **{key: mine[key] for key in given if key in mine}}}
    if "dataset" not in chosen and isinstance(trained.get("dataset"), dict):
        # A dataset.<key>= on the command line wins (say, how much of the training split split=train measures).
        identity = {key: trained["dataset"][key] for key in _DATA_IDENTITY
                    if key in trained["dataset"] and f"dataset.{key}" not in chosen}
        config["dataset"] = {**config["dataset"], **identity, "augment": False}
    return config


def refuse_changed_architecture(name: str, ckpt: Path, given: dict[str, Any], trained: dict[str, Any]) -> None:
    """A `model.<key>=` on a task on a checkpoint that differs from the checkpoint's run and is not
    one of the family's `inference_options` would be silently ignored (the loaded network is the
    trained one): one line naming it, the trained value and what may be set."""
    changed = {key: value for key, value in given.items() if key in trained and value != trained[key]}
    if not changed:
        return
    use_family_index()
    allowed = getattr(MODELS.get(name).spec, "inference_options", ())
    for key, value in changed.items():
        if key not in allowed:
            may = f"; a checkpoint's {name} takes {', '.join(f'model.{k}' for k in allowed)}" if allowed else ""
            raise IncompatibleError(f"model.{key}={value} cannot change the trained {name} of checkpoint {ckpt}: its run "
                                    f"has model.{key}={trained[key]}; leave it out (or train a new run){may}")


_DATA_IDENTITY = ("name", "options", "rho", "labels", "subtract_pixel_mean", "validation", "train_limit", "sigma",
                  "noise_mean", "noise_seed", "gray_input")
"""What makes a checkpoint's data the same data (the inputs a denoiser or colorizer was trained on:
`mnist_noisy` is mnist plus its sigma; its training split is what `train_limit` and then
`validation` left of it: the held-out examples, split=train and a recomputed pixel mean depend on
both); where the files are and whether they are verified stay as the evaluating command says."""
