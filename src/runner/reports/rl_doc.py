"""`run-report rl-doc`: docs/results/chapter9_10.md from committed run records of chapters 9-10.

    run-report rl-doc <record> ... [<Table 9.5.1 records folder>] [--docs docs/results]

A record is a folder holding a run's small files as the runner wrote them: `config.yaml`,
`metrics.json`, `history.csv`, `run.json` (commit and command) and, for QWorld, `q_table.csv`
and, shown when present, `returns.png` and `q_table.png`. QWorld records (`model=q_learning
env=qworld`) stand beside the book's converged values. A folder of Table 9.5.1's job records
(a copy of `run -m experiment=book/table_9_5_1`'s jobs, no config.yaml of its own) makes that
section point at the table `run-report <folder> --table book/table_9_5_1 --docs` writes from them. The rest (DQN / DDQN, the policy gradients) is listed as commands with
the book's values until it has records of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from adl_runner.runner.reports.book_values import BOOK_TABLES
from adl_runner.runner.reports.files import (
    ReportError,
    command_line,
    generated_by,
    load_records,
    read_yaml,
    records_doc_main,
    write_page,
)
from adl_runner.runner.reports.rl_results import qworld

MODELS = ("q_learning",)
BOOK_QWORLD = {"v_s0": 90.0, "v_s1": 100.0, "v_s2": 0.0, "v_s3": 81.0, "v_s4": 90.0, "v_s5": 0.0, "q_s0_right": 90.0,
               "q_s1_right": 100.0}
"""Figs 9.3.9-9.3.10: the state values and the greedy path's Q-values."""
CH10_BOOK = (  # Section 10.7 (spec 10.F): flag-reach rank (Figs 10.7.1-10.7.4) and the total-reward remark (10.7.5-10.7.8)
    ("reinforce", "4th (fewest)", "no"),
    ("reinforce_baseline", "2nd", "yes: the only method that consistently reached about 90"),
    ("actor_critic", "3rd", "no"),
    ("a2c", "1st (most)", "2nd best, not consistently >= 90"),
)
TABLE, TABLE_ID = "table_9_5_1", "9.5.1"
NOT_RUN = "Not yet re-run from committed code: the numbers this section held had no run record and were removed."


def _qworld(entry: dict[str, Any]) -> list[str]:
    metrics, name = entry["metrics"], entry["name"]
    same = all(metrics[key] == value for key, value in BOOK_QWORLD.items()) and metrics["greedy_path"] == "Right,Right"
    lines = [command_line(name, entry["run"]), "", *qworld(entry["path"]).splitlines(), "",
             f"The state values and the greedy path's Q-values {'equal' if same else 'differ from'} the book's. Off the path "
             f"the record has Q(s0, Left) = {metrics['q_s0_left']:g}, where the book's screenshot shows 0: the screenshot is "
             "not a fixed point of the listed code (spec E9.1), whose updates give the discounted values shown."]
    for figure, what in (("returns.png", "return per episode and its running mean"), ("q_table.png", "Q-table and state values")):
        if (entry["path"] / figure).is_file():
            lines += ["", f"![{name}: {what}](runs/{name}/{figure})"]
    return lines


def _table_9_5_1_records(folder: Path) -> Path:
    """`folder` if it holds Table 9.5.1's job records, else a one-line ReportError."""
    ids = {str((read_yaml(job / "config.yaml").get("table") or {}).get("id"))
           for job in folder.iterdir() if (job / "config.yaml").is_file()} if folder.is_dir() else set()
    if ids != {TABLE_ID}:
        raise ReportError(f"{folder} is neither a QWorld record (no config.yaml) nor a folder of Table {TABLE_ID}'s job "
                          f"records (run -m experiment=book/{TABLE})")
    return folder


def _table_9_5_1(records: Optional[Path]) -> list[str]:
    table = read_yaml(BOOK_TABLES / f"{TABLE}.yaml")["table"]
    lines = ["## Table 9.5.1: Q-learning on FrozenLake", ""]
    if records is None:
        lines += [NOT_RUN, "", "```",
                  "run -m experiment=book/table_9_5_1            # 3 jobs; writes table.md / table.csv, the book beside the measured",
                  "```"]
    else:
        lines += [f"Re-run from committed code; the book beside the measured, with its command and commit, is "
                  f"[{TABLE}.md]({TABLE}.md), generated from the job records in [runs/{TABLE}/](runs/{TABLE}/) by "
                  f"`run-report docs/results/runs/{TABLE} --table book/{TABLE} --docs docs/results`."]
        if not any(records.glob("*/history.csv")):
            lines.append("The records leave out `history.csv` (a row per training episode, about 1 MB a job); each "
                         "job's `returns.png` plots it.")
    lines += ["", "| lake built | book's row | overrides | book train (% goal) | book test | book random |", "|---|---|---|---|---|---|"]
    for row in table["rows"]:
        book = row["book"]
        lines.append("| " + " | ".join([row["labels"]["lake"], row["labels"]["book_row"], " ".join(f"`{o}`" for o in row["overrides"]),
                                         *("-" if book[k] is None else f"{book[k]:g}" for k in ("train", "test", "random"))]) + " |")
    return lines + ["", "The book's two \"non-slippery\" rows ran the slippery lake (its script set `is_slippery` after",
                    "`gym.make`); `env.book_compat=true` builds that lake, so the book's 76 % and 71 % test rates are two",
                    "runs of one slippery lake. The hyperparameters are the code's (alpha 0.1, 40,000 episodes, epsilon",
                    "decayed per step), where the text says 0.5, 4,000 and per episode."]


