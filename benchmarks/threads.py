"""threads: the runner's fit epochs (MLP, CNN) and DCGAN step under TensorFlow thread settings, each
variant in its own process (`variant.py`); the evidence behind leaving the threads unset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from fits import CASE_TRAIN, FAMILIES
from harness import REPO, Settings, alternate, child_env, log, ratio, steady, summarize

# name -> (intra, inter) for tf.config.threading; None: not set, which is what the runner does today
# (no code in src/ or conf/ sets threads). "tf_0_0" sets TensorFlow's own default explicitly, so its
# ratio to "runner_default" is the noise floor of the comparison.
THREAD_VARIANTS: dict[str, tuple[int | None, int | None]] = {
    "runner_default": (None, None),
    "tf_0_0": (0, 0),
    "intra1_inter1": (1, 1),
    "intra1_inter2": (1, 2),
    "intra2_inter1": (2, 1),
    "intra2_inter2": (2, 2),
}
DEFAULT_VARIANT = "runner_default"
CASE_GAN_STEPS = {True: 5, False: 20}


def variant_process(intra: int | None, inter: int | None, train: int, epochs: int, gan_steps: int,
                    data_dir: Path | None) -> dict[str, Any]:
    """One run of benchmarks/variant.py: a fresh interpreter with these thread settings."""
    argv = [sys.executable, str(REPO / "benchmarks" / "variant.py"), "--train", str(train), "--epochs", str(epochs),
            "--gan-steps", str(gan_steps), "--models", ",".join(FAMILIES)]
    argv += ["--intra", str(intra)] if intra is not None else []
    argv += ["--inter", str(inter)] if inter is not None else []
    argv += ["--data-dir", str(data_dir)] if data_dir is not None else []
    proc = subprocess.run(argv, cwd=REPO, env=child_env(), capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"variant.py intra={intra} inter={inter} exited {proc.returncode}: {' | '.join(tail)}")
    return json.loads(lines[-1])


def threads(s: Settings) -> dict[str, Any]:
    """The runner's fit epochs (MLP, CNN) and DCGAN step under TensorFlow thread settings, each
    variant in its own process (the pools are sized before the first op); ratios to the default."""
    train, epochs, gan_steps = CASE_TRAIN[s.quick], 3, CASE_GAN_STEPS[s.quick]
    reps = min(s.reps, 2) if s.quick else min(s.reps, 3)
    log(f"threads: {len(THREAD_VARIANTS)} variants x {reps} reps, one process each "
        f"({train} examples x {epochs} epochs for MLP and CNN, {gan_steps} DCGAN steps)")
    cases = {name: (lambda i=intra, j=inter: variant_process(i, j, train, epochs, gan_steps, s.data_dir))
             for name, (intra, inter) in THREAD_VARIANTS.items()}
    runs = alternate(cases, reps)
    timings: dict[str, list[float]] = {}
    for variant, results in runs.items():
        for fam in FAMILIES:
            timings[f"{fam}_{variant}"] = [r[fam] if fam == "gan" else steady(r[fam]) for r in results]
    med = summarize(timings)
    ratios = {f"{fam}_{variant}_vs_default": ratio(med[f"{fam}_{variant}"], med[f"{fam}_{DEFAULT_VARIANT}"])
              for fam in FAMILIES for variant in THREAD_VARIANTS if variant != DEFAULT_VARIANT}
    fastest = {fam: min(THREAD_VARIANTS, key=lambda v: med[f"{fam}_{v}"]) for fam in FAMILIES}
    return {
        "units": "seconds per steady-state epoch (mlp, cnn: first epoch dropped) and per DCGAN step (gan)",
        "data": {"source": runs[DEFAULT_VARIANT][0]["source"], "train_examples": train, "epochs_per_fit": epochs,
                 "gan_steps_per_rep": gan_steps, "cpus": runs[DEFAULT_VARIANT][0]["cpus"]},
        "variants": {name: {"intra": intra, "inter": inter,
                            "reported": [runs[name][0]["intra"], runs[name][0]["inter"]]}
                     for name, (intra, inter) in THREAD_VARIANTS.items()},
        "timings": timings,
        "medians": med,
        "ratios": ratios,
        "fastest": fastest,
    }
