"""Checkpoint rotation, corrupt-checkpoint fallback, NaN roll-back helpers and history repair,
on small models and files: no CLI, no training."""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from adl_runner.kernel.errors import CheckpointError, RunnerError
from adl_runner.runner.callbacks import (
    LearningRateControl,
    LossDiverged,
    StopOnNaN,
    load_resumable,
    lower_learning_rate,
    renumbered_state,
    state_for_epoch,
)
from adl_runner.runner.loops.fit import continued_trainer, renumber_history, trim_history
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import LRScheduleConfig, NanRecoveryConfig, PlateauConfig, TrainerConfig
from adl_runner.runner.tasks.common import load_checkpoint


def _model(lr: object = 0.5) -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    return model


def _save(rundir: RunDir, value: float) -> None:
    """One epoch's checkpoint as the Checkpoints callback writes it: complete, then rotated in."""
    model = _model()
    model.set_weights([np.full((2, 1), value, np.float32), np.zeros(1, np.float32)])
    rundir.save_last_checkpoint(lambda p: model.save(p))


def _kernel(model: keras.Model) -> float:
    return float(model.get_weights()[0][0, 0])


def test_rotation_keeps_the_checkpoint_before_last(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    _save(rundir, 1.0)
    assert not rundir.previous_checkpoint.exists()
    _save(rundir, 2.0)
    _save(rundir, 3.0)
    assert _kernel(load_checkpoint(rundir.last_checkpoint)) == 3.0
    assert _kernel(load_checkpoint(rundir.previous_checkpoint)) == 2.0
    assert sorted(p.name for p in rundir.checkpoints.iterdir()) == ["last.keras", "previous.keras"]  # no temp files


def test_a_failed_save_rotates_nothing_and_leaves_last_and_previous_good(tmp_path: Path) -> None:
    """A save that fails part-way (a full disk: ENOSPC) must not have made last.keras the previous
    checkpoint already: both good checkpoints stay, and no temp file is left."""
    import errno

    rundir = RunDir(tmp_path)
    _save(rundir, 1.0)
    _save(rundir, 2.0)

    def disk_full(path: Path) -> None:
        path.write_bytes(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        rundir.save_last_checkpoint(disk_full)
    assert _kernel(load_checkpoint(rundir.last_checkpoint)) == 2.0
    assert _kernel(load_checkpoint(rundir.previous_checkpoint)) == 1.0
    assert sorted(p.name for p in rundir.checkpoints.iterdir()) == ["last.keras", "previous.keras"]


def test_temp_files_of_interrupted_writes_are_swept_and_nothing_else(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    _save(rundir, 1.0)
    stale = [rundir.checkpoints / ".last.keras.k3j_9x2a.keras", rundir.checkpoints / ".previous.keras.abcd1234.keras",
             tmp_path / ".metrics.json.q1w2e3r4.json", tmp_path / ".write-test-a1b2c3d4"]
    kept = [tmp_path / ".lock", tmp_path / "notes.txt", tmp_path / ".hydra" / "config.yaml", rundir.last_checkpoint]
    for path in [*stale, *kept[:3]]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert sorted(rundir.sweep_temp_files()) == sorted(stale)
    assert all(path.exists() for path in kept) and not any(path.exists() for path in stale)


def _corrupt_weights(path: Path) -> None:
    """Still a valid zip whose config is fine, but whose weights file is garbage."""
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    members = {name: (b"\x00garbage" * 64 if name.endswith(".h5") else data) for name, data in members.items()}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


@pytest.mark.parametrize("damage", ["truncated", "weights"])
def test_corrupt_last_is_reported_skipped_and_kept(tmp_path: Path, damage: str, caplog) -> None:
    rundir = RunDir(tmp_path)
    _save(rundir, 1.0)
    _save(rundir, 2.0)
    if damage == "truncated":
        rundir.last_checkpoint.write_bytes(rundir.last_checkpoint.read_bytes()[:300])
    else:
        _corrupt_weights(rundir.last_checkpoint)
    bad_bytes = rundir.last_checkpoint.read_bytes()
    with caplog.at_level("WARNING", logger="runner"):
        model, path = load_resumable(rundir, load_checkpoint)
    assert path == rundir.previous_checkpoint and _kernel(model) == 1.0
    lines = [r.getMessage() for r in caplog.records if "corrupt checkpoint skipped" in r.getMessage()]
    assert len(lines) == 1 and "last.keras" in lines[0] and "resuming from previous.keras" in lines[0]
    kept = list(rundir.checkpoints.glob("last.corrupt-*.keras"))
    assert len(kept) == 1 and kept[0].read_bytes() == bad_bytes  # moved aside intact, not deleted
    assert not rundir.last_checkpoint.exists()  # the next save cannot overwrite the evidence


def test_no_good_checkpoint_is_an_error_and_changes_nothing(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    _save(rundir, 1.0)
    _save(rundir, 2.0)
    for path in (rundir.last_checkpoint, rundir.previous_checkpoint):
        path.write_bytes(b"not a zip")
    before = sorted(p.name for p in rundir.checkpoints.iterdir())
    with pytest.raises(CheckpointError) as exc:
        load_resumable(rundir, load_checkpoint)
    message = str(exc.value)
    assert "\n" not in message and "last.keras" in message and "previous.keras" in message and "files kept" in message
    assert sorted(p.name for p in rundir.checkpoints.iterdir()) == before


def test_state_follows_the_checkpoint_resumed_from() -> None:
    state = {"epochs_completed": 5, "best": 0.9, "previous": {"epochs_completed": 4, "best": 0.8}}
    assert state_for_epoch(state, 5) is state
    assert state_for_epoch(state, 4) == {"epochs_completed": 4, "best": 0.8}
    assert state_for_epoch(state, 3) is state  # no match: the latest, as before rotation existed
    assert state_for_epoch(None, 3) is None


def test_lower_learning_rate_of_a_constant_rate_and_of_a_decay_schedule() -> None:
    model = _model(0.5)
    assert lower_learning_rate(model, 0.1, None) == pytest.approx(0.05)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.05)
    # A second roll-back reloads a checkpoint that still holds 0.5: it must go below the first.
    reloaded = _model(0.5)
    assert lower_learning_rate(reloaded, 0.1, None, before=0.05) == pytest.approx(0.005)
    assert float(keras.ops.convert_to_numpy(reloaded.optimizer.learning_rate)) == pytest.approx(0.005)
    decaying = _model(keras.optimizers.schedules.InverseTimeDecay(0.5, decay_steps=1, decay_rate=0.01))
    lower_learning_rate(decaying, 0.1, None)
    schedule = decaying.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.InverseTimeDecay)
    assert schedule.get_config()["initial_learning_rate"] == pytest.approx(0.05)
    assert schedule.get_config()["decay_rate"] == pytest.approx(0.01)


def test_lower_learning_rate_under_the_runners_schedule_persists_in_its_state() -> None:
    control = LearningRateControl(1.0, LRScheduleConfig(boundaries=[2], factors=[1.0, 0.1]), PlateauConfig())
    assert lower_learning_rate(_model(), 0.5, control) == 0.5
    assert control.current_lr(0) == pytest.approx(0.5) and control.current_lr(3) == pytest.approx(0.05)
    restored = LearningRateControl(1.0, LRScheduleConfig(boundaries=[2], factors=[1.0, 0.1]), PlateauConfig())
    restored.set_state(control.get_state())
    assert restored.current_lr(3) == pytest.approx(0.05)


def test_nan_policy_options_are_checked() -> None:
    with pytest.raises(RunnerError, match="trainer.nan_policy must be stop or recover, got 'retry'"):
        TrainerConfig(nan_policy="retry")
    with pytest.raises(RunnerError, match=r"lr_factor must be in \(0, 1\), got 2"):
        TrainerConfig(nan_recovery=NanRecoveryConfig(lr_factor=2))
    with pytest.raises(RunnerError, match="max_trials must be >= 1"):
        TrainerConfig(nan_recovery=NanRecoveryConfig(max_trials=0))


@pytest.mark.parametrize("bound", [0, -1.5, float("nan")])
def test_loss_bound_must_be_positive(bound: float) -> None:
    with pytest.raises(RunnerError, match=r"trainer.loss_bound must be > 0, got"):
        TrainerConfig(loss_bound=bound)
    assert TrainerConfig().loss_bound is None and TrainerConfig(loss_bound=1e-3).loss_bound == 1e-3


def test_a_finite_loss_above_the_bound_diverges_like_nan(tmp_path: Path) -> None:
    guard = StopOnNaN(RunDir(tmp_path), bound=4.0)
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"loss": 4.0, "accuracy": 9.0})  # at the bound is fine; metrics are not losses
    with pytest.raises(LossDiverged) as exc:
        guard.on_train_batch_end(6, {"d_loss": 0.1, "g_loss": 5.5})
    message = str(exc.value)
    assert message.startswith("g_loss = 5.5 rose above trainer.loss_bound=4 at epoch 3, step 7; stopped "
                              "(last good checkpoint: none yet)"), message
    assert "raise trainer.loss_bound" in message and "trainer.nan_policy=recover" in message and "\n" not in message
    assert (exc.value.epoch, exc.value.step, exc.value.what) == (2, 6, "g_loss = 5.5 rose above trainer.loss_bound=4")
    with pytest.raises(LossDiverged, match="loss became inf at epoch 3, step 1"):
        guard.on_train_batch_end(0, {"loss": float("inf")})
    StopOnNaN(RunDir(tmp_path)).on_train_batch_end(0, {"loss": 1e30})  # no bound: only NaN/Inf stop


