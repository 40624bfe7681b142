"""`dataset.options` holds two families of keys: the loader's (drinks: image_size, n_train) and
those of the model's input kind (views: crop, rotation, crop_sizes, ...). Both are data settings
of the run, so they share one node, and each kind declares its options once, on its dataclass
(`data/inputs/`). This splits the node between them; `runner.resolve` types each half.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from adl_runner.data.inputs import INPUT_KINDS
from adl_runner.data.inputs.base import RUNNER_SET_OPTIONS
from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import DATASETS, MODELS, Entry, did_you_mean
from adl_runner.kernel.specs import FamilySpec, FitSpec


def kind_of(spec: FamilySpec) -> str | None:
    """The input kind a family's batches come from (None: the array pipeline, or no dataset)."""
    return spec.input_kind if isinstance(spec, FitSpec) else None


def settable(kind: str | None) -> list[str]:
    """The options of input kind `kind` that `dataset.options` may set (all but those the runner sets
    from its own keys: `flip` is `dataset.augment`, `sampling` is `dataset.sampling`)."""
    options = INPUT_KINDS.get(kind).spec.options if kind is not None else None
    return [f.name for f in dataclasses.fields(options) if f.name not in RUNNER_SET_OPTIONS] if options is not None else []


def split_dataset_options(model: Entry[Any, FamilySpec], dataset: str,
                          options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`options` as (the loader's keys, the model's input kind's keys). A key that neither declares
    is one line naming both sets of valid keys and the models whose input kind reads it."""
    kind = kind_of(model.spec)
    loader_cls = DATASETS.get(dataset).spec.options
    loader = [f.name for f in dataclasses.fields(loader_cls)] if loader_cls is not None else []
    ours = [name for name in settable(kind) if name not in loader]
    for key in options:
        if key not in loader and key not in ours:
            valid = loader + ours
            owners = f"dataset '{dataset}'" + (f" or of input kind '{kind}' (model '{model.name}')" if kind else "")
            readers = [name for name in MODELS.names() if key in settable(kind_of(MODELS.get(name).spec))]
            also = f"; dataset.options.{key} is read by model {', '.join(readers)}" if readers else ""
            if key in RUNNER_SET_OPTIONS:
                also = f"; an input kind's {key} is {RUNNER_SET_OPTIONS[key]}="
            raise ConfigError(f"dataset.options.{key} is not an option of {owners}{did_you_mean(key, valid)}; "
                              f"valid: {', '.join(valid) or '(none)'}{also}")
    return ({k: v for k, v in options.items() if k not in ours}, {k: v for k, v in options.items() if k in ours})
