"""`run-report cyclegan-doc`: write docs/results/cyclegan.md and its figures from a CycleGAN run dir.

    run-report cyclegan-doc <run dir> [--docs docs/results]

The run dir holds what the runner wrote plus the wrapper's files: command.txt (one line per
invocation), commit.txt, wall*.json (wall time of each invocation, measured outside the runner)
and metrics_step<N>.json / translated_target_step<N>.png (copies taken before the run was extended).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Sequence

from adl_runner.runner.reports.files import ReportError, metrics, read_csv, read_json, read_text, read_yaml


def cyclegan_doc(run: Path, docs: Path) -> Path:
    """Write `docs`/cyclegan.md and copy its figures into `docs`/figures; returns the page's path."""
    figures = docs / "figures"
    commands = read_text(run / "command.txt").strip().splitlines()
    walls = [read_json(run / name) for name in ("wall_step400.json", "wall_resume.json") if (run / name).exists()]
    first = read_json(run / "metrics_step400.json")
    final = metrics(run)
    history = read_csv(run / "history.csv")
    config = read_yaml(run / "config.yaml")
    interval, batch = config["trainer"]["steps_per_epoch"], config["trainer"]["batch_size"]
    grids = sorted((run / "grids").glob("[0-9]*.png"))
    if not grids:
        raise ReportError(f"{run / 'grids'} holds no progress grid (<step>.png)")
    first_grid = grids[0]
    copies = {
        "test_source.png": "cyclegan_cifar10_gray_input.png",
        "test_target.png": "cyclegan_cifar10_ground_truth.png",
        f"grids/{first_grid.name}": f"cyclegan_cifar10_step{int(first_grid.stem)}.png",
        "translated_target_step400.png": f"cyclegan_cifar10_step{first['steps_completed']}.png",
        "translated_target.png": f"cyclegan_cifar10_step{final['steps_completed']}.png",
        "reconstructed_source.png": "cyclegan_cifar10_reconstructed_gray.png",
        "translated_source.png": "cyclegan_cifar10_color_to_gray.png",
    }
    for source, target in copies.items():
        shutil.copyfile(run / source, figures / target)
    rows = "\n".join(
        f"| {(int(r['epoch']) + 1) * interval} | {float(r['d_target_loss']):.4f} | {float(r['d_source_loss']):.4f} | "
        f"{float(r['gan_loss']):.4f} | {float(r['cycle_loss']):.4f} | {float(r['adv_loss']):.4f} |"
        for r in history
    )
    total_wall = sum(w["wall_s"] for w in walls)
    text = f"""# CycleGAN: gray -> colour CIFAR-10 on CPU (E7.2, PatchGAN, k=3)

A short CPU run of the book's CycleGAN (Listing 7.1.6) on the 5,000/1,000-image CIFAR-10 subset,
to show the colourization trend; the book trains 100,000 steps (GPU only). Book defaults otherwise:
batch {batch}, 2x2 PatchGAN, LSGAN losses, cycle weight 10, no identity loss,
RMSprop 2e-4 (each D) and 1e-4 (both generators) with the Keras-2 decays.

Commit `{read_text(run / 'commit.txt').strip()}` (a frozen `git worktree add --detach` snapshot),
2 CPU cores shared with other jobs. Commands, in this order, in one run dir
(the second resumes from the step-{first['steps_completed']} checkpoint and extends the run):

```
{chr(10).join(commands)}
```

| invocation | steps | runner `wall_time_s` | wall time measured outside (s) |
|---|---|---|---|
| 1 | 0 -> {first['steps_completed']} | {first['wall_time_s']} | {walls[0]['wall_s']:.1f} |
| 2 (resumed from epoch {final['resumed_from_epoch']}) | {first['steps_completed']} -> {final['steps_completed']} | {final['wall_time_s']} | {walls[1]['wall_s']:.1f} |

Total wall time {total_wall:.1f} s; training time (`train_seconds`, both invocations) {final['train_seconds']} s
for {final['steps_completed']} steps. Parameters: {final['params']:,} (G, F, D_y, D_x).

Per-interval means from `history.csv` (each row: the {interval} steps ending there):

| step | d_target_loss | d_source_loss | gan_loss | cycle_loss | adv_loss |
|---|---|---|---|---|---|
{rows}

Final losses on the test split: cycle {final['test_cycle_loss']:.4f}, generator LSGAN
{final['test_gan_loss']:.4f}, D_y {final['test_d_target_loss']:.4f}, D_x {final['test_d_source_loss']:.4f}.

Figures (the first {config['model']['grid_size']} test images): gray input `figures/cyclegan_cifar10_gray_input.png`,
ground truth `figures/cyclegan_cifar10_ground_truth.png`, and G(gray) at steps {int(first_grid.stem)},
{first['steps_completed']} and {final['steps_completed']}:

![G(gray) at step {final['steps_completed']}](figures/cyclegan_cifar10_step{final['steps_completed']}.png)

`figures/cyclegan_cifar10_step{int(first_grid.stem)}.png`, `figures/cyclegan_cifar10_step{first['steps_completed']}.png`,
`figures/cyclegan_cifar10_reconstructed_gray.png` (F(G(x))) and `figures/cyclegan_cifar10_color_to_gray.png` (F(y)).

What it shows (looked at, not measured): the trend only. After {final['steps_completed']} of the book's
100,000 steps the objects of the gray inputs stay recognisable in G(gray) (horses, planes, ships),
but details are blurred and dark regions carry magenta/purple artefacts. The colours are a few
global tints rather than object colours: olive/khaki at step {first['steps_completed']}, browns and a
pale blue-grey (sky-like backgrounds) at step {final['steps_completed']}; no green grass, no red fire
trucks yet. The cycle loss still falls at the end (table above), so the run is far from converged;
the book's comparison (Fig. 7.1.13) is after the full run.

`run` above is the runner's entry point from the snapshot: `PYTHONPATH=src python -c "import sys;
from adl_runner.runner.cli import main; sys.exit(main(sys.argv[1:]))" <arguments>` with the project venv's
Python (the venv's `run` script is installed from another checkout). Rebuild this page and its
figures with `run-report cyclegan-doc <run dir>`.
"""
    page = docs / "cyclegan.md"
    page.write_text(text)
    return page


def main(argv: Sequence[str]) -> str:
    parser = argparse.ArgumentParser(prog="run-report cyclegan-doc", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="the CycleGAN run dir")
    parser.add_argument("--docs", type=Path, default=Path("docs/results"), help="the docs folder to write (docs/results)")
    args = parser.parse_args(argv)
    if not (args.docs / "figures").is_dir():
        raise ReportError(f"{args.docs / 'figures'} is not a folder; pass the docs folder with --docs")
    return f"wrote {cyclegan_doc(args.run_dir, args.docs)}\n"
