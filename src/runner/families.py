"""Import every family module once, so that their registration decorators run.

The runner never names a family: adding one is a new module under `models/` or `data/` (found
here) plus its YAML.
"""

from __future__ import annotations

import importlib
import pkgutil

_FAMILY_PACKAGES = ("adl_runner.models", "adl_runner.data")


def load_families() -> None:
    """Import every module of the family packages so that their decorators run."""
    for package_name in _FAMILY_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(info.name)
