"""GAN step benchmark (issue 3, item 7): the runner's fused DCGAN step against a hand-written
`tf.function` GradientTape step and the book's `predict` + two `train_on_batch` loop, all on the
same networks (the book's `lib/gan.py` G and D built by `models.gan.networks`), batch 64.

The book-style loop exists here only, to measure what the runner replaces: D is compiled, frozen
inside an adversarial model that is compiled after it, and each step runs `generator.predict`,
`discriminator.train_on_batch` on [real; fake] and `adversarial.train_on_batch`. Keras 3 traces a
model's train function on its first `train_on_batch`, reading the trainable flags then, so D's
first call happens before it is frozen (the book's order of calls would make D silently not learn,
see the spec's migration notes); the work per step is the book's.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from fits import mnist_arrays
from harness import Settings, alternate, log, ratio, summarize, target

GAN_BATCH = 64
LATENT = 100


def _real_batches(x_u8: np.ndarray, steps: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(x_u8[rng.integers(0, len(x_u8), GAN_BATCH)].astype("float32") / 255.0) for _ in range(steps)]


def runner_case(x_u8: np.ndarray, steps: int, jit_compile: Any = False) -> Callable[[], float]:
    """Seconds per step of the registry DCGAN through `model.fit`, as `run model=dcgan` trains.
    `jit_compile`: False is what `trainer.jit_compile=auto` resolves to on a CPU-only machine."""
    import tensorflow as tf

    from adl_runner.kernel.specs import BuildContext
    from adl_runner.models.gan.dcgan import build_dcgan
    from adl_runner.models.gan.options import BookGANOptions
    from adl_runner.runner.optim import RMSpropOptions, rmsprop

    model = build_dcgan(BookGANOptions(), BuildContext(0, (28, 28, 1), 10))
    model.compile(optimizer=rmsprop(RMSpropOptions(learning_rate=2e-4, decay=6e-8)), jit_compile=jit_compile)
    data = tf.data.Dataset.from_tensor_slices(np.concatenate(_real_batches(x_u8, steps))).batch(GAN_BATCH, drop_remainder=True)
    model.fit(data.take(2), epochs=1, verbose=0)  # trace

    def run() -> float:
        started = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        return (time.perf_counter() - started) / steps

    return run


def _networks() -> tuple[Any, Any]:
    import keras

    from adl_runner.models.gan.networks import discriminator, generator, latent_input

    return generator([latent_input("z", LATENT)], (28, 28, 1)), discriminator(keras.Input((28, 28, 1)))


def _hand_written_case(x_u8: np.ndarray, steps: int) -> Callable[[], float]:
    """A plain tf.function GradientTape step on the same networks and optimizers, doing the runner's
    work: D's fakes from G in training mode (BatchNorm on batch statistics), as `run` does by default."""
    import keras
    import tensorflow as tf

    g, d = _networks()
    d_opt, g_opt = keras.optimizers.RMSprop(2e-4), keras.optimizers.RMSprop(1e-4)
    bce = keras.losses.BinaryCrossentropy()

    @tf.function
    def step(real: tf.Tensor) -> None:
        z = tf.random.uniform((GAN_BATCH, LATENT), -1.0, 1.0)
        fake = g(z, training=True)
        with tf.GradientTape() as tape:
            out = d(tf.concat([real, fake], 0), training=True)
            d_loss = bce(tf.concat([tf.ones((GAN_BATCH, 1)), tf.zeros((GAN_BATCH, 1))], 0), out)
        d_opt.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
        z = tf.random.uniform((GAN_BATCH, LATENT), -1.0, 1.0)
        with tf.GradientTape() as tape:
            g_loss = bce(tf.ones((GAN_BATCH, 1)), d(g(z, training=True), training=True))
        g_opt.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))

    batches = [tf.constant(b) for b in _real_batches(x_u8, steps)]
    step(batches[0])  # trace

    def run() -> float:
        started = time.perf_counter()
        for batch in batches:
            step(batch)
        return (time.perf_counter() - started) / steps

    return run


def _book_style_case(x_u8: np.ndarray, steps: int) -> Callable[[], float]:
    """generator.predict + discriminator.train_on_batch + adversarial.train_on_batch (Listing 4.2.3)."""
    import keras

    g, d = _networks()
    d.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(2e-4), metrics=["accuracy"])
    batches = _real_batches(x_u8, steps)
    targets = np.concatenate([np.ones((GAN_BATCH, 1)), np.zeros((GAN_BATCH, 1))]).astype("float32")
    d.train_on_batch(np.concatenate([batches[0], batches[0]]), targets)  # traced while trainable
    d.trainable = False
    z_in = keras.Input((LATENT,))
    adversarial = keras.Model(z_in, d(g(z_in)))
    adversarial.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(1e-4), metrics=["accuracy"])
    rng = np.random.default_rng(0)

    def one_step(real: np.ndarray) -> None:
        noise = rng.uniform(-1.0, 1.0, (GAN_BATCH, LATENT)).astype("float32")
        fake = g.predict(noise, verbose=0)
        d.train_on_batch(np.concatenate([real, fake]), targets)
        noise = rng.uniform(-1.0, 1.0, (GAN_BATCH, LATENT)).astype("float32")
        adversarial.train_on_batch(noise, np.ones((GAN_BATCH, 1), dtype="float32"))

    one_step(batches[0])  # trace

    def run() -> float:
        started = time.perf_counter()
        for batch in batches:
            one_step(batch)
        return (time.perf_counter() - started) / steps

    return run


def gan_cases(x_u8: np.ndarray, steps: int) -> dict[str, Callable[[], float]]:
    """{'runner', 'hand_written', 'book_style'}: each call times `steps` steps and returns s/step."""
    return {
        "runner": runner_case(x_u8, steps),
        "hand_written": _hand_written_case(x_u8, steps),
        "book_style": _book_style_case(x_u8, steps),
    }


def gan_step(s: Settings) -> dict[str, Any]:
    """Seconds per DCGAN step (batch 64): the runner's fused step vs hand-written and book-style loops."""
    x_u8, _, source = mnist_arrays(s)
    steps = 3 if s.quick else 20
    log(f"gan_step: {steps} steps x {s.reps} reps per case")
    timings = alternate(gan_cases(x_u8, steps), s.reps)
    medians = summarize(timings)
    ratios = {
        "runner_vs_hand_written": ratio(medians["runner"], medians["hand_written"]),
        "runner_vs_book_style": ratio(medians["runner"], medians["book_style"]),
    }
    return {
        "units": "seconds per training step (median of alternated repetitions)",
        "data": {"source": source, "batch_size": GAN_BATCH, "steps_per_rep": steps},
        "timings": timings,
        "medians": medians,
        "ratios": ratios,
        "targets": {"runner_vs_hand_written": target(ratios["runner_vs_hand_written"], "<=", 1.10),
                    "runner_vs_book_style": target(ratios["runner_vs_book_style"], "<=", 1.0)},
    }
