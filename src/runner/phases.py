"""The runner's `PhaseRunner`: a family's pre-training phase with the run's progress lines, NaN
guard and per-epoch checkpoints under checkpoints/phases/ (the layout: `rundir`)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import keras

from adl_runner.kernel.errors import RunnerError
from adl_runner.kernel.keras_state import restore_from_file, save_model
from adl_runner.runner.callbacks import LossDiverged, StopOnNaN
from adl_runner.runner.loops.fit import progress_verbosity
from adl_runner.runner.phase_cache import PhaseCache, phase_key
from adl_runner.runner.resolve import Job, config_at
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import TrainerConfig

log = logging.getLogger("runner")


class PhaseCheckpoint(keras.callbacks.Callback):
    """After each epoch: the history up to it (with the config it was trained under), then the model
    with its optimizer, whose step count dates the checkpoint; a kill between the two leaves a
    history row to trim, never a gap."""

    def __init__(self, rundir: RunDir, phase: str, config: dict[str, Any], history: dict[str, list[float]]) -> None:
        super().__init__()
        self.rundir, self.phase, self.config, self.history = rundir, phase, config, history

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        record = {"config": self.config, "history": self.history}
        self.rundir.write_atomic(self.rundir.phase_history(self.phase),
                                 lambda p: p.write_text(json.dumps(record, indent=2) + "\n"))
        self.rundir.write_atomic(self.rundir.phase_weights(self.phase), lambda p: save_model(self.model, p))


class RunPhases:
    """Phases checkpointed in a run dir and guarded like the fit loop (`trainer.verbose`,
    `trainer.loss_bound`). A diverged phase stops the run whatever `trainer.nan_policy` says: its
    checkpoint is the last completed epoch, kept for a re-run with other settings.

    `config`: the config groups the run resumes under (the task's resume keys, as `check_resumable`
    compares them), kept beside a phase's checkpoint: a job with other values must not resume it,
    and a run killed during a phase has no config.yaml yet to compare with."""

    def __init__(self, rundir: RunDir, trainer: TrainerConfig, config: dict[str, Any], cache: PhaseCache | None = None) -> None:
        self.rundir, self.trainer = rundir, trainer
        self.config = json.loads(json.dumps(config))  # as it will read back from <phase>.json
        self.cache = cache if cache is not None else PhaseCache()

    @classmethod
    def for_job(cls, rundir: RunDir, job: Job, resume_keys: Sequence[str]) -> RunPhases:
        return cls(rundir, job.trainer, {key: config_at(job.config, key) for key in resume_keys})

    def train(self, name: str, model: Any, train: Any, *, epochs: int, steps_per_epoch: int,
              validation: Any = None, cache: Mapping[str, Any] | None = None) -> dict[str, list[float]]:
        done, history = self._restore(name, model, steps_per_epoch)
        # Only a fresh phase has a key: its initial weights are part of it.
        key = (phase_key(name, model, cache, epochs=epochs, steps_per_epoch=steps_per_epoch,
                         loss_bound=self.trainer.loss_bound) if cache is not None and not done else None)
        if key is not None and self._from_cache(name, key):
            return self._restore(name, model, steps_per_epoch)[1]
        if done >= epochs:
            log.info("phase %s: all %d epochs done in an earlier job; restored from %s",
                     name, epochs, self.rundir.phase_weights(name))
            return history
        if done:
            log.info("phase %s: resuming after epoch %d of %d", name, done, epochs)
        else:
            log.info("phase %s: %d epochs", name, epochs)
        callbacks = [StopOnNaN(self.rundir, self.trainer.loss_bound), PhaseCheckpoint(self.rundir, name, self.config, history)]
        try:
            # The stream holds every epoch's pass: skip the passes already trained on.
            model.fit(train.skip(done * steps_per_epoch), epochs=epochs, initial_epoch=done,
                      steps_per_epoch=steps_per_epoch, validation_data=validation, callbacks=callbacks,
                      shuffle=False, verbose=progress_verbosity(self.trainer.verbose))
        except LossDiverged as exc:
            kept = (f"kept: its checkpoint after epoch {exc.epoch}, {self.rundir.phase_weights(name)}" if exc.epoch
                    else "no epoch of it completed")
            raise LossDiverged(f"phase {name}: {exc.what} at epoch {exc.epoch + 1}, step {exc.step + 1}; stopped "
                               f"({kept}); lower the learning rate or check the data",
                               exc.epoch, exc.step, exc.what) from None
        if key is not None:
            self.cache.save(key, self.rundir.phase_weights(name), history)
        return history

    def _from_cache(self, name: str, key: dict[str, Any]) -> bool:
        """Put a cached phase's checkpoint and history in this run dir, as its training would have."""
        hit = self.cache.load(key)
        if hit is None:
            return False
        weights, history = hit
        record = {"config": self.config, "history": history}
        self.rundir.write_atomic(self.rundir.phase_history(name), lambda p: p.write_text(json.dumps(record, indent=2) + "\n"))
        self.rundir.write_atomic(self.rundir.phase_weights(name), lambda p: shutil.copyfile(weights, p))
        log.info("phase %s: trained once for this configuration, restored from the cache %s", name, weights.parent)
        return True

    def _restore(self, name: str, model: Any, steps_per_epoch: int) -> tuple[int, dict[str, list[float]]]:
        """The epochs an earlier job completed (0: none), with the model and its optimizer as they were."""
        weights = self.rundir.phase_weights(name)
        if not weights.exists():
            return 0, {}
        model.optimizer.build(model.trainable_variables)  # else Keras skips the optimizer's saved state
        try:
            saved = json.loads(self.rundir.phase_history(name).read_text())
            changed = [key for key, value in self.config.items() if saved["config"].get(key) != value]
            if not changed:
                model.load_weights(weights)
                restore_from_file(model, weights)  # the dropout generators, for an exact resume
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # Keras' messages run over lines
            raise RunnerError(f"phase {name}: cannot resume from {weights} ({reason}); move "
                              f"{weights.parent} away to train the phase again") from None
        if changed:
            raise RunnerError(f"phase {name}: {weights} was trained with a different {', '.join(changed)} config; "
                              f"re-run with its own config to resume, or choose a new hydra.run.dir")
        done = int(model.optimizer.iterations.numpy()) // steps_per_epoch
        return done, {key: values[:done] for key, values in saved["history"].items()}
