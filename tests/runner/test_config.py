"""Every config group option composes against the schema, and every model config is typed."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from adl_runner.kernel.registry import DATASETS, MODELS
from adl_runner.runner.cli import CONF_DIR, config_groups
from adl_runner.runner.families import load_families
from adl_runner.runner.input_options import split_dataset_options
from adl_runner.runner.optim import OPTIMIZERS
from adl_runner.runner.resolve import typed_options

OPTIONS = [(group, option) for group, options in config_groups().items() for option in options]


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_and_passes_the_schema(group: str, option: str) -> None:
    from adl_runner.runner.launchers import preset_problem

    missing = preset_problem(group, option, multirun=True)  # a launcher or sweeper preset needs its plugin
    if missing is not None and "not installed" in missing:
        pytest.skip(missing)
    cfg = _compose(f"{group}={option}")
    OmegaConf.to_object(cfg)


@pytest.mark.parametrize("model", config_groups()["model"])
def test_every_model_config_is_typed_by_its_builder(model: str) -> None:
    load_families()
    cfg = _compose(f"model={model}")
    entry, options = typed_options(MODELS, cfg.model, "model")
    assert entry.name == cfg.model.name
    assert options is not None
    typed_options(OPTIMIZERS, cfg.optimizer, "optimizer")
    loader, _ = split_dataset_options(entry, cfg.dataset.name, cfg.dataset.options)  # the rest is the input kind's
    typed_options(DATASETS, {"name": cfg.dataset.name, **loader}, "dataset.options")


def test_model_file_brings_the_book_hyperparameters() -> None:
    rnn = _compose("model=rnn")
    assert (rnn.optimizer.name, rnn.trainer.epochs, rnn.trainer.batch_size) == ("sgd", 20, 128)
    resnet = _compose("model=resnet")
    assert (resnet.dataset.name, resnet.optimizer.name, resnet.trainer.epochs, resnet.trainer.batch_size) == (
        "cifar10", "adam", 200, 32)
    assert resnet.trainer.lr_schedule.boundaries == [80, 120, 160, 180]
    densenet = _compose("model=densenet_bc")
    assert densenet.optimizer.name == "rmsprop"


def test_command_line_beats_the_model_file() -> None:
    cfg = _compose("model=rnn", "optimizer=adam", "trainer.epochs=2")
    assert (cfg.optimizer.name, cfg.trainer.epochs) == ("adam", 2)


def test_data_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNNER_DATA_DIR", "/some/where")
    assert _compose().paths.data_dir == "/some/where"
    assert _compose("paths.data_dir=/else").paths.data_dir == "/else"


def test_require_one_of_lists_the_choices_and_accepts_the_extra_spellings() -> None:
    from adl_runner.kernel.errors import ConfigError, require_one_of

    require_one_of("model.decay_per", None, ("episode", "step"), also=(None,))
    require_one_of("trainer.jit_compile", "True", ("auto", "true", "false"), also=("True", "False"))
    with pytest.raises(ConfigError, match=r"^trainer.verbose must be auto, bar, line or none, got 'loud'$"):
        require_one_of("trainer.verbose", "loud", ("auto", "bar", "line", "none"))
    with pytest.raises(ConfigError, match=r"^env.version must be v0 or v1, got 'v2'$"):
        require_one_of("env.version", "v2", ("v0", "v1"))


def _checkpoint_of_a_run(tmp_path, *overrides: str):
    """A checkpoint's place in a run dir whose config.yaml is `overrides` composed (only its place is read)."""
    import yaml

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "best.keras").write_bytes(b"")
    trained = OmegaConf.to_container(_compose(*overrides), resolve=True, enum_to_str=True)
    (run / "config.yaml").write_text(yaml.safe_dump(trained))
    return run / "checkpoints" / "best.keras"


def test_a_task_on_a_checkpoint_takes_the_training_split_the_run_had(tmp_path) -> None:
    """dataset.train_limit is part of the run's data: the examples `validation` held out of it, what
    split=train measures and a recomputed pixel mean depend on it; a command that sets it keeps its own."""
    from adl_runner.runner.resolve import with_checkpoint_provenance

    ckpt = _checkpoint_of_a_run(tmp_path, "model=cnn", "dataset.train_limit=1000", "dataset.validation=100")
    command = OmegaConf.to_container(_compose("task=evaluate"), resolve=True, enum_to_str=True)
    carried = with_checkpoint_provenance(command, ckpt, frozenset({"task", "ckpt"}))
    assert (carried["dataset"]["train_limit"], carried["dataset"]["validation"]) == (1000, 100)
    own = with_checkpoint_provenance(command | {"dataset": {**command["dataset"], "train_limit": 500}},
                                     ckpt, frozenset({"task", "ckpt", "dataset.train_limit"}))
    assert own["dataset"]["train_limit"] == 500


def test_a_task_on_a_denoisers_checkpoint_takes_its_noisy_inputs(tmp_path) -> None:
    """`dataset=mnist_noisy` is mnist plus a sigma: evaluating its checkpoint with no dataset= must
    measure it on the same noisy inputs, not on clean digits."""
    from adl_runner.runner.resolve import with_checkpoint_provenance

    ckpt = _checkpoint_of_a_run(tmp_path, "model=dae", "dataset.sigma=0.75", "dataset.noise_seed=7")
    command = OmegaConf.to_container(_compose("task=evaluate"), resolve=True, enum_to_str=True)
    carried = with_checkpoint_provenance(command, ckpt, frozenset({"task", "ckpt"}))
    assert (carried["dataset"]["sigma"], carried["dataset"]["noise_seed"]) == (0.75, 7)
