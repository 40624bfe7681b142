"""The tasks `run` can do, one function each: train, evaluate, export, sample."""

from __future__ import annotations

import logging
import math
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

import keras
import tensorflow as tf
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from adl_runner.data.pipeline import ArrayPipeline, PairPipeline, PipelineOptions, pair_pipeline
from adl_runner.data.store import DataStore
from adl_runner.kernel.cachedir import user_cache_dir
from adl_runner.kernel.errors import CheckpointError, IncompatibleError, RunnerError
from adl_runner.kernel.hooks import QualityContext, SampleConfig
from adl_runner.kernel.keras_state import restore_from_file
from adl_runner.kernel.registry import MODELS
from adl_runner.runner.artifacts import ArtifactData, ArtifactWriter
from adl_runner.runner.callbacks import QualityMonitor, Snapshots, load_resumable
from adl_runner.runner.families import load_families
from adl_runner.runner.loops.fit import FitData, fit
from adl_runner.runner.objectives import Objective, objective_of
from adl_runner.runner.plots import plot_curves, read_history
from adl_runner.runner.provenance import run_info
from adl_runner.runner.resolve import Job, dataset_entry, resolve
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import DatasetConfig, Split, Task

log = logging.getLogger("runner")


def run_task(cfg: DictConfig) -> dict[str, Any]:
    """Dispatch on `cfg.task`; returns the metrics it wrote."""
    rundir = RunDir(HydraConfig.get().runtime.output_dir)
    tasks: dict[str, Callable[[DictConfig, RunDir], dict[str, Any]]] = {
        "train": train,
        "evaluate": evaluate,
        "export": export,
        "sample": sample,
    }
    with rundir.locked():
        return tasks[Task(cfg.task).value](cfg, rundir)


# -- shared pieces ---------------------------------------------------------------------------------
def configure_tensorflow(job: Job) -> None:
    keras.backend.clear_session()  # fresh layer names and graph state for every job of a process
    keras.utils.set_random_seed(job.seed)
    if job.trainer.deterministic:
        tf.config.experimental.enable_op_determinism()


def make_pipeline(
    job: Job, dataset: DatasetConfig, view: str, inputs: int, objective: Objective, batches_per_step: int = 1,
    two_domains: bool = False,
) -> tuple[ArrayPipeline | PairPipeline, str]:
    """Load the dataset's arrays (offline-first) and wrap them in the tf.data pipeline.
    `batches_per_step`: a model that consumes several real batches per step (WGAN's n_critic)
    gets them concatenated in one pipeline batch. `two_domains`: the model translates between two
    unpaired image domains (CycleGAN) and takes (source, target) batches, each domain shuffled on
    its own."""
    store = DataStore(Path(job.data_dir), verify=dataset.verify_checksums, download=dataset.download)
    splits = job.dataset.build(store, job.dataset_options)
    options = PipelineOptions(
        view=view,
        inputs=inputs,
        onehot=dataset.labels.value == "onehot",
        targets=objective.targets,
        batch_size=job.trainer.batch_size * batches_per_step,
        augment=dataset.augment,
        subtract_pixel_mean=dataset.subtract_pixel_mean,
        noise_sigma=dataset.sigma,
        noise_mean=dataset.noise_mean,
        noise_seed=dataset.noise_seed,
        gray_input=dataset.gray_input,
        seed=job.seed,
    )
    if two_domains:
        return pair_pipeline(splits, options, dataset.name, dataset.train_limit, dataset.test_limit), dataset.name
    x_train, y_train = splits.x_train[: dataset.train_limit], splits.y_train[: dataset.train_limit]
    x_test, y_test = splits.x_test[: dataset.test_limit], splits.y_test[: dataset.test_limit]
    try:
        pipeline = ArrayPipeline(x_train, y_train, x_test, y_test, len(splits.class_names), options)
    except IncompatibleError as exc:
        raise IncompatibleError(f"dataset '{dataset.name}': {exc}") from None
    return pipeline, dataset.name


def checkpoint_of(cfg: DictConfig) -> tuple[Path, keras.Model]:
    """The `ckpt=` of a task that needs one, loaded."""
    if not cfg.ckpt:
        raise RunnerError(f"task={Task(cfg.task).value} needs ckpt=<path to a .keras checkpoint>")
    return Path(cfg.ckpt), load_checkpoint(cfg.ckpt)


