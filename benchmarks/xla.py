"""xla: `jit_compile` on vs off for the runner's MLP and CNN epochs and its DCGAN step, in one process,
and what `jit_compile="auto"` resolves to: the evidence behind the runner's default."""

from __future__ import annotations

from typing import Any, Callable

from fits import CASE_TRAIN, FAMILIES, epoch_timer, mnist_arrays, runner_model, runner_pipeline
from gan_step import runner_case
from harness import Settings, alternate, log, median, ratio, summarize, target

XLA_GAN_STEPS = {True: 3, False: 5}  # an XLA DCGAN step took 30 s on 2 busy cores (13x off): fewer steps


def auto_jit_resolves_to() -> dict[str, bool]:
    """What `jit_compile="auto"` (trainer.jit_compile's default) becomes for each family here."""
    import keras

    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.models.gan.dcgan import build_dcgan
    from adl_runner.models.gan.options import BookGANOptions
    from adl_runner.runner.families import load_families

    load_families()
    resolved = {}
    for fam in ("mlp", "cnn"):
        entry = MODELS.get(fam)
        model = entry.build(entry.spec.options(), BuildContext(0, (784,) if fam == "mlp" else (28, 28, 1), 10))
        model.compile(optimizer="adam", loss="categorical_crossentropy", jit_compile="auto")
        resolved[fam] = bool(model.jit_compile)
    gan = build_dcgan(BookGANOptions(), BuildContext(0, (28, 28, 1), 10))
    gan.compile(optimizer=keras.optimizers.RMSprop(2e-4), jit_compile="auto")
    resolved["gan"] = bool(gan.jit_compile)
    return resolved


def trained_model_case(name: str, pipeline, epochs: int, jit_compile: bool) -> Callable[[], float]:
    """A runner model compiled with `jit_compile`, traced (and XLA-compiled) by a first fit here;
    each call fits `epochs` more epochs and returns their median epoch time. One model per side,
    so the XLA compile is paid once, outside the timed calls."""
    model = runner_model(name, pipeline, jit_compile)
    steps = pipeline.steps_per_epoch()
    model.fit(pipeline.train(0, 1), epochs=1, steps_per_epoch=steps, verbose=0)  # trace, compile

    def run() -> float:
        timer = epoch_timer()
        model.fit(pipeline.train(0, epochs), epochs=epochs, steps_per_epoch=steps, callbacks=[timer], verbose=0)
        return median(timer.times)

    return run


def xla(s: Settings) -> dict[str, Any]:
    """`jit_compile` on vs off for the runner's MLP and CNN epochs and its DCGAN step, in one process."""
    x_u8, y, source = mnist_arrays(s, limit=CASE_TRAIN[s.quick])
    epochs, gan_steps, reps = 2, XLA_GAN_STEPS[s.quick], min(s.reps, 3)
    resolved = auto_jit_resolves_to()
    timings: dict[str, list[float]] = {}
    ratios, targets = {}, {}
    for fam in FAMILIES:
        log(f"xla: {fam}, on vs off, {reps} reps ({len(x_u8)} examples x {epochs} epochs, or {gan_steps} steps)")
        if fam == "gan":
            cases = {"off": runner_case(x_u8, gan_steps, False), "on": runner_case(x_u8, gan_steps, True)}
        else:
            pipeline = runner_pipeline(fam, x_u8, y)
            cases = {"off": trained_model_case(fam, pipeline, epochs, False),
                     "on": trained_model_case(fam, pipeline, epochs, True)}
        for side, values in alternate(cases, reps).items():
            timings[f"{fam}_{side}"] = values
        r = ratio(median(timings[f"{fam}_on"]), median(timings[f"{fam}_off"]))
        ratios[f"{fam}_on_vs_off"] = r
        # the default (auto) should pick the faster side: off where on/off >= 1, on where it is <= 1
        targets[f"{fam}_on_vs_off"] = target(r, "<=" if resolved[fam] else ">=", 1.0)
    return {
        "units": "seconds per epoch (mlp, cnn; after a first fit that traces and compiles) and per DCGAN step (gan)",
        "data": {"source": source, "train_examples": int(len(x_u8)), "epochs_per_rep": epochs,
                 "gan_steps_per_rep": gan_steps},
        "auto_resolves_to": resolved,
        "timings": timings,
        "medians": summarize(timings),
        "ratios": ratios,
        "targets": targets,
    }