def test_history_with_garbage_rows_is_refused_and_kept(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    text = "epoch,loss\n0,1.0\n\x00\x07garbage,,\n1,0.5\n"
    rundir.file("history.csv").write_text(text)
    with pytest.raises(RunnerError) as exc:
        trim_history(rundir, 1)
    assert "history.csv line 3 is not a history row" in str(exc.value) and "\n" not in str(exc.value)
    assert rundir.file("history.csv").read_text() == text


def test_history_rows_after_the_checkpoint_are_trimmed(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    rundir.file("history.csv").write_text("epoch,loss\n0,1.0\n1,0.5\n2,0.4\n")
    trim_history(rundir, 2)
    assert rundir.file("history.csv").read_text() == "epoch,loss\n0,1.0\n1,0.5\n"


def test_a_shorter_interval_renumbers_history_rows_by_the_step_they_ended_at(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    rundir.file("history.csv").write_text("epoch,loss\n0,1.0\n1,0.5\n")
    renumber_history(rundir, 3)
    assert rundir.file("history.csv").read_text() == "epoch,loss\n2,1.0\n5,0.5\n"


def test_a_shorter_interval_renumbers_the_state_and_its_previous() -> None:
    state = {"epochs_completed": 2, "best_epoch": 1, "steps_per_epoch": 60, "best": 0.5,
             "previous": {"epochs_completed": 1, "best_epoch": None, "steps_per_epoch": 60}}
    assert renumbered_state(state, 3) == {
        "epochs_completed": 6, "best_epoch": 3, "steps_per_epoch": 20, "best": 0.5,
        "previous": {"epochs_completed": 3, "best_epoch": None, "steps_per_epoch": 20}}


@pytest.mark.parametrize(("recorded", "steps", "interval", "rows"), [
    (60, 80, 20, "2,1.0\n"),  # the brief's 60 -> 80: epochs of 20
    (60, 120, 60, "0,1.0\n"),  # a multiple of the run's interval keeps it
    (None, 80, 20, "0,1.0\n"),  # a run that did not record its interval: records kept as they are
])
def test_a_continued_step_run_gets_an_interval_dividing_its_own(tmp_path: Path, recorded: int | None, steps: int,
                                                                interval: int, rows: str) -> None:
    rundir = RunDir(tmp_path)
    rundir.file("history.csv").write_text("epoch,loss\n0,1.0\n")
    rundir.write_json("checkpoints/state.json", {"epochs_completed": 1, "steps_per_epoch": recorded})
    trainer = continued_trainer(rundir, TrainerConfig(steps=steps, steps_per_epoch=500), steps_done=60)
    assert (trainer.steps_per_epoch, trainer.epochs) == (interval, steps // interval)
    assert rundir.file("history.csv").read_text() == "epoch,loss\n" + rows


def test_setup_failure_never_deletes_a_dir_holding_other_files(tmp_path: Path) -> None:
    kept, fresh = RunDir(tmp_path / "kept"), RunDir(tmp_path / "fresh")
    for rundir in (kept, fresh):
        (rundir.path / ".hydra").mkdir(parents=True)
    (kept.path / "notes.txt").write_text("mine")
    for rundir in (kept, fresh):
        with pytest.raises(RunnerError), rundir.removed_if_failed_fresh():
            raise RunnerError("bad option")
    assert (kept.path / "notes.txt").read_text() == "mine"
    assert not fresh.path.exists()


def test_safe_mode_refuses_a_lambda_checkpoint_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    assert "could not be loaded as a Keras model" in str(exc.value) and "Lambda" in str(exc.value)
    assert "\n" not in str(exc.value) and not marker.exists() and path.exists()


def test_an_unregistered_custom_layer_is_refused(tmp_path: Path) -> None:
    @keras.saving.register_keras_serializable(package="adl_test_only")
    class Doubler(keras.layers.Layer):
        def call(self, x):  # type: ignore[override]
            return x * 2

    path = tmp_path / "custom.keras"
    keras.Sequential([keras.Input((2,)), Doubler()]).save(path)
    keras.saving.get_custom_objects().pop("adl_test_only>Doubler")  # a class this process does not know
    with pytest.raises(CheckpointError, match="could not be loaded as a Keras model"):
        load_checkpoint(path)


def _write_folder(rundir: RunDir, value: str) -> None:
    rundir.write_dir_atomic(rundir.last_checkpoint_dir, lambda folder: (folder / "agent.json").write_text(value))


def test_a_folder_swap_killed_between_its_renames_gets_the_old_folder_back(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    _write_folder(rundir, "1")
    old = rundir.checkpoints / ".last.old"
    rundir.last_checkpoint_dir.rename(old)  # the first rename done, the second not
    rundir.recover_dir(rundir.last_checkpoint_dir)
    assert (rundir.last_checkpoint_dir / "agent.json").read_text() == "1" and not old.exists()


def test_a_folder_swap_killed_before_the_old_folder_was_removed_is_finished(tmp_path: Path) -> None:
    # Found by thinking through the RL kill -9 test: a kill after both renames, during the removal
    # of .last.old, left it beside last/; the next checkpoint's rename of last/ onto the non-empty
    # .last.old then failed (OSError: Directory not empty) and the resumed run ended in a traceback.
    rundir = RunDir(tmp_path)
    _write_folder(rundir, "1")
    old = rundir.checkpoints / ".last.old"
    old.mkdir()
    (old / "agent.json").write_text("0")  # what the swap had not removed yet
    rundir.recover_dir(rundir.last_checkpoint_dir)
    assert not old.exists() and (rundir.last_checkpoint_dir / "agent.json").read_text() == "1"
    old.mkdir()
    (old / "arrays.npz").write_text("0")
    _write_folder(rundir, "2")  # the next save finishes it too
    assert not old.exists() and (rundir.last_checkpoint_dir / "agent.json").read_text() == "2"


@pytest.mark.parametrize("name", ["../../outside", "/etc/passwd", "sub/net", "..", ".hidden", 3])
def test_an_agent_checkpoint_naming_a_network_outside_its_folder_is_refused(tmp_path: Path, name: object) -> None:
    from adl_runner.kernel.errors import CheckpointError
    from adl_runner.runner.loops.episodes import load_agent_state

    (tmp_path / "outside.keras").write_bytes(b"never opened")
    folder = tmp_path / "run" / "checkpoints" / "last"
    folder.mkdir(parents=True)
    with pytest.raises(CheckpointError, match="is not a file name inside"):
        load_agent_state(folder, {"networks": [name]})
