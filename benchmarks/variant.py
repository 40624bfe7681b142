"""One variant of the `threads` benchmark (`threads.py`), in a fresh process.

TensorFlow's thread pools are sized once, when the first op runs; after that the setters raise.
So each thread setting needs its own interpreter: this script applies `--intra`/`--inter` right
after importing TensorFlow (nothing has run yet), then times the runner's MLP and CNN fit epochs
and its DCGAN step, and prints one JSON object on its last stdout line:

    {"intra": int, "inter": int, "cpus": int, "mlp": [epoch s, ...], "cnn": [...], "gan": s/step}

`--intra`/`--inter` left out: not set at all, which is what the runner does (TensorFlow's 0/0).
Process start-up, data loading, model building and tracing are outside every timed span.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--intra", type=int, default=None, help="tf.config.threading intra-op threads (unset: not set)")
    p.add_argument("--inter", type=int, default=None, help="tf.config.threading inter-op threads (unset: not set)")
    p.add_argument("--models", default="mlp,cnn,gan", help="comma-separated: mlp, cnn, gan")
    p.add_argument("--train", type=int, required=True, help="training examples for the MLP and CNN fits")
    p.add_argument("--epochs", type=int, default=3, help="epochs per fit (the first, tracing, is dropped later)")
    p.add_argument("--gan-steps", type=int, default=5, help="timed DCGAN steps (after tracing)")
    p.add_argument("--data-dir", type=Path, default=None, help="holds mnist/mnist.npz; none: synthetic data")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import tensorflow as tf

    # Before any op: this is the only moment the thread pools can still be sized.
    if args.intra is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    if args.inter is not None:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter)

    import fits  # the same fits as fit_overhead
    from harness import Settings

    models = [m for m in args.models.split(",") if m]
    s = Settings(quick=False, reps=1, out=Path("."), data_dir=args.data_dir)
    x_u8, y, source = fits.mnist_arrays(s, limit=args.train)
    result: dict = {
        "intra": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter": tf.config.threading.get_inter_op_parallelism_threads(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "source": source,
    }
    for name in models:
        if name in ("mlp", "cnn"):
            result[name] = fits.fit_runner(name, fits.runner_pipeline(name, x_u8, y), args.epochs)
        elif name == "gan":
            from gan_step import runner_case

            result[name] = runner_case(x_u8, args.gan_steps)()
        else:
            raise SystemExit(f"unknown model {name}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
