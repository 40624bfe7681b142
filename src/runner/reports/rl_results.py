"""`run-report rl-results`: Markdown tables of chapter 9-10 runs, read from their run dirs.

    run-report rl-results qworld <run dir>
    run-report rl-results cartpole <sweep dir> [<sweep dir> ...]    # DQN / DDQN over seeds
    run-report rl-results pg <run dir> [<run dir> ...]             # policy gradients
    run-report rl-results pg-checkpoint <run dir> ...              # an interrupted session
    run-report rl-results ch10 <dir of <method>_s<seed> run dirs> [--figure <figure.png>]   # the chapter-10 comparison
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path
from typing import Any, Sequence

from adl_runner.runner.reports.files import ReportError, metrics, read_csv, read_json, read_text


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
    rows = list(csv.reader(read_text(run / "q_table.csv").splitlines()))
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
        cfg = read_text(runs[0] / "config.yaml")
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
        returns = [float(r["return"]) for r in read_csv(run / "history.csv")]
        lines.append(f"| {m['model']} | {m['episodes_completed']} | {m['successes']} | {max(returns):.1f} | "
                     f"{m['mean_return_100']:.1f} | {m['eval_mean_return']:.1f} | {m['wall_time_s'] / 60:.1f} |")
    return "\n".join(lines) + "\n"


def pg_checkpoint(run: Path) -> str:
    """An interrupted policy-gradient session, read from its last checkpoint's history arrays."""
    import numpy as np

    meta = read_json(run / "checkpoints" / "last" / "agent.json")
    with np.load(run / "checkpoints" / "last" / "arrays.npz") as data:
        returns, success = data["history_return"], data["history_success"]
    return (f"| {meta['agent']} | {meta['seed']} | {len(returns)} (interrupted) | {int(success.sum())} | {returns.max():.1f} | "
            f"{returns[-100:].mean():.1f} |\n")


# -- chapter 10: the four policy-gradient methods over training sessions --------------------------------
CH10_METHODS = ("reinforce", "reinforce_baseline", "actor_critic", "a2c")
CH10_BOOK = {  # Section 10.7 (spec 10.F): flag-reach rank (Figs 10.7.1-10.7.4) and the total-reward remark (10.7.5-10.7.8)
    "reinforce": ("4th (fewest)", "no"),
    "reinforce_baseline": ("2nd", "yes: the only method that consistently reached about 90"),
    "actor_critic": ("3rd", "no"),
    "a2c": ("1st (most)", "2nd best, not consistently >= 90"),
}


def ch10_session(run: Path) -> dict[str, Any]:
    """One session: from metrics.json and history.csv when it completed, else from its last checkpoint."""
    import numpy as np

    method, seed = run.name.rsplit("_s", 1)
    done = (run / "metrics.json").is_file() and metrics(run).get("status") == "completed"
    started = (run / ".hydra" / "config.yaml").stat().st_mtime if (run / ".hydra" / "config.yaml").exists() else None
    if done:
        m = metrics(run)
        rows = read_csv(run / "history.csv")
        returns = np.array([float(r["return"]) for r in rows])
        success = np.array([float(r["success"]) for r in rows])
        wall, train = m["wall_time_s"], m.get("train_seconds")
        state, greedy, rand = "completed", (m.get("eval_mean_return"), m.get("eval_success_rate")), m.get("random_success_rate")
    else:
        last = run / "checkpoints" / "last"
        if not (last / "agent.json").is_file():
            return {"method": method, "seed": int(seed), "state": "started, no checkpoint yet", "episodes": 0}
        with np.load(last / "arrays.npz") as data:
            returns, success = data["history_return"], data["history_success"]
        stamp = (last / "agent.json").stat().st_mtime
        wall = stamp - started if started else None
        train, greedy, rand = None, None, None
        when = time.strftime("%H:%M UTC", time.gmtime(stamp))
        state = f"in progress (last checkpoint {when})"
    flags = np.flatnonzero(success > 0)
    return {"method": method, "seed": int(seed), "state": state, "episodes": len(returns), "flags": int(success.sum()),
            "first_flag": int(flags[0]) + 1 if len(flags) else None, "best": float(returns.max()),
            "at_90": int((returns >= 90.0).sum()), "last100": float(returns[-100:].mean()), "wall": wall, "train": train,
            "greedy": greedy, "random_flags": rand, "returns": returns, "success": success,
            "commit": read_json(run / "run.json").get("git_commit", "")[:7] if (run / "run.json").exists() else ""}


