"""Property-based: random overrides thrown at the real `run` entry point (in-process).

Every command line must end in a completed run (exit 0, metrics.json with status completed) or in
exactly one `error:` line with a non-zero exit and no traceback; and whatever run dir is left
holds only whole files (no temp names, every JSON parses).
"""

from __future__ import annotations

import itertools
import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adl_runner.runner.cli import _INFO_FLAGS, config_groups

GROUPS = config_groups()
KEYS = [
    "seed", "task", "ckpt", "split", "trainer.epochs", "trainer.batch_size", "trainer.jit_compile",
    "trainer.nan_policy", "trainer.nan_recovery.max_trials", "trainer.nan_recovery.lr_factor", "trainer.loss_bound",
    "trainer.checkpoint.mode", "trainer.checkpoint.monitor", "trainer.lr_schedule.boundaries",
    "trainer.lr_schedule.factors", "trainer.plateau.enabled", "trainer.deterministic", "model.dropout",
    "model.hidden_units", "model.latent_dim", "model.cell", "optimizer.learning_rate", "optimizer.decay",
    "dataset.sigma", "dataset.labels", "dataset.augment", "dataset.options.n_train", "sample.n",
    "sample.latent", "logger.summary",
]
# Appended after the fuzzed part (the last value of a key wins): whatever was drawn, a run that
# does start stays a one-step job.
TAIL = ("trainer.epochs=1", "trainer.steps_per_epoch=1", "dataset.train_limit=64", "dataset.test_limit=32",
        "trainer.evaluate_train=false", "logger.tensorboard=false", "logger.plots=false", "trainer.verbose=none")
CHEAP_MODELS = ["mlp", "cnn", "rnn", "autoencoder", "vae_mlp"]
_counter = itertools.count()


def overrides(models: list[str]) -> st.SearchStrategy[list[str]]:
    """A few overrides: group choices (real, misspelt, empty), keys with values of every kind, and
    raw tokens that are not overrides at all."""
    group_choice = st.sampled_from(sorted(GROUPS)).flatmap(
        lambda group: st.tuples(
            st.just(group),
            st.sampled_from((models if group == "model" else GROUPS[group]) + ["", "null", "mlpp", "book/nope"]),
        )
    ).map(lambda kv: f"{kv[0]}={kv[1]}")
    value = st.one_of(
        st.integers(-3, 3).map(str),
        st.sampled_from(["nan", "inf", "-inf", "1e309", "0.5", "true", "null", "[]", "[1,2]", "[0.5,-1.0]",
                         "{a:1}", "${oc.env:NOPE}", "${model.name}", "'quoted'", "a,b", "x=y"]),
        st.text(alphabet=string.ascii_letters + string.digits + "=,[]{}'\"$:._- ", max_size=10),
    )
    key = st.one_of(st.sampled_from(KEYS), st.from_regex(r"[a-z_]{1,8}(\.[a-z_]{1,8})?", fullmatch=True))
    key_value = st.tuples(st.sampled_from(["", "", "", "+", "++", "~"]), key, value).map(
        lambda t: f"{t[0]}{t[1]}={t[2]}" if t[0] != "~" else f"~{t[1]}"
    )
    raw = st.text(alphabet=string.printable.strip(), min_size=1, max_size=12).filter(
        lambda s: s not in _INFO_FLAGS and not s.startswith("hydra") and s not in ("-m", "--multirun")
    )
    token = st.one_of(group_choice, key_value, key_value, raw)
    return st.lists(token, min_size=1, max_size=3).filter(lambda argv: not any(a.startswith("hydra") for a in argv))


