"""Environments of the episode-loop models: the book's QWorld and gymnasium's classic ones.

Each environment registers itself in `adl_runner.kernel.registry.ENVS` (name -> builder of an `EnvHandle`)
with an options dataclass, exactly like a dataset loader; `conf/env/<name>.yaml` chooses it.
"""
