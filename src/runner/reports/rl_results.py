"""`run-report rl-results`: Markdown tables of chapter 9-10 runs, read from their run dirs.

    run-report rl-results qworld <run dir>                         # the converged values beside the book's
    run-report rl-results pg <run dir> [<run dir> ...]             # policy gradients

`run-report rl-doc` writes docs/results/chapter9_10.md with the QWorld table.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Sequence

from adl_runner.runner.reports.files import ReportError, metrics, read_csv, read_text


def qworld(run: Path) -> str:
    m = metrics(run)
    v = [m[f"v_s{s}"] for s in range(6)]
    lines = [f"Run `{run.name}`: {m['episodes_completed']} episodes, seed {m['seed']}, wall {m['wall_time_s']:.1f} s "
             f"(training loop {m['train_seconds']:.2f} s).", "",
             "| quantity | book (Figs 9.3.9-9.3.10) | measured |", "|---|---|---|",
             f"| V(start) | 90 | {m['v_start']:g} |", f"| Q(s0, Right) | 90 | {m['q_s0_right']:g} |",
             f"| Q(s1, Right) | 100 | {m['q_s1_right']:g} |",
             f"| V row 0 (start, (0,1), G) | 90, 100, 0 | {v[0]:g}, {v[1]:g}, {v[2]:g} |",
             f"| V row 1 ((1,0), (1,1), H) | 81, 90, 0 | {v[3]:g}, {v[4]:g}, {v[5]:g} |",
             f"| greedy path | Right, Right | {m['greedy_path'].replace(',', ', ')} |",
             f"| final epsilon | (0.0985 by the listed code) | {m['epsilon']:.4f} |",
             f"| greedy success over {m['eval_episodes']} episodes | | {100 * m['eval_success_rate']:.0f} % |", ""]
    rows = list(csv.reader(read_text(run / "q_table.csv").splitlines()))
    lines += ["Learned Q-table (`q_table.csv`):", "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines) + "\n"


def pg(runs: list[Path]) -> str:
    lines = ["| method | episodes | flag reached (episodes) | best return | mean return, last 100 | greedy return | wall (min) |",
             "|---|---|---|---|---|---|---|"]
    for run in runs:
        m = metrics(run)
        returns = [float(r["return"]) for r in read_csv(run / "history.csv")]
        lines.append(f"| {m['model']} | {m['episodes_completed']} | {m['successes']} | {max(returns):.1f} | "
                     f"{m['mean_return_100']:.1f} | {m['eval_mean_return']:.1f} | {m['wall_time_s'] / 60:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> str:
    parser = argparse.ArgumentParser(prog="run-report rl-results", description="The tables of chapters 9-10.")
    parser.add_argument("kind", choices=["qworld", "pg"])
    parser.add_argument("paths", nargs="+", type=Path, help="run dirs")
    args = parser.parse_args(argv)
    if args.kind == "qworld":
        if len(args.paths) != 1:
            raise ReportError(f"rl-results qworld takes one dir, got {len(args.paths)}")
        return qworld(args.paths[0])
    return pg(args.paths)
