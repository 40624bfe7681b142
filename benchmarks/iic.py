"""iic: the IIC family (book ch. 13) against a hand-written GradientTape step, and its input pipeline.

`train_step`: seconds per training step of the registry IIC (`IIC` over `iic_network`, its own
`train_step`: one pass over [X; G(X)], the IIC loss per head) through `fit` on the `views` input
kind's batches, compiled as the runner compiles it, against a `tf.function` GradientTape step written
out here (the book's `mi_loss` in TensorFlow ops, Adam 1e-3) on the same network architecture and the
same batches held in memory as tensors.

`pipeline`: seconds per batch of the `views` kind alone (centre crop and, per example, a rotated or
cropped and resized second view), iterated without a model. `pipeline_vs_train_step` is the share of
a training step the pipeline needs to make the next batch: below 1 it keeps the step fed (tf.data
prefetches while the step runs), above 1 the run is input-bound.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from fits import mnist_arrays
from harness import Settings, alternate, log, ratio, summarize, target
from ssd import fit_step_case

BATCH = {False: 512, True: 32}
"""The book's batch size (spec 13.B); --quick: a small one."""
TRAIN_STEPS = {False: 2, True: 3}
"""Timed training steps per repetition, after one untimed step (each side traced first)."""
PIPELINE_BATCHES = {False: 8, True: 8}
"""Batches of the views pipeline timed per repetition."""


def views_pipeline(s: Settings, batch: int, n_train: int) -> tuple[Any, str]:
    """The `views` kind over the first `n_train` MNIST training images (real if present, else synthetic)."""
    from adl_runner.data.inputs import make_inputs
    from adl_runner.data.pipeline import PipelineOptions
    from adl_runner.data.splits import ArraySplits

    x, y, source = mnist_arrays(s, n_train)
    splits = ArraySplits(x, y, x[:batch], y[:batch], tuple(str(d) for d in range(10)))
    return make_inputs("views", splits, PipelineOptions(view="image", targets="none", batch_size=batch, seed=0)), source


def book_mi_loss(z: Any, z_bar: Any) -> Any:
    """Listing 13.5.4's `mi_loss` of one head, in TensorFlow ops (the hand-written side's own copy)."""
    import tensorflow as tf

    p = tf.reduce_sum(z[:, :, None] * z_bar[:, None, :], axis=0)
    p = (p + tf.transpose(p)) / 2.0
    p = p / tf.reduce_sum(p)
    p_i = tf.reduce_sum(p, axis=1, keepdims=True)
    p_j = tf.reduce_sum(p, axis=0, keepdims=True)
    p, p_i, p_j = (tf.clip_by_value(t, 1e-7, 3.4e38) for t in (p, p_i, p_j))
    return tf.reduce_sum(p * (tf.math.log(p_i) + tf.math.log(p_j) - tf.math.log(p)))


def hand_step_case(network: Any, batches: list[tuple[Any, Any]], steps: int) -> Callable[[], float]:
    """A timed case: seconds per step of a hand-written `tf.function` GradientTape step over `batches`
    (the first untimed, after a tracing call)."""
    import keras
    import tensorflow as tf

    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def step(x: Any, g_x: Any) -> Any:
        with tf.GradientTape() as tape:
            z = network(tf.concat([x, g_x], 0), training=True)
            loss = book_mi_loss(z[: tf.shape(x)[0]], z[tf.shape(x)[0]:])
        optimizer.apply_gradients(zip(tape.gradient(loss, network.trainable_weights), network.trainable_weights))
        return loss

    step(*batches[0]).numpy()  # trace

    def run() -> float:
        step(*batches[0]).numpy()
        started = time.perf_counter()
        for x, g_x in batches[1: steps + 1]:
            loss = step(x, g_x)
        loss.numpy()
        return (time.perf_counter() - started) / steps
    return run


def train_cases(pipeline: Any, steps: int) -> dict[str, Callable[[], float]]:
    """{'runner', 'hand_written'}: seconds per step of each side over the same `steps + 1` batches."""
    import keras

    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.models.iic import IICOptions, iic_network
    from adl_runner.runner.families import load_families
    from adl_runner.runner.objectives import objective_of
    from adl_runner.runner.optim import AdamOptions, adam

    load_families()
    entry = MODELS.get("iic")
    keras.utils.set_random_seed(0)
    runner = entry.build(IICOptions(), BuildContext(0, pipeline.input_shape, pipeline.num_classes))
    # as runner.tasks.fit.compile_model compiles a family of objective "self" (trainer.jit_compile: auto)
    runner.compile(optimizer=adam(AdamOptions()), jit_compile="auto",
                   **objective_of(entry.spec.objective).compile_args(entry.spec.loss, onehot=False))
    runner_data = pipeline.train(0, 1, steps + 1)
    batches = [views for views, _ in runner_data]  # the same batches, held as tensors
    keras.utils.set_random_seed(0)
    network = iic_network(pipeline.input_shape, heads=1, clusters=pipeline.num_classes)
    return {"runner": fit_step_case(runner, runner_data, steps), "hand_written": hand_step_case(network, batches, steps)}


def pipeline_case(pipeline: Any, batches: int) -> Callable[[], float]:
    """Seconds per batch of iterating the views pipeline alone (its first batch, the start-up, untimed)."""
    def run() -> float:
        iterator = iter(pipeline.train(0, 1, batches + 1))
        next(iterator)
        started = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        return (time.perf_counter() - started) / batches
    return run


def iic(s: Settings) -> dict[str, Any]:
    """The runner's IIC training step against a hand-written one, and the views pipeline's time per batch."""
    batch, steps = BATCH[s.quick], TRAIN_STEPS[s.quick]
    reps = min(s.reps, 3)
    n_train = batch * max(steps + 1, PIPELINE_BATCHES[s.quick] + 1)
    pipeline, source = views_pipeline(s, batch, n_train)
    log(f"iic train_step: {source}, VGG 'F', 1 head, batch {batch}, {steps} steps x {reps} reps per side")
    timings: dict[str, list[float]] = {}
    cases = {**{f"train_step_{k}": v for k, v in train_cases(pipeline, steps).items()},
             "pipeline": pipeline_case(pipeline, PIPELINE_BATCHES[s.quick])}
    timings.update(alternate(cases, reps))
    medians = summarize(timings)
    ratios = {"train_step_runner_vs_hand_written": ratio(medians["train_step_runner"], medians["train_step_hand_written"]),
              "pipeline_vs_train_step": ratio(medians["pipeline"], medians["train_step_runner"])}
    return {
        "units": "train_step_*: seconds per step; pipeline: seconds per batch of the views kind alone",
        "data": {"source": source, "batch_size": batch, "input": "24x24x1 centre crops and their second views",
                 "train_steps_per_rep": steps, "pipeline_batches_per_rep": PIPELINE_BATCHES[s.quick], "reps": reps},
        "timings": timings,
        "medians": medians,
        "ratios": ratios,
        "targets": {"train_step_runner_vs_hand_written": target(ratios["train_step_runner_vs_hand_written"], "<=", 1.1),
                    "pipeline_vs_train_step": target(ratios["pipeline_vs_train_step"], "<=", 1.0)},
    }
