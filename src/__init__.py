"""adl-runner: a Hydra-driven experiment runner for the books' deep-learning experiments.

Installed as one import package. Its layers, lowest first, each importing only those below it:

- `adl_runner.kernel`: errors, registries, family specs, atomic files and locks, protocols,
  Keras state helpers. Imports nothing else of adl_runner.
- `adl_runner.data`, `adl_runner.models`: the dataset and model families (kernel only; models may
  use data utilities).
- `adl_runner.runner`: the CLI, tasks, training loops, run dir and reports; knows no family by name.
"""