def load_checkpoint(path: str | Path) -> keras.Model:
    """Load a .keras file in safe mode (no arbitrary code from lambdas) with its random generators'
    states (`adl_runner.kernel.keras_state`), or a one-line error."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; pass ckpt=<run dir>/checkpoints/best.keras or last.keras")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise CheckpointError(f"checkpoint {path} is not a Keras .keras file (a zip archive written by model.save)")
    load_families()  # families register their custom layers and models (e.g. the VAE) on import
    try:
        model = keras.saving.load_model(path, safe_mode=True)
        restore_from_file(model, path)  # the random generators' states (dropout, noise), if saved
        return model
    except Exception as exc:  # Keras raises many types for a damaged or foreign archive
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} could not be loaded as a Keras model: {first_line}") from None


def compile_model(model: keras.Model, job: Job, optimizer: keras.optimizers.Optimizer, objective: Objective) -> None:
    jit = {"auto": "auto", "true": True, "false": False}[job.trainer.jit_compile.lower()]
    onehot = job.dataset_config.labels.value == "onehot"
    model.compile(optimizer=optimizer, jit_compile=jit, **objective.compile_args(job.model.meta.get("loss"), onehot))


def trainable_params(model: keras.Model) -> int:
    return sum(int(tf.size(w)) for w in model.trainable_weights)


def model_summary(model: keras.Model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=100)
    lines.append(f"Total params (count_params, incl. non-trainable): {model.count_params():,}")
    lines.append(f"Trainable params: {trainable_params(model):,}")
    return "\n".join(lines) + "\n"


def write_config(rundir: RunDir, cfg: DictConfig) -> None:
    rundir.write_text("config.yaml", OmegaConf.to_yaml(cfg, resolve=True))


def check_resumable(rundir: RunDir, cfg: DictConfig) -> None:
    """Refuse to resume a run of another model or dataset in the same dir."""
    saved_path = rundir.file("config.yaml")
    if not saved_path.exists():
        return
    saved = OmegaConf.load(saved_path)
    for key in ("model", "dataset", "optimizer"):
        if OmegaConf.to_container(saved.get(key), resolve=True) != OmegaConf.to_container(cfg.get(key), resolve=True):
            raise RunnerError(
                f"run dir {rundir.path} holds a run with a different {key} config; "
                f"re-run with its own config to resume, or choose a new hydra.run.dir"
            )


# -- train -----------------------------------------------------------------------------------------
def train(cfg: DictConfig, rundir: RunDir) -> dict[str, Any]:
    from adl_runner.runner import episode_tasks  # reinforcement learning: the episode loop

    if episode_tasks.handles(cfg):
        return episode_tasks.train(cfg, rundir)
    started = time.time()
    with rundir.removed_if_failed_fresh():
        job = resolve(cfg)
        rundir.ensure_writable()
        done = rundir.read_json("metrics.json")
        if done and done.get("status") == "completed" and done.get("epochs_completed", 0) >= job.trainer.epochs:
            check_resumable(rundir, cfg)
            log.info("%s already holds this completed run; nothing to do", rundir.path)
            return done
        configure_tensorflow(job)
        view, inputs = job.model.meta["view"], job.model.meta.get("inputs", 1)
        objective = objective_of(job.model.meta)
        batches_per_step = job.model.meta.get("batches_per_step", lambda options: 1)(job.model_options)
        pipeline, dataset_name = make_pipeline(job, job.dataset_config, view, inputs, objective, batches_per_step,
                                               two_domains=job.model.meta.get("two_domains", False))
        resuming = bool(rundir.resume_candidates())
        if resuming:
            check_resumable(rundir, cfg)
            model, resumed_from = load_resumable(rundir, load_checkpoint)
        else:
            try:
                model = job.model.build(job.model_options, pipeline.input_shape, pipeline.num_classes)
            except IncompatibleError as exc:
                raise IncompatibleError(f"model '{job.model.name}' cannot run on dataset '{dataset_name}': {exc}") from None
            optimizer = job.optimizer.build(job.optimizer_options)
            compile_model(model, job, optimizer, objective)
            # A first phase some models need before fit (StackedGAN's encoder, CycleGAN's fixed
            # test images): only on a fresh build, since every checkpoint already holds its result.
            prepare = job.model.meta.get("prepare")
            if prepare is not None:
                prepare(model, ArtifactData(pipeline))
    write_config(rundir, cfg)
    if job.logger.summary:
        rundir.write_text("summary.txt", model_summary(model))

    steps = job.trainer.steps_per_epoch or pipeline.steps_per_epoch()
    initial_epoch = int(model.optimizer.iterations.numpy()) // steps
    if resuming:
        log.info("resuming from %s: %d of %d epochs done", resumed_from, initial_epoch, job.trainer.epochs)
    nan_recoveries = 0
    snapshot = job.model.meta.get("snapshot") if job.logger.plots else None
    measure = quality_measure(job, job.model.meta)
    monitors: list[keras.callbacks.Callback] = []
    if snapshot is not None:
        monitors.append(Snapshots(snapshot, ArtifactWriter(rundir), steps))
    quality_monitor = (QualityMonitor(measure, job.trainer.quality.every, job.trainer.epochs)
                       if measure is not None and job.trainer.quality.every > 0 else None)
    if quality_monitor is not None:
        monitors.append(quality_monitor)
    if initial_epoch < job.trainer.epochs:
        data = FitData(
            train=pipeline.train(initial_epoch, job.trainer.epochs, job.trainer.steps_per_epoch),
            steps_per_epoch=steps,
            validation=pipeline.test() if job.trainer.validate else None,
            train_from=lambda epoch: pipeline.train(epoch, job.trainer.epochs, job.trainer.steps_per_epoch),
        )
        outcome = fit(
            model,
            data,
            job.trainer,
            rundir,
            initial_epoch=initial_epoch,
            base_lr=job.optimizer_options.learning_rate,
            tensorboard=job.logger.tensorboard,
            resume_state=rundir.read_json("checkpoints/state.json") if resuming else None,
            extra_callbacks=monitors,
            load=load_checkpoint,
        )
        model, nan_recoveries = outcome.model, outcome.nan_recoveries
    else:
        log.info("all %d epochs were already done in %s; evaluating only", job.trainer.epochs, rundir.path)

    test = model.evaluate(pipeline.test(), return_dict=True, verbose=0)
    train_eval = model.evaluate(pipeline.evaluation("train"), return_dict=True, verbose=0) if job.trainer.evaluate_train else {}
    history = read_history(rundir.file("history.csv"))
    state = rundir.read_json("checkpoints/state.json") or {}
    # Of the final weights: the monitor measured them at the last epoch when this invocation trained.
    quality = quality_monitor.latest if quality_monitor is not None and quality_monitor.latest else (
        measure(model) if measure is not None else {})
    metrics = {
        "task": "train",
        "model": job.model.name,
        "dataset": dataset_name,
        "seed": job.seed,
        "params": model.count_params(),
        "trainable_params": trainable_params(model),
        "epochs_completed": int(model.optimizer.iterations.numpy()) // steps,
        "steps_completed": int(model.optimizer.iterations.numpy()),
        **{f"test_{key}": float(value) for key, value in test.items()},
        **{f"train_eval_{key}": float(value) for key, value in train_eval.items()},
        **{f"train_{key}": values[-1] for key, values in history.items()
           if key != "epoch" and key not in quality and not key.startswith(("val_", "learning_rate"))},
        **quality,
        **{key: values[-1] for key, values in history.items() if key.startswith("val_")},
        f"best_{state.get('monitor', job.trainer.checkpoint.monitor)}": _finite_or_none(state.get("best")),
        "best_epoch": state.get("best_epoch"),
        "resumed_from_epoch": initial_epoch if resuming else None,
        "train_seconds": state.get("train_seconds"),
        "nan_recoveries": nan_recoveries,
        "status": "completed",
    }
    write_family_artifacts = job.model.meta.get("artifacts")
    if write_family_artifacts is not None and job.logger.plots:
        write_family_artifacts(model, ArtifactData(pipeline), ArtifactWriter(rundir))
    if snapshot is not None:
        ArtifactWriter(rundir).progress_animation()
    return _finish(rundir, cfg, job.seed, started, metrics, history if job.logger.plots else None)


def quality_measure(job: Job, meta: dict[str, Any]) -> Callable[[keras.Model], dict[str, float]] | None:
    """The sample-quality hook of a model family (its registry `meta`) bound to this job, or None."""
    hook = meta.get("quality")
    if hook is None:
        return None
    settings = job.trainer.quality
    data_dir = Path(job.data_dir)
    cache_dir = Path(settings.cache_dir) if settings.cache_dir is not None else user_cache_dir() / "judges"
    context = QualityContext(dataset=job.dataset_config.name, data_dir=data_dir, cache_dir=cache_dir,
                             samples=settings.samples, verify=job.dataset_config.verify_checksums)
    return lambda model: hook(model, context)


def _finite_or_none(value: float | None) -> float | None:
    """A best value that was never set (the monitor was not logged) is None, not +-inf."""
    return value if value is not None and math.isfinite(value) else None


def _finish(
    rundir: RunDir, cfg: DictConfig, seed: int, started: float, metrics: dict[str, Any],
    history: dict[str, list[float]] | None,
) -> dict[str, Any]:
    if history:
        plot_curves(rundir, history)
    finished = time.time()
    metrics["wall_time_s"] = round(finished - started, 3)
    rundir.write_json("metrics.json", metrics)
    rundir.write_json("run.json", run_info(seed, started, finished, {"task": metrics["task"]}))
    split = metrics.get("split", "test")  # what the final evaluation measured
    if metrics.get(f"{split}_accuracy") is not None:
        print(f"{split.capitalize()} accuracy: {100 * metrics[f'{split}_accuracy']:.1f}%")  # the book's line
    log.info("metrics: %s", {k: v for k, v in metrics.items() if v is not None})
    log.info("run dir: %s", rundir.path)
    return metrics


# -- evaluate / export -----------------------------------------------------------------------------
def _checkpoint_run_config(ckpt: Path) -> DictConfig | None:
    """The config of the run a checkpoint was saved by (<run>/checkpoints/x.keras), if any."""
    source = ckpt.resolve().parent.parent / "config.yaml"
    return OmegaConf.load(source) if source.exists() else None  # type: ignore[return-value]


def _checkpoint_dataset(cfg: DictConfig, trained: DictConfig | None) -> DatasetConfig:
    """The dataset to evaluate on: `dataset=` from the command line if given, else the data the
    checkpoint's own run trained on (its name, loader options and preprocessing). Where the files
    are and whether they are verified stay as this command says."""
    chosen_on_cli = any(o.split("=")[0].lstrip("+~") == "dataset" for o in HydraConfig.get().overrides.task)
    node = cfg.dataset
    if not chosen_on_cli and trained is not None:
        trained_on = trained.dataset
        identity = {key: trained_on[key] for key in ("name", "options", "labels", "subtract_pixel_mean") if key in trained_on}
        node = {**OmegaConf.to_container(cfg.dataset, resolve=True), **identity, "augment": False}
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(DatasetConfig), node))  # type: ignore[return-value]


def _checkpoint_model(trained: DictConfig | None, job: Job) -> tuple[str, dict[str, Any]]:
    """Name and registry meta of the model family a checkpoint's run trained (this command's
    model when the checkpoint has no run dir around it)."""
    if trained is None:
        return job.model.name, job.model.meta
    entry = MODELS.get(str(trained.model.name))
    return entry.name, entry.meta


def _view_of(model: keras.Model) -> tuple[str, int]:
    """The input view a model takes, read from its input shape: (view, number of inputs)."""
    rank = len(model.inputs[0].shape) - 1
    return {1: "flat", 2: "sequence", 3: "image"}[rank], len(model.inputs)


def evaluate(cfg: DictConfig, rundir: RunDir) -> dict[str, Any]:
    from adl_runner.runner import episode_tasks  # reinforcement learning: greedy episodes of an agent checkpoint

    if episode_tasks.handles(cfg):
        return episode_tasks.evaluate(cfg, rundir)
    started = time.time()
    with rundir.removed_if_failed_fresh():
        job = resolve(cfg)
        configure_tensorflow(job)  # before loading: it clears Keras' session
        ckpt, model = checkpoint_of(cfg)
        trained = _checkpoint_run_config(ckpt)
        job.dataset_config = _checkpoint_dataset(cfg, trained)
        job.dataset, job.dataset_options = dataset_entry(job.dataset_config)
        family, meta = _checkpoint_model(trained, job)
        if meta.get("sample") is not None and not getattr(model, "inputs", None):
            return _evaluate_samples(cfg, rundir, job, ckpt, model, family, meta, started)
        view, inputs = _view_of(model)
        objective = objective_of(meta)
        pipeline, dataset_name = make_pipeline(job, job.dataset_config, view, inputs, objective)
        expected = tuple(model.inputs[0].shape[1:])
        if expected != pipeline.input_shape:
            raise IncompatibleError(
                f"checkpoint {ckpt} takes inputs of shape {expected}, dataset '{dataset_name}' gives {pipeline.input_shape}"
            )
    if not model.compiled:
        compile_model(model, job, keras.optimizers.Adam(), objective)
    write_config(rundir, cfg)
    split = Split(cfg.split).value
    results = model.evaluate(pipeline.evaluation(split), return_dict=True, verbose=0)
    metrics = {
        "task": "evaluate",
        "split": split,
        "checkpoint": str(ckpt),
        "model": model.name,
        "dataset": dataset_name,
        "seed": job.seed,
        "params": model.count_params(),
        **{f"{split}_{key}": float(value) for key, value in results.items()},
        "status": "completed",
    }
    return _finish(rundir, cfg, job.seed, started, metrics, None)


def _evaluate_samples(
    cfg: DictConfig, rundir: RunDir, job: Job, ckpt: Path, model: keras.Model, family: str, meta: dict[str, Any],
    started: float,
) -> dict[str, Any]:
    """task=evaluate on a whole generative-model checkpoint (a GAN): its sample-quality numbers
    (MNIST-FID, label accuracy) on `trainer.quality.samples` generated images."""
    measure = quality_measure(job, meta)
    numbers = measure(model) if measure is not None else {}
    if not numbers:
        raise IncompatibleError(
            f"checkpoint {ckpt} holds a '{family}' model trained on '{job.dataset_config.name}', for which no "
            f"sample-quality measure exists (MNIST-FID needs an MNIST-shaped GAN); use task=sample to look at its samples"
        )
    write_config(rundir, cfg)
    metrics = {"task": "evaluate", "checkpoint": str(ckpt), "model": family, "dataset": job.dataset_config.name,
               "seed": job.seed, "params": model.count_params(), "samples": job.trainer.quality.samples,
               **numbers, "status": "completed"}
    return _finish(rundir, cfg, job.seed, started, metrics, None)


def export(cfg: DictConfig, rundir: RunDir) -> dict[str, Any]:
    """Write a TensorFlow SavedModel (signatures `serve`, `serving_default`) for serving."""
    started = time.time()
    with rundir.removed_if_failed_fresh():
        ckpt, model = checkpoint_of(cfg)
    # Built beside its target and swapped in: a killed export never leaves a half-written saved_model/.
    target = rundir.write_dir_atomic(rundir.saved_model_dir, lambda tmp: model.export(str(tmp), verbose=False))
    metrics = {"task": "export", "checkpoint": str(ckpt), "model": model.name, "params": model.count_params(),
               "saved_model": str(target), "status": "completed"}
    return _finish(rundir, cfg, int(cfg.seed), started, metrics, None)


def sample(cfg: DictConfig, rundir: RunDir) -> dict[str, Any]:
    """Draw from a generative model's checkpoint with the family's own controls, no training."""
    started = time.time()
    with rundir.removed_if_failed_fresh():
        job = resolve(cfg)
        configure_tensorflow(job)  # before loading: it clears Keras' session
        ckpt, model = checkpoint_of(cfg)
        family, meta = _checkpoint_model(_checkpoint_run_config(ckpt), job)
        draw = meta.get("sample")
        if draw is None:
            raise IncompatibleError(f"checkpoint {ckpt} holds a '{family}' model, which cannot sample; "
                                    f"task=sample needs a generative model (a decoder or generator)")
        options = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(SampleConfig), cfg.sample))
        # Inside the guard: only the family can check its options (e.g. a label's range), and a
        # bad one must leave no run dir behind, like every other bad input.
        written = draw(model, options, ArtifactWriter(rundir))
    write_config(rundir, cfg)
    metrics = {"task": "sample", "checkpoint": str(ckpt), "model": family, "params": model.count_params(),
               "files": [str(p) for p in written or []], "status": "completed"}
    return _finish(rundir, cfg, job.seed, started, metrics, None)