def check_outcome(run_cli, tmp_path: Path, argv: list[str]) -> None:
    run_dir = tmp_path / f"fuzz{next(_counter)}"
    result = run_cli(*argv, *TAIL, run_dir=run_dir)
    shown = f"argv={argv!r} code={result.code}\nstderr:\n{result.err[-3000:]}"
    assert "Traceback" not in result.err and "Traceback" not in result.out, shown
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    if result.code == 0:
        assert errors == [], shown
        assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed", shown
    else:
        assert len(errors) == 1, shown
    if run_dir.exists():
        leftovers = [p for p in run_dir.rglob(".*") if p.name != ".hydra" and ".hydra" not in p.parts]
        assert leftovers == [], shown  # a temp name means a write was cut off
        for path in run_dir.rglob("*.json"):
            json.loads(path.read_text())


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                                     HealthCheck.too_slow])
@given(argv=overrides(["mlp", "mlpp"]))
@example(argv=["~seed"])  # found by the slow variant: passed validation, then a traceback in the job
@example(argv=["-x"])  # argparse's usage block, before unknown flags were refused in one line
def test_random_overrides_end_in_a_run_or_one_line(run_cli, tmp_path: Path, argv: list[str]) -> None:
    check_outcome(run_cli, tmp_path, argv)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(argv=overrides(CHEAP_MODELS + sorted(set(GROUPS["model"]) - set(CHEAP_MODELS))))
def test_random_overrides_end_in_a_run_or_one_line_many(run_cli, tmp_path: Path, argv: list[str]) -> None:
    check_outcome(run_cli, tmp_path, argv)


KEY_FAMILIES = ["cnn", "rnn", "autoencoder", "vae_cnn", "softmax_regression"]
"""Families besides the default MLP whose model keys the value fuzz draws too (one-step runs on
the TAIL: a value that is valid there stays cheap)."""


def _every_key() -> list[str]:
    """Every leaf key of the composed default config (the MLP with Adam): each runner group's,
    the model's and the optimizer's; then the model keys of each of KEY_FAMILIES, as
    `model=<family> model.<key>`."""
    from hydra import compose, initialize_config_dir
    from omegaconf import DictConfig, OmegaConf

    from adl_runner.runner.cli import CONF_DIR, _flat_keys

    def leaves(overrides: list[str]) -> list[str]:
        cfg = compose("config", overrides=overrides)
        return [key for key in _flat_keys(cfg) if not isinstance(OmegaConf.select(cfg, key), DictConfig)]

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="run"):
        return sorted(leaves([])) + [f"model={family} {key}" for family in KEY_FAMILIES
                                     for key in sorted(leaves([f"model={family}"]))
                                     if key.startswith("model.") and key != "model.name"]


EVERY_KEY = _every_key()
BAD_VALUES = ["-1", "-0.5", "0", "nan", "inf", "-inf", "1e309", "99999999999999999999999", "abc", "''", "[]",
              "é", "数字", "🙂", "true"]
"""A value of every kind: negative, zero, NaN, inf, huge (beyond float and 64-bit int), wrong type,
empty, unicode."""


def check_bad_value(run_cli, tmp_path: Path, key: str, value: str) -> None:
    """A completed run (the value is valid there), else one `error:` line, exit 2, no run dir."""
    run_dir = tmp_path / f"value{next(_counter)}"
    *family, key = key.split(" ")  # `model=<family> model.<key>`: a model key of another family
    result = run_cli(*family, f"{key}={value}", *[t for t in TAIL if not t.startswith(f"{key}=")], run_dir=run_dir)
    shown = f"{key}={value} code={result.code}\nstderr:\n{result.err[-3000:]}"
    assert "Traceback" not in result.err and "Traceback" not in result.out, shown
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    if result.code == 0:
        assert errors == [], shown
    else:
        assert result.code == 2 and len(errors) == 1, shown
        assert not run_dir.exists(), shown


@settings(max_examples=9, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                                      HealthCheck.too_slow])
@given(key=st.sampled_from(EVERY_KEY), value=st.sampled_from(BAD_VALUES))
@example(key="optimizer.beta_1", value="nan")
@example(key="seed", value="99999999999999999999999")
@example(key="paths.output_dir", value="''")
@example(key="model=vae_cnn model.latent_dim", value="1")  # a builder's check before ranges were declared on its options
def test_a_value_of_any_kind_for_any_key_is_a_run_or_one_line(run_cli, tmp_path: Path, key: str, value: str) -> None:
    check_bad_value(run_cli, tmp_path, key, value)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(key=st.sampled_from(EVERY_KEY), value=st.sampled_from(BAD_VALUES))
def test_a_value_of_any_kind_for_any_key_is_a_run_or_one_line_many(run_cli, tmp_path: Path, key: str, value: str) -> None:
    check_bad_value(run_cli, tmp_path, key, value)
