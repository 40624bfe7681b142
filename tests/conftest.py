"""Shared fixtures: fake datasets in the real formats, and the real `run` entry point in-process."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import sys  # noqa: E402

import tensorflow  # noqa: E402,F401

# Two logical CPUs for the whole session, set before TensorFlow initialises: what the tests of
# trainer.strategy=mirrored replicate over. Everything else places its ops on the first, as on one CPU.
tensorflow.config.set_logical_device_configuration(
    tensorflow.config.list_physical_devices("CPU")[0], [tensorflow.config.LogicalDeviceConfiguration()] * 2)
from absl import logging as absl_logging  # noqa: E402

# absl's handler writes to the stderr of its import (here: pytest's capture of collection) and
# closes that stream whenever logging is reconfigured, which Hydra does for every job; pytest's
# own reporting then loses its stderr. Point it at the real stderr, which absl never closes.
absl_logging.get_absl_handler().python_handler.stream = sys.__stderr__

from hydra.core.plugins import Plugins  # noqa: E402

# Hydra's first plugin scan re-executes plugin modules even when already imported, redefining
# their classes; scan now, before test modules import the book-table sweeper.
Plugins.instance()

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runner's user cache (the GAN judge) in a temporary folder: tests never touch ~/.cache."""
    from adl_runner.kernel.cachedir import CACHE_DIR_VARIABLE

    path = tmp_path_factory.mktemp("user_cache")
    os.environ[CACHE_DIR_VARIABLE] = str(path)
    return path


@pytest.fixture(scope="session")
def fake_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir laid out like shared/datasets, holding small learnable fakes (drinks: 60x80 jpgs)."""
    from adl_runner.data.synthetic import write_cifar10, write_fashion_mnist, write_mnist_npz
    from adl_runner.data.synthetic_boxes import write_fake_drinks

    root = tmp_path_factory.mktemp("data")
    write_mnist_npz(root, n_train=256, n_test=64)
    write_fashion_mnist(root, n_train=256, n_test=64)
    write_cifar10(root, variant="subset", n_per_batch=40)
    write_fake_drinks(root, n_train=16, n_test=8)
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str
    run_dir: Path

    def metrics(self) -> dict:
        return json.loads((self.run_dir / "metrics.json").read_text())

    def assert_error(self, *fragments: str, no_run_dir: bool = False) -> str:
        """Exit code 2 and exactly one `error:` line, holding every fragment, with no traceback."""
        assert self.code == 2, (self.code, self.err)
        errors = [line for line in self.err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, self.err
        assert "Traceback" not in self.err
        for fragment in fragments:
            assert fragment in errors[0], errors[0]
        if no_run_dir:
            assert not self.run_dir.exists()
        return errors[0]


@pytest.fixture
def run_cli(tmp_path: Path, fake_data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """Call `run` in-process with a run dir under tmp_path; fake files need checksums off."""
    from hydra.core.hydra_config import HydraConfig

    from adl_runner.runner.cli import main

    monkeypatch.setenv("RUNNER_DATA_DIR", str(fake_data_dir))

    def call(*args: str, run_dir: Path | None = None, checksums: bool = False) -> Result:
        run_dir = run_dir or tmp_path / "run"
        argv = list(args)
        if "-m" not in argv:
            argv.append(f"hydra.run.dir={run_dir}")
        # Through the environment, not dataset.verify_checksums=: a model that reads no dataset
        # (an RL agent) refuses dataset keys on its command line.
        monkeypatch.setenv("RUNNER_VERIFY_CHECKSUMS", "true" if checksums else "false")
        # Our own buffers rather than capsys: Hydra's log handlers keep the stream they were given,
        # and these stay open after the call.
        out, err = io.StringIO(), io.StringIO()
        hydra_config = HydraConfig.instance().cfg
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
        finally:
            # As a process of its own would: `--cfg` and `-m` leave Hydra's config set for the next test.
            HydraConfig.instance().cfg = hydra_config
        return Result(code, out.getvalue(), err.getvalue(), run_dir)

    return call


def checkpoint_state(path: Path) -> list:
    """Every tensor a checkpoint holds: the weights, the variables of each of its optimizers and the
    states of its random generators (dropout, sampling noise)."""
    import keras
    import numpy as np

    from adl_runner.kernel.keras_state import seed_states
    from adl_runner.runner.tasks.common import load_checkpoint

    model = load_checkpoint(path)
    optimizers = {id(o): o for o in [model.optimizer, *vars(model).values()] if isinstance(o, keras.optimizers.Optimizer)}
    return [np.asarray(v) for v in model.weights + [v for o in optimizers.values() for v in o.variables]] + list(
        seed_states(model).values())


def load_bench_module(name: str):
    """`benchmarks/<name>.py` as a module (benchmarks/ is not a package on the import path)."""
    import importlib.util

    # the benchmarks import their siblings by name, as they do when Python runs one of them
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "benchmarks" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is created
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules[spec.name]
    return mod


@pytest.fixture
def bench_module():
    """`load_bench_module` as a fixture: `bench_module("run")` is benchmarks/run.py."""
    return load_bench_module


def run_benchmarks(out: Path, *args: str, timeout: int = 1100) -> tuple[dict, str, str]:
    """`benchmarks/run.py --out out *args` in a subprocess: its JSON report, its Markdown and its stdout."""
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--out", str(out), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (json_path,) = out.glob("*.json")
    md_path = json_path.with_suffix(".md")
    assert md_path.is_file()
    return json.loads(json_path.read_text()), md_path.read_text(), proc.stdout


@pytest.fixture
def benchmarks_run():
    """`run_benchmarks` as a fixture."""
    return run_benchmarks


@pytest.fixture
def checkpoint_tensors():
    """`checkpoint_state` as a fixture, for test modules (which cannot import conftest)."""
    return checkpoint_state


@pytest.fixture
def resume_pair(run_cli, tmp_path: Path):
    """Run `args` for `total` steps in one go and, in a second run dir, for `first` steps and then
    again for `total` (a resume); returns the resumed Result and both final checkpoints' tensors."""

    def call(args: tuple[str, ...], total: int, first: int) -> tuple[Result, list, list]:
        straight = run_cli(*args, f"trainer.steps={total}", run_dir=tmp_path / "straight")
        assert straight.code == 0, straight.err
        interrupted = run_cli(*args, f"trainer.steps={first}", run_dir=tmp_path / "resumed")
        assert interrupted.code == 0, interrupted.err
        resumed = run_cli(*args, f"trainer.steps={total}", run_dir=tmp_path / "resumed")
        assert resumed.code == 0, resumed.err
        assert resumed.metrics()["steps_completed"] == total
        return (resumed, checkpoint_state(tmp_path / "straight/checkpoints/last.keras"),
                checkpoint_state(tmp_path / "resumed/checkpoints/last.keras"))

    return call