DQN = ["## DQN and DDQN on CartPole-v0 (Listings 9.6.1-9.6.3)", "",
       "Seeds 0-4 of both, with the 200-step time limit a truncation and, with `env.book_compat=true`, terminal, run as one",
       "preset; its page, generated by `run-report seeds-doc` from its records, is [dqn_cartpole.md](dqn_cartpole.md).", "", "```",
       "run -m experiment=rl/dqn_cartpole      # 20 jobs; make record-set SWEEP=<its sweep dir> SET=dqn_cartpole",
       "```", "",
       "The book: \"solved by DQN within 822 episodes\" and \"by DDQN within 971\", each the average of 10 runs. The",
       "issue's target: median <= 1,500 episodes over at least 5 seeds, every seed solved within 3,000. Solved is a mean",
       "return >= 195.0 over the last 100 consecutive episodes; episodes to solve counts the episodes up to and including",
       "the one that met it (the book printed its 0-based index). By default the 200-step time-limit end is a",
       "truncation, bootstrapped in the targets; `env.book_compat=true` makes it terminal, as the book's code had it.",
       "The replay loop's speed against the book's: [rl_replay_bench.md](rl_replay_bench.md) (`benchmarks/run.py --only rl_replay`)."]


def _chapter10() -> list[str]:
    lines = ["## Chapter 10: policy gradients on MountainCarContinuous (Section 10.7)", "",
             "The four methods over seeds 0-4 run as one preset; its page, generated by `run-report seeds-doc` from its records,",
             "is [rl_policy_gradients.md](rl_policy_gradients.md). [actor_critic_book_compat.md](actor_critic_book_compat.md)",
             "has Actor-Critic with and without the book's `done` at the time limit.", "", "```",
             "run -m experiment=rl/policy_gradients     # 20 jobs; make record-set SWEEP=<its sweep dir> SET=rl_policy_gradients",
             "run model=<method> env=mountaincar_continuous seed=<seed> model.book_compat=true env.book_compat=true   # the book's estimator and done",
             "```", "",
             "The book ran 5 sessions of 1,000 episodes per method with its hyperparameters (the presets': lr 1e-3,",
             "RMSprop for the policy and Adam for the value, gamma 0.99 and A2C's 0.95, A2C's beta 0.9, a frozen state",
             "autoencoder trained first, one optimizer step per experience). Its results, metric 1 the episodes that",
             "reach the flag and metric 2 a total reward of about 90:", "",
             "| method | book: flag-reach rank | book: total reward about 90 |", "|---|---|---|"]
    lines += [f"| {method} | {rank} | {reward} |" for method, rank, reward in CH10_BOOK]
    return lines + ["", "`env.book_compat=true` makes the 999-step time limit a `done`, as the book's gym did: Actor-Critic then",
                    "drops gamma V(s') at any end of an episode (the flag or the limit) and A2C bootstraps its returns unless",
                    "the last reward was > 0; by default both bootstrap at the limit, which is not a state of the task.",
                    "`model.book_compat=true` takes ln pi of a fresh action drawn inside the graph (mean + stddev x eps, clipped",
                    "to [-1, 1]), as the book's logp model did: inside [-1, 1] that ln pi is -eps^2/2 - ln stddev - const, so the",
                    "mean gets no gradient and any negative y widens the policy; it also keeps the book's constant entropy."]


def rl_doc(records: Sequence[Path], docs: Path) -> Path:
    """Write `docs`/chapter9_10.md from `records` (QWorld records and at most one folder of Table
    9.5.1's job records); returns its path."""
    folders = [_table_9_5_1_records(r) for r in records if not (r / "config.yaml").is_file()]
    if len(folders) > 1:
        raise ReportError(f"give one folder of Table {TABLE_ID}'s job records, not {len(folders)}")
    entries = load_records([r for r in records if r not in folders], MODELS)
    for entry in entries:
        if (entry["config"].get("env") or {}).get("name") != "qworld":
            raise ReportError(f"{entry['path'] / 'config.yaml'} is not a QWorld run (env=qworld); give QWorld records")
    gone = "the DQN / DDQN sweeps and the chapter-10 sessions" if folders else "Table 9.5.1, the DQN / DDQN sweeps and the chapter-10 sessions"
    lines = ["# Chapters 9-10: Q-learning, Table 9.5.1, DQN / DDQN on CartPole, policy gradients on MountainCarContinuous", "",
             generated_by("rl-doc"),
             f"{gone[0].upper()}{gone[1:]} this page reported before came from run dirs that are gone: their",
             "numbers and figures were removed, and their commands and the book's values are listed below.", "",
             "## QWorld (Listings 9.3.1-9.3.2, Figs 9.3.9-9.3.10)", ""]
    for entry in entries:
        lines += [*_qworld(entry), ""]
    lines += [*_table_9_5_1(folders[0] if folders else None), "", *DQN, "", *_chapter10()]
    return write_page(docs / "chapter9_10.md", lines)


def main(argv: Sequence[str]) -> str:
    return records_doc_main(argv, "rl-doc", __doc__.splitlines()[0], "config.yaml, metrics.json, history.csv, run.json, q_table.csv", rl_doc)