def ch10(folder: Path, figure: Path | None = None) -> str:
    runs = [p for p in folder.iterdir() if p.is_dir() and "_s" in p.name and p.name.rsplit("_s", 1)[0] in CH10_METHODS]
    sessions = sorted((ch10_session(r) for r in runs), key=lambda s: (CH10_METHODS.index(s["method"]), s["seed"]))
    lines = ["| method | seed | state | episodes | flag reached (episodes) | first flag at | episodes with return >= 90 | "
             "best return | mean return, last 100 | greedy return (100 ep.) | random actions: flag (100 ep.) | wall (min) | "
             "per episode (s) |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sessions:
        if not s["episodes"]:
            lines.append(f"| {s['method']} | {s['seed']} | {s['state']} | 0 | | | | | | | | | |")
            continue
        wall = f"{s['wall'] / 60:.1f}" if s["wall"] is not None else ""
        per = f"{s['train'] / s['episodes']:.2f}" if s["train"] else ""
        greedy = f"{s['greedy'][0]:.1f} ({100 * s['greedy'][1]:.0f} % flag)" if s["greedy"] is not None else ""
        rand = f"{100 * s['random_flags']:.0f} %" if s["random_flags"] is not None else ""
        lines.append(f"| {s['method']} | {s['seed']} | {s['state']} | {s['episodes']} | {s['flags']} | "
                     f"{s['first_flag'] or '—'} | {s['at_90']} | {s['best']:.1f} | {s['last100']:.1f} | {greedy} | {rand} | {wall} | {per} |")
    commits = sorted({s["commit"] for s in sessions if s.get("commit")})
    lines += ["", f"Code commit of the completed sessions (run.json): {', '.join(commits) or 'none completed yet'}."]
    lines += ["", "Per method, over its completed sessions of 1,000 episodes, beside the book (Section 10.7):", "",
              "| method | sessions completed | flag reached per session (mean; each) | sessions with a return >= 90 | "
              "best mean return over the last 100 | book: flag-reach rank | book: total reward about 90 |",
              "|---|---|---|---|---|---|---|"]
    for method in CH10_METHODS:
        full = [s for s in sessions if s["method"] == method and s["state"] == "completed"]
        if full:
            flags = [s["flags"] for s in full]
            cells = (f"{len(full)} | {statistics.mean(flags):.1f}; {', '.join(map(str, flags))} | "
                     f"{sum(1 for s in full if s['at_90'])} | {max(s['last100'] for s in full):.1f}")
        else:
            cells = "0 | | |"
        rank, reward = CH10_BOOK[method]
        lines.append(f"| {method} | {cells} | {rank} | {reward} |")
    if figure is not None:
        ch10_figure(sessions, figure)
        lines += ["", f"Figure: `{figure}`."]
    return "\n".join(lines) + "\n"


def ch10_figure(sessions: list[dict[str, Any]], out: Path) -> None:
    """The book's two views (Figs 10.7.1-10.7.8): cumulative flag reaches and total reward per episode, every session."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(2, 4, figsize=(16, 6.5), sharex=True)
    for col, method in enumerate(CH10_METHODS):
        for s in (s for s in sessions if s["method"] == method and s["episodes"]):
            episodes = np.arange(1, s["episodes"] + 1)
            label = f"seed {s['seed']}" + ("" if s["state"] == "completed" else " (in progress)")
            axes[0, col].plot(episodes, np.cumsum(s["success"]), lw=1.2, label=label)
            axes[1, col].plot(episodes, s["returns"], lw=0.5, alpha=0.7, label=label)
        axes[0, col].set_title(method)
        axes[1, col].axhline(90.0, color="k", ls="--", lw=0.8)
        axes[1, col].set_ylim(-105, 105)
        axes[1, col].set_xlabel("episode")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
        if axes[0, col].lines:
            axes[0, col].legend(fontsize=7)
    axes[0, 0].set_ylabel("flag reached (cumulative)")
    axes[1, 0].set_ylabel("total reward per episode")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)


def main(argv: Sequence[str]) -> str:
    parser = argparse.ArgumentParser(prog="run-report rl-results", description="The tables of chapters 9-10.")
    parser.add_argument("kind", choices=["qworld", "cartpole", "pg", "pg-checkpoint", "ch10"])
    parser.add_argument("paths", nargs="+", type=Path, help="run dirs (cartpole: sweep dirs; ch10: one dir of sessions)")
    parser.add_argument("--figure", type=Path, help="ch10: also draw the book's two views into this PNG")
    args = parser.parse_args(argv)
    if args.kind in ("qworld", "ch10") and len(args.paths) != 1:
        raise ReportError(f"rl-results {args.kind} takes one dir, got {len(args.paths)}")
    if args.kind == "qworld":
        return qworld(args.paths[0])
    if args.kind == "cartpole":
        return cartpole(args.paths)
    if args.kind == "pg":
        return pg(args.paths)
    if args.kind == "pg-checkpoint":
        return "".join(pg_checkpoint(p) for p in args.paths)
    return ch10(args.paths[0], args.figure)
