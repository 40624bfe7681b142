"""Config -> typed options and registry entries, checked before anything is built.

This is the one place where the model, dataset-loader and optimizer nodes of the config are read:
each is validated against the options dataclass its builder registered, so an unknown key or a
value of the wrong type is a one-line error naming the key and the valid choices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import DATASETS, MODELS, Entry, Registry, did_you_mean
from adl_runner.runner.families import load_families
from adl_runner.runner.optim import OPTIMIZERS
from adl_runner.runner.schema import DatasetConfig, LoggerConfig, TrainerConfig


@dataclass
class Job:
    """Everything a task needs from the config, typed."""

    seed: int
    model: Entry[Any]
    model_options: Any
    dataset: Entry[Any]
    dataset_config: DatasetConfig
    dataset_options: Any
    optimizer: Entry[Any]
    optimizer_options: Any
    trainer: TrainerConfig
    logger: LoggerConfig
    data_dir: str
    output_dir: str


def typed_options(registry: Registry[Any], node: Any, where: str) -> tuple[Entry[Any], Any]:
    """The registry entry named by `node.name` and `node`'s other keys as its options dataclass."""
    values = dict(OmegaConf.to_container(node, resolve=True)) if isinstance(node, DictConfig) else dict(node)
    name = values.pop("name", None)
    if name is None:
        raise ConfigError(f"{where}.name is missing; valid: {', '.join(registry.names())}")
    entry = registry.get(str(name))
    options_cls = entry.meta.get("options")
    if options_cls is None:
        return entry, None
    valid = [f.name for f in dataclasses.fields(options_cls)]
    for key in values:
        if key not in valid:
            raise ConfigError(
                f"{where}.{key} is not an option of {registry.kind} '{name}'{did_you_mean(key, valid)}; "
                f"valid: {', '.join(valid) or '(none)'}"
            )
    try:
        merged = OmegaConf.merge(OmegaConf.structured(options_cls), values)
        return entry, OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        message = str(exc).splitlines()[0]
        raise ConfigError(f"{where}.{key}: {message}" if key else f"{where}: {message}") from None


def dataset_entry(dataset: DatasetConfig) -> tuple[Entry[Any], Any]:
    """The loader of `dataset` and its typed loader options."""
    return typed_options(DATASETS, {"name": dataset.name, **dataset.options}, "dataset.options")


def resolve(cfg: DictConfig) -> Job:
    """Check the whole job config and look up its builders."""
    load_families()
    schema_view: Any = OmegaConf.to_object(cfg)  # runs the schema's __post_init__ checks
    model, model_options = typed_options(MODELS, cfg.model, "model")
    dataset_config: DatasetConfig = schema_view.dataset
    dataset, dataset_options = dataset_entry(dataset_config)
    optimizer, optimizer_options = typed_options(OPTIMIZERS, cfg.optimizer, "optimizer")
    trainer: TrainerConfig = schema_view.trainer
    if getattr(optimizer_options, "decay", 0) > 0 and (trainer.lr_schedule.boundaries or trainer.plateau.enabled):
        raise ConfigError("optimizer.decay cannot be combined with trainer.lr_schedule or trainer.plateau; set one of them")
    return Job(
        seed=cfg.seed,
        model=model,
        model_options=model_options,
        dataset=dataset,
        dataset_config=dataset_config,
        dataset_options=dataset_options,
        optimizer=optimizer,
        optimizer_options=optimizer_options,
        trainer=trainer,
        logger=schema_view.logger,
        data_dir=str(cfg.paths.data_dir),
        output_dir=str(cfg.paths.output_dir),
    )
