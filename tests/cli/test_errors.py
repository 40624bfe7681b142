"""Every bad input named in the foundation issue ends in one line, exit code 2, and no run dir."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import adl_runner
import adl_runner.runner
from adl_runner.data.synthetic import write_mnist_npz
from adl_runner.runner.cli import config_groups
from adl_runner.runner.tf_startup import is_startup_notice

SMOKE = ("debug=smoke", "logger.tensorboard=false")


def _child_env() -> dict[str, str]:
    """The environment of a child `run`: it imports this checkout's runner, not whichever one the venv
    has installed."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(adl_runner.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("model=mlpp", ("unknown model 'mlpp'", "did you mean 'mlp'", "valid: ", " cnn, ")),
        ("dataset=mnst", ("unknown dataset 'mnst'", "did you mean 'mnist'")),
        ("optimizer=adamw", ("unknown optimizer 'adamw'", "did you mean 'adam'", "rmsprop")),
        ("trainer=fast", ("unknown trainer 'fast'", "valid: default")),
        ("experiment=book/table_9", ("unknown experiment 'book/table_9'",)),
        ("trainer.epochs=abc", ("trainer.epochs=abc", "could not be converted to Integer")),
        ("trainer.batch_size=-4", ("trainer.batch_size must be in [1, 65,536]", "got -4")),
        ("trainer.epochs=0", ("trainer.epochs must be in [1, 1,000,000], got 0",)),
        ("foo=1", ("unknown config key 'foo'", "+foo=")),
        ("model.dropot=0.1", ("unknown config key 'model.dropot'", "did you mean 'model.dropout'")),
        ("optimizer.lr=0.1", ("unknown config key 'optimizer.lr'", "did you mean 'optimizer.learning_rate'")),
        ("trainer.lr_schedule.boundaries=5", ("trainer.lr_schedule.boundaries expects a list such as [", "got 5")),
        ("task=bogus", ("task=bogus", "expected one of [train, evaluate, export, sample, predict]")),
        ("optimizer=adam,sgd", ("is a sweep: add -m",)),
        ("experiment=book/table_1_5_1", ("book table", "run it with -m")),
        ("dataset.sigma=-0.5", ("dataset.sigma must be >= 0, got -0.5",)),
        ("sample.n=0", ("sample.n must be in [1, 10,000]",)),
        ("sample.grid=300", ("sample.grid must be in [1, 100] (a 100x100 grid decodes 10,000 images), got 300",)),
        ("optimizer.beta_1=2", ("optimizer.beta_1 must be in [0, 1), got 2",)),
        ("paths.output_dir=", ("paths.output_dir must not be empty",)),
        ("ckpt=/runs/sweep/model=dcgan,seed=1", ("cannot parse 'ckpt=/runs/sweep/model=dcgan,seed=1'",
                                                 "quote it: \"ckpt='/runs/sweep/model=dcgan,seed=1'\"")),
        ("model=mlp)", ("cannot parse 'model=mlp)'",)),
    ],
)
def test_bad_command_line_fails_before_hydra_starts(run_cli, override: str, fragments: tuple[str, ...]) -> None:
    result = run_cli(override)
    result.assert_error(*fragments)
    assert not result.run_dir.exists()


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (("model.dropout=abc",), ("model.dropout", "abc")),
        (("model=rnn", "model.cell=transformer"), ("transformer",)),
        (("model=resnet", "dataset=mnist"), ("model 'resnet' cannot run on dataset 'mnist'", "32x32", "28x28x1")),
        (("model=densenet_bc", "dataset=synthetic"), ("model 'densenet_bc' cannot run on dataset 'synthetic'",)),
        (("dataset=cifar10", "dataset.options.variant=ful"), ("unknown cifar10 variant 'ful'", "did you mean 'full'")),
        (("dataset=cifar10", "+dataset.options.colour=1"), ("dataset.options.colour is not an option",)),
        (("dataset=mnist", "dataset.gray_input=true"), ("dataset 'mnist': gray-to-colour inputs need RGB images",)),
        (("model.hidden_units=512",), ("model.hidden_units expects a list such as [256,256], got 512",)),
    ],
)
def test_bad_job_config_leaves_no_run_dir(run_cli, overrides: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    result = run_cli(*overrides, *SMOKE)
    result.assert_error(*fragments)
    assert not result.run_dir.exists()


def test_a_mistyped_key_is_matched_among_the_chosen_models_keys(run_cli) -> None:
    """The suggestion comes from the config this command composes (resnet's keys), not the default's (mlp)."""
    run_cli("model=resnet", "model.verison=2").assert_error("did you mean 'model.version'", no_run_dir=True)


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (("--shell-completion",), ("--shell-completion needs one of install=", 'eval "$(run --shell-completion install=bash)"')),
        (("-sc", "install=tcsh"), ("no completion for 'tcsh'", "valid: bash, zsh, fish")),
        (("-sc", "install=bash", "-m"), ("--shell-completion prints a shell script", "run it alone")),
        (("-m", "experiment=book/table_9_5_1", "--cfg", "job"),
         ("--cfg shows one job, not a sweep: drop -m", "`run experiment=book/table_9_5_1 --cfg job`")),
        (("-m", "--info"), ("--info shows one job", "drop -m")),
        (("-r", "-m"), ("only one of --run, --multirun", "got --multirun and --run; keep one")),
    ],
)
def test_hydra_modes_and_completion_misuse_end_in_one_line(run_cli, argv: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    """Hydra answers these with a traceback (ValueError); the runner with what to type instead."""
    run_cli(*argv).assert_error(*fragments, no_run_dir=True)


def test_the_documented_completion_command_prints_a_bash_script(run_cli) -> None:
    result = run_cli("--shell-completion", "install=bash")
    assert result.code == 0, result.err
    assert result.out.rstrip().endswith("-F hydra_bash_completion run")


def test_version_names_the_runner_tensorflow_and_keras_without_importing_tensorflow(tmp_path: Path) -> None:
    code = ("import sys; from adl_runner.runner.cli import main; rc = main(['--version']); "
            "assert 'tensorflow' not in sys.modules; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env=_child_env())
    assert proc.returncode == 0, proc.stderr
    versions = {name: metadata.version(name) for name in ("adl-runner", "keras", "tensorflow-cpu")}
    assert proc.stdout.startswith(f"run (adl-runner) {versions['adl-runner']}; "), proc.stdout
    assert f"TensorFlow {versions['tensorflow-cpu']}, Keras {versions['keras']}, Hydra " in proc.stdout
    assert proc.stderr == ""


@pytest.mark.slow
def test_a_run_shows_no_tensorflow_start_up_notices(tmp_path: Path) -> None:
    """TensorFlow's load-time oneDNN notice and absl's pre-init warning bypass TF_CPP_MIN_LOG_LEVEL;
    a run hides them (TF_CPP_MIN_LOG_LEVEL=0 shows them: `tf_startup`)."""
    env = {key: value for key, value in _child_env().items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-m", "adl_runner", "model=mlp", "dataset=synthetic", "debug=smoke",
                           f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "oneDNN" not in proc.stderr and "absl::InitializeLog" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n", True),
        ("I0000 00:00:1796495882.066552   21193 port.cc:153] oneDNN custom operations are on.\n", True),
        ("E0000 00:00:1796495882.066552   21193 cuda_dnn.cc:8310] Unable to register cuDNN factory\n", False),
        ("Traceback (most recent call last):\n", False),
    ],
)
def test_only_infos_are_taken_from_tensorflows_start_up(line: str, hidden: bool) -> None:
    assert is_startup_notice(line) is hidden


def test_resume_refusal_names_each_differing_key_with_both_values(run_cli) -> None:
    assert run_cli("model=mlp", "dataset=synthetic", "dataset.options.n_train=64", *SMOKE).code == 0
    result = run_cli("model=mlp", "dataset=synthetic", "dataset.options.n_train=32", *SMOKE)
    result.assert_error("holds a run with a different dataset config",
                        "dataset.options.n_train: 64 (the run) vs 32 (this command)",
                        "re-run with its own config to resume", "or choose a new hydra.run.dir")
    assert (result.run_dir / "metrics.json").exists()  # the earlier run is untouched


def test_missing_dataset_file_names_it_and_where_it_was_looked_for(run_cli, tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("RUNNER_DATA_DIR", str(empty))
    result = run_cli("dataset=mnist", *SMOKE)
    result.assert_error("mnist/mnist.npz not found in", str(empty), "RUNNER_DATA_DIR")
    assert not result.run_dir.exists()


def test_corrupt_dataset_file_fails_its_checksum_and_is_kept(run_cli, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "data"
    path = write_mnist_npz(root, n_train=64, n_test=16)
    before = path.read_bytes()
    monkeypatch.setenv("RUNNER_DATA_DIR", str(root))
    result = run_cli("dataset=mnist", *SMOKE, checksums=True)
    result.assert_error("checksum mismatch", "mnist.npz", "kept")
    assert path.read_bytes() == before


def test_checkpoint_that_does_not_exist(run_cli, tmp_path: Path) -> None:
    result = run_cli("task=evaluate", f"ckpt={tmp_path / 'nope.keras'}")
    result.assert_error("nope.keras does not exist")
    assert not result.run_dir.exists()


@pytest.mark.parametrize("name", ["model.keras", "model.h5"])
def test_checkpoint_that_is_not_a_keras_file(run_cli, tmp_path: Path, name: str) -> None:
    bogus = tmp_path / name
    bogus.write_text("not a zip archive")
    result = run_cli("task=evaluate", f"ckpt={bogus}")
    result.assert_error("is not a Keras .keras file")
    assert bogus.read_text() == "not a zip archive"


def test_evaluate_needs_a_checkpoint(run_cli) -> None:
    run_cli("task=evaluate").assert_error("task=evaluate needs ckpt=")


def test_console_script_exit_code_and_no_tensorflow_on_the_error_path(tmp_path: Path) -> None:
    code = (
        "import sys; from adl_runner.runner.cli import main; rc = main(['model=mlpp']); "
        "assert 'tensorflow' not in sys.modules; sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env=_child_env())
    assert proc.returncode == 2, proc.stderr
    models = ", ".join(sorted(config_groups()["model"]))
    assert proc.stderr.strip() == f"error: unknown model 'mlpp' (did you mean 'mlp'?); valid: {models}"
    assert not (tmp_path / "outputs").exists()


def test_help_lists_groups_without_importing_tensorflow(tmp_path: Path) -> None:
    code = (
        "import sys; from adl_runner.runner.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'tensorflow' not in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env=_child_env())
    assert proc.returncode == 0, proc.stderr
    assert f"model: {', '.join(sorted(config_groups()['model']))}" in proc.stdout
    assert "experiment/book: densenet, table_11_13_1, table_13_6_1, table_1_3_3" in proc.stdout


def test_sample_from_a_model_that_cannot_sample(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=mlp", "dataset=synthetic", *SMOKE, run_dir=tmp_path / "train")
    assert trained.code == 0, trained.err
    result = run_cli("task=sample", f"ckpt={trained.run_dir / 'checkpoints/last.keras'}", run_dir=tmp_path / "sample")
    result.assert_error("holds a 'mlp' model, which cannot sample")
    assert not result.run_dir.exists()
