"""The fit loop's tasks: train (Keras `fit` on a dataset), evaluate and sample a checkpoint."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from adl_runner.data.inputs import INPUT_KINDS, InputPipeline, make_inputs
from adl_runner.data.inputs.base import AUGMENT_OPTION, SAMPLING_OPTION
from adl_runner.data.pipeline import ArrayPipeline, PairPipeline, PipelineOptions, pair_pipeline
from adl_runner.data.splits import held_out
from adl_runner.kernel.cachedir import user_cache_dir
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.hooks import DataView, QualityContext
from adl_runner.kernel.specs import BuildContext, FitSpec
from adl_runner.runner.artifacts import ArtifactData, ArtifactWriter
from adl_runner.runner.callbacks import QualityMonitor, Snapshots, load_resumable
from adl_runner.runner.distribute import float32_outputs, training_scope
from adl_runner.runner.evaluators import evaluate as run_evaluators
from adl_runner.runner.loops.evaluate import evaluate_batches
from adl_runner.runner.loops.fit import FitData, continued_trainer, fit
from adl_runner.runner.objectives import Objective, objective_of
from adl_runner.runner.phases import RunPhases
from adl_runner.runner.plots import plot_curves, read_history
from adl_runner.runner.progress import RunProgress, start_line
from adl_runner.runner.recalibration import check_recalibration, recalibrated
from adl_runner.runner.resolve import Job
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.schema import DatasetConfig
from adl_runner.runner.stages import STAGES
from adl_runner.runner.tasks.common import (
    already_done,
    check_resumable,
    configure_tensorflow,
    finish,
    load_checkpoint,
    load_for_inference,
    loaded_dataset,
    required_checkpoint,
    restore_pixel_mean,
    write_config,
)
from adl_runner.runner.tasks.dataset_sample import sample_dataset
from adl_runner.runner.tasks.registry import task
from adl_runner.runner.tracking import active
from adl_runner.runner.tracking.fit import TrackEpochs

log = logging.getLogger("runner")

RESUME_KEYS = ("model", "dataset", "optimizer", "seed", "trainer.batch_size", "trainer.steps_per_epoch",
               "trainer.precision")
"""What fixes a fit run's trajectory, which a job must share with the run it resumes (training
checkpoints and phases): the model, the data and its options, the optimizer, the seed (every
shuffle and draw), what an epoch is (its batches), and the precision its layers and optimizers
were built in. Budgets (epochs, steps) may grow."""


Pipeline = ArrayPipeline | PairPipeline | InputPipeline


class LoadedData(NamedTuple):
    pipeline: Pipeline
    """Training batches and the test split."""
    class_names: tuple[str, ...]
    validation: Pipeline | None
    """Whose test split holds the `dataset.validation` examples held out of training; None: validate on the test split."""


def make_pipeline(
    job: Job, dataset: DatasetConfig, view: str, inputs: int, objective: Objective, batches_per_step: int = 1,
    two_domains: bool = False, input_kind: str | None = None,
) -> LoadedData:
    """Load the dataset's arrays (offline-first) and wrap them in the tf.data pipeline; returns it
    with the dataset's class names, and a pipeline of the held-out validation examples when
    `dataset.validation` is set.
    `batches_per_step`: a model that consumes several real batches per step (WGAN's n_critic)
    gets them concatenated in one pipeline batch. `two_domains`: the model translates between two
    unpaired image domains (CycleGAN) and takes (source, target) batches, each domain shuffled on
    its own. `input_kind`: the family's input kind (`FitSpec.input_kind`) builds the pipeline instead."""
    splits = loaded_dataset(job, dataset)
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
        if dataset.validation is not None:
            raise ConfigError(f"dataset.validation: dataset '{dataset.name}' is two unpaired domains, with no labelled "
                              "examples to hold out; set dataset.validation=null")
        return LoadedData(pair_pipeline(splits, options, dataset.name, dataset.train_limit, dataset.test_limit), (), None)
    splits = splits.limited(dataset.train_limit, dataset.test_limit)
    held = None
    if dataset.validation is not None:
        try:
            splits, held = held_out(splits, dataset.validation)
        except ConfigError as exc:
            raise ConfigError(f"dataset '{dataset.name}': {exc}") from None

    def build(source: Any) -> Pipeline:
        if input_kind is not None:
            return kind_pipeline(input_kind, source, options, job.input_options, dataset.sampling)
        if dataset.sampling != "epochs":
            raise ConfigError(f"dataset.sampling={dataset.sampling}: only models whose input kind has the option (masks: "
                              f"fcn, unet, encoder_decoder) sample with replacement; valid here: epochs")
        return ArrayPipeline(source.x_train, source.y_train, source.x_test, source.y_test, len(source.class_names), options)

    try:
        return LoadedData(build(splits), tuple(splits.class_names), build(held) if held is not None else None)
    except IncompatibleError as exc:
        raise IncompatibleError(f"dataset '{dataset.name}': {exc}") from None


def kind_pipeline(kind: str, source: Any, options: PipelineOptions, kind_options: Any = None,
                  sampling: str = "epochs") -> InputPipeline:
    """The input kind `kind`'s pipeline over a loaded dataset, with its options from `dataset.options`
    (`kind_options`, `Job.input_options`; None: its defaults). `dataset.augment` is the kind's own
    augmentation, its `flip` setting (boxes and masks flip with their images), where it has one;
    a kind without one refuses it. `dataset.sampling` is its `sampling` setting; a kind without one
    takes only the default. Batches reach the model as the kind makes them."""
    settings: dict[str, Any] = dataclasses.asdict(kind_options) if kind_options is not None else {}
    names = {f.name for f in dataclasses.fields(INPUT_KINDS.get(kind).spec.options)}
    if AUGMENT_OPTION in names:
        settings[AUGMENT_OPTION] = options.augment
        options = dataclasses.replace(options, augment=False)
    if SAMPLING_OPTION in names:
        settings[SAMPLING_OPTION] = sampling
    elif sampling != "epochs":
        raise ConfigError(f"dataset.sampling={sampling}: input kind '{kind}' samples epochs only; valid here: epochs")
    return make_inputs(kind, source, options, settings)


def compile_model(model: keras.Model, job: Job, optimizer: keras.optimizers.Optimizer, objective: Objective) -> None:
    jit = {"auto": "auto", "true": True, "false": False}[job.trainer.jit_compile.lower()]
    onehot = job.dataset_config.labels.value == "onehot"
    model.compile(optimizer=optimizer, jit_compile=jit, **objective.compile_args(spec_of(job).loss, onehot))


def trainable_params(model: keras.Model) -> int:
    return sum(int(tf.size(w)) for w in model.trainable_weights)


def model_summary(model: keras.Model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=100)
    lines.append(f"Total params (count_params, incl. non-trainable): {model.count_params():,}")
    lines.append(f"Trainable params: {trainable_params(model):,}")
    return "\n".join(lines) + "\n"


# -- train -----------------------------------------------------------------------------------------
def spec_of(job: Job) -> FitSpec:
    assert isinstance(job.model.spec, FitSpec)
    return job.model.spec


@task("fit", "train")
def train(job: Job, rundir: RunDir) -> dict[str, Any]:
    """Train inside the job's `training_scope` (`trainer.strategy`, `trainer.precision`): every model
    and optimizer of the job is built, compiled, loaded and trained in it."""
    with rundir.removed_if_failed_fresh():
        configure_tensorflow(job)  # first: clearing Keras' session also resets its dtype policy
        scope = training_scope(job.trainer)
    with scope:
        return _train(job, rundir)


def _train(job: Job, rundir: RunDir) -> dict[str, Any]:
    started = time.time()
    spec = spec_of(job)
    with rundir.removed_if_failed_fresh():
        rundir.ensure_writable()
        done = rundir.read_json("metrics.json")
        if already_done(rundir, done, *job.trainer.budget):
            check_resumable(rundir, job, RESUME_KEYS)
            return done
        resuming = bool(rundir.resume_candidates())
        if resuming:  # before the data is loaded: a refusal is immediate
            check_resumable(rundir, job, RESUME_KEYS)
        objective = objective_of(spec.objective)
        dataset_name = job.dataset_config.name
        pipeline, class_names, validation = make_pipeline(
            job, job.dataset_config, spec.view, spec.inputs, objective, spec.steps_batches(job.model_options),
            two_domains=spec.two_domains, input_kind=spec.input_kind)
        STAGES.lap("data")
        if resuming:
            model, resumed_from = load_resumable(rundir, load_checkpoint)
            steps_done = int(model.optimizer.iterations.numpy())
            job = dataclasses.replace(job, trainer=continued_trainer(rundir, job.trainer, steps_done))
        else:
            context = BuildContext(seed=job.seed, input_shape=pipeline.input_shape, num_classes=pipeline.num_classes,
                                   class_names=class_names, pretrain_epochs_cap=job.trainer.caps.pretrain_epochs)
            try:
                model = job.model.build(job.model_options, context)
            except IncompatibleError as exc:
                raise IncompatibleError(f"model '{job.model.name}' cannot run on dataset '{dataset_name}': {exc}") from None
            float32_outputs(model)
            optimizer = job.optimizer.build(job.optimizer_options)
            compile_model(model, job, optimizer, objective)
            # A first phase some models need before fit (StackedGAN's encoder, CycleGAN's fixed
            # test images): only on a fresh build, since every checkpoint already holds its result.
            STAGES.lap("build")
            if spec.prepare is not None:
                spec.prepare(model, ArtifactData(pipeline), RunPhases.for_job(rundir, job, RESUME_KEYS))
                STAGES.lap("pre-training")
        check_recalibration(job.evaluate.bn_recalibrate, model, job.model.name, pipeline)
    write_config(rundir, job)
    if job.logger.summary:
        rundir.write_text("model_summary.txt", model_summary(model))
    pixel_mean = getattr(pipeline, "pixel_mean", None)
    if pixel_mean is not None:  # what task=export subtracts inside the exported model
        rundir.write_atomic(rundir.pixel_mean_file, lambda p: np.save(p, pixel_mean))

    steps = job.trainer.steps_per_epoch or pipeline.steps_per_epoch()
    initial_epoch = int(model.optimizer.iterations.numpy()) // steps
    if resuming:
        unit, budget = job.trainer.budget
        log.info("resuming from %s: %d of %d %s done", resumed_from, initial_epoch * steps if unit == "steps" else initial_epoch,
                 budget, unit)
    nan_recoveries = 0
    snapshot = spec.snapshot if job.logger.plots else None
    # quality.every=0 measures never, not even the final weights: the judge may first need training.
    measure = quality_measure(job, spec, ArtifactData(pipeline)) if job.trainer.quality.every > 0 else None
    monitors: list[keras.callbacks.Callback] = []
    if snapshot is not None:
        monitors.append(Snapshots(snapshot, ArtifactWriter(rundir), steps))
    quality_monitor = QualityMonitor(measure, job.trainer.quality.every, job.trainer.epochs) if measure is not None else None
    if quality_monitor is not None:
        monitors.append(quality_monitor)
    unit, budget = job.trainer.budget
    log.info(start_line("train", job.model.name, dataset_name, f"{budget} {unit}" + (
        f" ({job.trainer.epochs} intervals of {steps})" if unit == "steps" else f" of {steps} steps"), rundir.path))
    monitors.append(RunProgress(job.trainer.epochs, steps, step_based=unit == "steps"))
    if active().trackers:
        monitors.append(TrackEpochs(active()))  # last: it reports what the others added to the logs
    if initial_epoch < job.trainer.epochs:
        data = FitData(
            train=pipeline.train(initial_epoch, job.trainer.epochs, job.trainer.steps_per_epoch),
            steps_per_epoch=steps,
            validation=(validation or pipeline).test() if job.trainer.validate else None,
            train_from=lambda epoch: pipeline.train(epoch, job.trainer.epochs, job.trainer.steps_per_epoch),
        )
        outcome = fit(
            model,
            data,
            job.trainer,
            rundir,
            initial_epoch=initial_epoch,
            base_lr=job.optimizer_options.learning_rate,
            resume_state=rundir.read_json("checkpoints/state.json") if resuming else None,
            extra_callbacks=monitors,
            load=load_checkpoint,
            unmeasured=lambda: () if quality_monitor is not None and quality_monitor.latest else spec.evaluators,
        )
        model, nan_recoveries = outcome.model, outcome.nan_recoveries
    else:
        log.info("all %d epochs were already done in %s; evaluating only", job.trainer.epochs, rundir.path)

    STAGES.lap("train")
    # The final weights' scores, with BatchNorm statistics re-estimated when asked (the checkpoints keep theirs).
    recalibrated_now = recalibrated(job.evaluate.bn_recalibrate, model, pipeline)
    test = evaluate_batches(model, final_test_batches(job, spec, pipeline))
    if job.trainer.evaluate_train:
        log.info("evaluating the final weights on the train split (%d examples, inference mode)", pipeline.n_train)
    train_eval = evaluate_batches(model, pipeline.evaluation("train")) if job.trainer.evaluate_train else {}
    history = read_history(rundir.file("history.csv"))
    state = rundir.read_json("checkpoints/state.json") or {}
    # Of the final weights: the monitor measured them at the last epoch when this invocation trained.
    fresh = quality_monitor is not None and bool(quality_monitor.latest) and not recalibrated_now
    quality = quality_monitor.latest if fresh else (measure(model) if measure is not None else {})
    STAGES.lap("evaluation")
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
    if spec.artifacts is not None and job.logger.plots:
        spec.artifacts(model, ArtifactData(pipeline), ArtifactWriter(rundir))
    if snapshot is not None:
        ArtifactWriter(rundir).progress_animation()
    if job.logger.plots and history:
        plot_curves(rundir, history, steps_per_point=steps if job.trainer.budget[0] == "steps" else None, evaluated=set(quality))
    return finish(rundir, job, started, metrics)


def final_test_batches(job: Job, spec: FitSpec, pipeline: Pipeline) -> Any:
    """The test batches the final weights are evaluated on: the whole split, or its first
    `trainer.test_examples` rounded up to whole batches."""
    limit = job.trainer.test_examples
    if limit is None or limit >= pipeline.n_test:
        log.info("evaluating the final weights on the test split (%d examples)", pipeline.n_test)
        return pipeline.test()
    batch = job.trainer.batch_size * spec.steps_batches(job.model_options)
    batches = math.ceil(limit / batch)
    log.info("evaluating the final weights on the first %d of %d test examples (trainer.test_examples=%d; null: all)",
             min(batches * batch, pipeline.n_test), pipeline.n_test, limit)
    return pipeline.test().take(batches)


def quality_measure(job: Job, spec: FitSpec, data: DataView) -> Callable[[keras.Model], dict[str, Any]] | None:
    """The family's evaluators bound to this job's data and settings, or None when it names none."""
    if not spec.evaluators:
        return None
    settings = job.trainer.quality
    cache_dir = Path(settings.cache_dir) if settings.cache_dir is not None else user_cache_dir() / "judges"
    context = QualityContext(dataset=job.dataset_config.name, data_dir=job.data_dir, cache_dir=cache_dir,
                             samples=settings.samples, verify=job.dataset_config.verify_checksums)

    def measure(model: keras.Model) -> dict[str, float]:
        log.info("measuring %s", ", ".join(spec.evaluators))
        return run_evaluators(spec.evaluators, model, data, context)

    return measure


def _finite_or_none(value: float | None) -> float | None:
    """A best value that was never set (the monitor was not logged) is None, not +-inf."""
    return value if value is not None and math.isfinite(value) else None


# -- evaluate / sample -----------------------------------------------------------------------------
def view_of(model: keras.Model) -> tuple[str, int]:
    """The input view a model takes, read from its input shape: (view, number of inputs)."""
    rank = len(model.inputs[0].shape) - 1
    return {1: "flat", 2: "sequence", 3: "image"}[rank], len(model.inputs)


def require_matching_inputs(job: Job, ckpt: Path, model: keras.Model, pipeline: Any) -> None:
    """Refuse a dataset whose inputs are not the shape the checkpoint's model takes (a model
    without symbolic inputs, a subclassed GAN, takes what the pipeline gives)."""
    model_inputs = getattr(model, "inputs", None)
    expected = tuple(model_inputs[0].shape[1:]) if model_inputs else pipeline.input_shape
    if expected != pipeline.input_shape:
        raise IncompatibleError(f"checkpoint {ckpt} takes inputs of shape {expected}, dataset "
                                f"'{job.dataset_config.name}' gives {pipeline.input_shape}")


@task("fit", "evaluate")
def evaluate(job: Job, rundir: RunDir) -> dict[str, Any]:
    """Measure a checkpoint on the `split` of its own data (or of `dataset=`, when chosen)."""
    started = time.time()
    spec = spec_of(job)
    with rundir.removed_if_failed_fresh():
        configure_tensorflow(job)  # before loading: it clears Keras' session
        ckpt = required_checkpoint(job)
        model = load_for_inference(job, ckpt)
        if spec.sample is not None and not getattr(model, "inputs", None):
            return _evaluate_samples(job, rundir, ckpt, model, started)
        # An input kind decides the batches; else the model's own input shape says its view.
        view, inputs = (spec.view, spec.inputs) if spec.input_kind is not None else view_of(model)
        objective = objective_of(spec.objective)
        dataset_name = job.dataset_config.name
        pipeline = make_pipeline(job, job.dataset_config, view, inputs, objective, input_kind=spec.input_kind).pipeline
        restore_pixel_mean(pipeline, ckpt)
        require_matching_inputs(job, ckpt, model, pipeline)
        check_recalibration(job.evaluate.bn_recalibrate, model, job.model.name, pipeline)
    if not model.compiled:
        compile_model(model, job, keras.optimizers.Adam(), objective)
    write_config(rundir, job)
    split = job.split.value
    recalibrated(job.evaluate.bn_recalibrate, model, pipeline)
    results = evaluate_batches(model, pipeline.evaluation(split))
    # The family's dataset-wide numbers (a detector's mAP) measure the test split.
    measure = quality_measure(job, spec, ArtifactData(pipeline)) if split == "test" else None
    metrics = {
        "task": "evaluate",
        "split": split,
        "checkpoint": str(ckpt),
        "model": model.name,
        "dataset": dataset_name,
        "seed": job.seed,
        "params": model.count_params(),
        **{f"{split}_{key}": float(value) for key, value in results.items()},
        **(measure(model) if measure is not None else {}),
        "status": "completed",
    }
    if spec.artifacts is not None and job.logger.plots and split == "test":  # the figures of training, of this checkpoint
        spec.artifacts(model, ArtifactData(pipeline), ArtifactWriter(rundir))
    return finish(rundir, job, started, metrics)


def _evaluate_samples(job: Job, rundir: RunDir, ckpt: Path, model: keras.Model, started: float) -> dict[str, Any]:
    """task=evaluate on a whole generative-model checkpoint (a GAN): its sample-quality numbers
    (MNIST-FID, label accuracy) on `trainer.quality.samples` generated images."""
    spec = spec_of(job)
    check_recalibration(job.evaluate.bn_recalibrate, model, job.model.name, pipeline=None)  # no inputs: refused
    measure = None
    if spec.evaluators:
        pipeline = make_pipeline(job, job.dataset_config, spec.view, spec.inputs, objective_of(spec.objective),
                                 input_kind=spec.input_kind).pipeline
        measure = quality_measure(job, spec, ArtifactData(pipeline))
    numbers = measure(model) if measure is not None else {}
    if not numbers:
        raise IncompatibleError(
            f"checkpoint {ckpt} holds a '{job.model.name}' model trained on '{job.dataset_config.name}', for which no "
            f"sample-quality measure exists (MNIST-FID needs an MNIST-shaped GAN); use task=sample to look at its samples"
        )
    write_config(rundir, job)
    metrics = {"task": "evaluate", "checkpoint": str(ckpt), "model": job.model.name, "dataset": job.dataset_config.name,
               "seed": job.seed, "params": model.count_params(), "samples": job.trainer.quality.samples,
               **numbers, "status": "completed"}
    return finish(rundir, job, started, metrics)


@task("fit", "sample")
def sample(job: Job, rundir: RunDir) -> dict[str, Any]:
    """Draw from a generative model's checkpoint with the family's own controls, no training; with
    no checkpoint, draw from the dataset itself (`dataset_sample`)."""
    if job.ckpt is None:
        log.info("no ckpt=: sampling dataset '%s' itself (give ckpt=<run dir> to sample a trained model)",
                 job.dataset_config.name)
        return sample_dataset(job, rundir)
    started = time.time()
    with rundir.removed_if_failed_fresh():
        configure_tensorflow(job)  # before loading: it clears Keras' session
        ckpt = required_checkpoint(job)
        model = load_checkpoint(ckpt)
        draw = spec_of(job).sample
        if draw is None:
            raise IncompatibleError(f"checkpoint {ckpt} holds a '{job.model.name}' model, which cannot sample; "
                                    f"task=sample needs a generative model (a decoder or generator)")
        # Inside the guard: only the family can check its options (e.g. a label's range), and a
        # bad one must leave no run dir behind, like every other bad input.
        written = draw(model, job.sample, ArtifactWriter(rundir))
    write_config(rundir, job)
    metrics = {"task": "sample", "checkpoint": str(ckpt), "model": job.model.name, "params": model.count_params(),
               "files": [str(p) for p in written or []], "status": "completed"}
    return finish(rundir, job, started, metrics)
