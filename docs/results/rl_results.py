"""Markdown tables of chapter 9-10 runs, read from their run dirs (no number is typed by hand).

    python docs/results/rl_results.py qworld <run dir>
    python docs/results/rl_results.py cartpole <sweep dir> [<sweep dir> ...]    # DQN / DDQN over seeds
    python docs/results/rl_results.py pg <run dir> [<run dir> ...]             # policy gradients
    python docs/results/rl_results.py pg-checkpoint <run dir> ...              # an interrupted session
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def qworld(run: Path) -> str:
    m = metrics(run)
    v = [m[f"v_s{s}"] for s in range(6)]
    lines = [f"Run dir `{run}`: {m['episodes_completed']} episodes, seed {m['seed']}, wall {m['wall_time_s']:.1f} s "
             f"(training loop {m['train_seconds']:.2f} s).", "",
             "| quantity | book (Figs 9.3.9-9.3.10) | measured |", "|---|---|---|",
             f"| V(start) | 90 | {m['v_start']:g} |", f"| Q(s0, Right) | 90 | {m['q_s0_right']:g} |",
             f"| Q(s1, Right) | 100 | {m['q_s1_right']:g} |",
             f"| V row 0 (start, (0,1), G) | 90, 100, 0 | {v[0]:g}, {v[1]:g}, {v[2]:g} |",
             f"| V row 1 ((1,0), (1,1), H) | 81, 90, 0 | {v[3]:g}, {v[4]:g}, {v[5]:g} |",
             f"| greedy path | Right, Right | {m['greedy_path'].replace(',', ', ')} |",
             f"| final epsilon | (0.0985 by the listed code) | {m['epsilon']:.4f} |",
             f"| greedy success over {m['eval_episodes']} episodes | | {100 * m['eval_success_rate']:.0f} % |", ""]
    rows = list(csv.reader((run / "q_table.csv").read_text().splitlines()))
    lines += ["Learned Q-table (`q_table.csv`):", "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines) + "\n"


def cartpole(sweeps: list[Path]) -> str:
    lines = []
    for sweep in sweeps:
        runs = sorted((p.parent for p in sweep.glob("*/metrics.json")), key=lambda p: int(p.name))
        ms = [metrics(r) for r in runs]
        if not ms:
            continue
        cfg = (runs[0] / "config.yaml").read_text()
        compat = "book_compat: true" in cfg
        lines += [f"**{ms[0]['model'].upper()}**, {ms[0]['gym_id']}{', time-limit end terminal (env.book_compat=true)' if compat else ''} "
                  f"(sweep `{sweep}`):", "",
                  "| seed | solved | episodes to solve | greedy return (100 ep.) | greedy success | wall (s) |", "|---|---|---|---|---|---|"]
        for m in ms:
            lines.append(f"| {m['seed']} | {'yes' if m['solved'] else 'no'} | {m['episodes_to_solve'] or '—'} | "
                         f"{m['eval_mean_return']:.1f} ± {m['eval_std_return']:.1f} | {100 * m['eval_success_rate']:.0f} % | "
                         f"{m['wall_time_s']:.0f} |")
        solved = [m["episodes_to_solve"] for m in ms if m["solved"]]
        # an unsolved seed counts as its full episode budget for the median (an upper bound of nothing: a floor)
        budget = [m["episodes_to_solve"] if m["solved"] else m["episodes_completed"] for m in ms]
        unsolved = len(ms) - len(solved)
        note = f" (the {unsolved} unsolved seeds counted at their {ms[0]['episodes_target']}-episode budget)" if unsolved else ""
        lines += ["", f"Solved {len(solved)}/{len(ms)} seeds; episodes to solve: median {statistics.median(budget):g}{note}, "
                      f"mean of the solved {statistics.mean(solved):.0f}, max {max(solved)}." if solved else f"Solved 0/{len(ms)} seeds.",
                  f"Total wall time {sum(m['wall_time_s'] for m in ms) / 60:.1f} min.", ""]
    return "\n".join(lines) + "\n"


def pg(runs: list[Path]) -> str:
    lines = ["| method | episodes | flag reached (episodes) | best return | mean return, last 100 | greedy return | wall (min) |",
             "|---|---|---|---|---|---|---|"]
    for run in runs:
        m = metrics(run)
        with (run / "history.csv").open() as f:
            returns = [float(r["return"]) for r in csv.DictReader(f)]
        lines.append(f"| {m['model']} | {m['episodes_completed']} | {m['successes']} | {max(returns):.1f} | "
                     f"{m['mean_return_100']:.1f} | {m['eval_mean_return']:.1f} | {m['wall_time_s'] / 60:.1f} |")
    return "\n".join(lines) + "\n"


def pg_checkpoint(run: Path) -> str:
    """An interrupted policy-gradient session, read from its last checkpoint's history arrays."""
    import numpy as np

    meta = json.loads((run / "checkpoints" / "last" / "agent.json").read_text())
    with np.load(run / "checkpoints" / "last" / "arrays.npz") as data:
        returns, success = data["history_return"], data["history_success"]
    return (f"| {meta['agent']} | {meta['seed']} | {len(returns)} (interrupted) | {int(success.sum())} | {returns.max():.1f} | "
            f"{returns[-100:].mean():.1f} |\n")


if __name__ == "__main__":
    kind, paths = sys.argv[1], [Path(p) for p in sys.argv[2:]]
    print({"qworld": lambda: qworld(paths[0]), "cartpole": lambda: cartpole(paths), "pg": lambda: pg(paths),
           "pg-checkpoint": lambda: "".join(pg_checkpoint(p) for p in paths)}[kind]())
