"""How often a single job's config is composed before the job starts: once by `validate`, once by
Hydra's run; Hydra's `get_mode` composition is spared only where its answer is known."""

from __future__ import annotations

import contextlib
import io

import pytest
from hydra._internal.hydra import Hydra
from hydra.types import RunMode

from adl_runner.runner import tf_startup


class _HandedOver(SystemExit):
    """Hydra handed the job over: what is counted here is done, the job itself is not needed."""


@pytest.fixture
def compositions(monkeypatch: pytest.MonkeyPatch) -> list[RunMode]:
    """The run mode of every composition made by a `run` call (validate's and Hydra's)."""
    calls: list[RunMode] = []
    compose_config = Hydra.compose_config

    def counted(self, *args, **kwargs):
        calls.append(kwargs["run_mode"])
        return compose_config(self, *args, **kwargs)

    def hand_over() -> None:
        raise _HandedOver(0)

    monkeypatch.setattr(Hydra, "compose_config", counted)
    monkeypatch.setattr(tf_startup, "import_tensorflow", hand_over)
    return calls


def test_a_single_job_is_composed_twice(run_cli, compositions) -> None:
    asked = Hydra.get_mode
    assert run_cli("model=mlp", "dataset=mnist", "debug=smoke").code == 0
    assert compositions == [RunMode.RUN, RunMode.RUN]  # validate's, then Hydra's run: no get_mode
    assert Hydra.get_mode is asked  # restored for whatever runs next in the process


@pytest.mark.parametrize("setting", ["hydra.mode=RUN", "hydra.job.chdir=false"])
def test_hydra_asks_for_the_mode_where_a_setting_could_change_it(run_cli, compositions, setting) -> None:
    assert run_cli("model=mlp", "dataset=mnist", "debug=smoke", setting).code == 0
    assert compositions == [RunMode.RUN, RunMode.MULTIRUN, RunMode.RUN]  # get_mode composes (as MULTIRUN)


def test_a_job_in_the_default_run_dir_is_composed_twice_too(compositions, fake_data_dir, tmp_path, monkeypatch) -> None:
    """The default dir's checks (writable output dir, the dir to claim) read validate's composition."""
    from adl_runner.runner.cli import main

    monkeypatch.setenv("RUNNER_DATA_DIR", str(fake_data_dir))
    monkeypatch.setenv("RUNNER_VERIFY_CHECKSUMS", "false")
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["model=mlp", "dataset=mnist", "debug=smoke", f"paths.output_dir={out}"])
    assert code == 0, err.getvalue()
    assert compositions == [RunMode.RUN, RunMode.RUN]
    claimed = list((out / "runs").glob("*/*_mlp_mnist"))
    assert len(claimed) == 1, claimed
