"""The family index: every registered name is in it with the module that registers it, a lookup
imports that module only, and a listing names every family without importing any."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from adl_runner.kernel.errors import ConfigError
from adl_runner.kernel.registry import Registry
from adl_runner.runner.families import INDEX_FILE, index_source, scanned_index
from adl_runner.runner.family_index import INDEX


def test_the_committed_index_is_what_the_modules_register() -> None:
    scanned = scanned_index()
    assert INDEX == scanned, "out of date: python -m adl_runner.runner.families"
    assert INDEX_FILE.read_text() == index_source(scanned)
    assert {"mlp", "dcgan", "kmeans_segmentation"} <= INDEX["model"].keys()
    assert {"mnist", "drinks"} <= INDEX["dataset"].keys() and INDEX["env"] and INDEX["evaluator"]


@dataclass(frozen=True)
class _Spec:
    options: object = None


@pytest.fixture
def indexed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """A registry indexed with two names of a module not imported yet, and one the module lacks."""
    registry: Registry = Registry("widget", (_Spec,))
    monkeypatch.setattr(sys.modules[__name__], "WIDGETS", registry, raising=False)
    (tmp_path / "widget_family.py").write_text(
        f"import {__name__} as t\n"
        "@t.WIDGETS.register('round', t._Spec())\ndef round_widget(): ...\n"
        "@t.WIDGETS.register('square', t._Spec())\ndef square_widget(): ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "widget_family", raising=False)
    registry.index({"round": "widget_family", "square": "widget_family", "oval": "widget_family"})
    return registry


def test_names_list_indexed_families_without_importing_them(indexed: Registry) -> None:
    assert indexed.names() == ["oval", "round", "square"]
    assert "widget_family" not in sys.modules
    with pytest.raises(ConfigError, match=r"unknown widget 'rond' \(did you mean 'round'\?\); valid: oval, round, square"):
        indexed.get("rond")
    assert "widget_family" not in sys.modules


def test_a_lookup_imports_its_module(indexed: Registry) -> None:
    assert indexed.get("square").name == "square"
    assert "widget_family" in sys.modules
    assert set(indexed.registered()) == {"round", "square"}


def test_an_indexed_module_that_does_not_register_the_name_says_so(indexed: Registry) -> None:
    with pytest.raises(LookupError, match="widget 'oval': its indexed module widget_family does not register it"):
        indexed.get("oval")


@pytest.mark.slow
def test_an_mlp_job_imports_no_other_family(tmp_path: Path) -> None:
    """A whole MLP job in a fresh process imports the MLP's family and none of the segmentation,
    detection or RL families, nor their third-party imports (scikit-image, scipy.ndimage,
    gymnasium): the point of the index."""
    code = ("import json, sys, adl_runner\n"
            f"adl_runner.run(['model=mlp', 'dataset=mnist', 'debug=smoke', 'hydra.run.dir={tmp_path / 'run'}'])\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('adl_runner.models.', 'skimage', 'gymnasium', 'scipy.ndimage')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), check=True)
    imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert "adl_runner.models.classifiers" in imported
    unwanted = ("skimage", "gymnasium", "scipy.ndimage", *(f"adl_runner.models.{p}" for p in ("segmentation", "detection", "rl", "gan", "vae")))
    assert not [module for module in imported if module.startswith(unwanted)]


def test_the_tasks_import_no_family() -> None:
    """Every job imports the tasks; the runner never names a family, so they import neither the GAN
    nor the VAE package (their export endpoints come from the families' `serve` hooks)."""
    code = ("import json, sys, adl_runner.runner.tasks\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('adl_runner.models.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), check=True)
    imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert not [m for m in imported if m.startswith(("adl_runner.models.gan", "adl_runner.models.vae"))], imported
