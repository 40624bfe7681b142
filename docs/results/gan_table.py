"""Print the GAN results table of docs/results/gan.md from run dirs (no number typed by hand).

    python docs/results/gan_table.py outputs/book/ch5/acgan outputs/book/ch4/dcgan ...

For each run dir: the model, steps done, MNIST-FID and label-control accuracy at every measured
interval (history.csv) and at the end (metrics.json, when the run has finished), and the
training time so far (checkpoints/state.json).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import yaml


def rows(run: Path) -> list[str]:
    config = yaml.safe_load((run / "config.yaml").read_text())
    interval = config["trainer"]["steps_per_epoch"]
    state = json.loads((run / "checkpoints" / "state.json").read_text())
    history = list(csv.DictReader((run / "history.csv").open()))
    with_codes = any(row.get("code_accuracy", "NA") not in ("NA", None) for row in history)
    out = [f"### `{config['model']['name']}` ({run})", "",
           f"{state['epochs_completed'] * interval} of {config['trainer']['steps']} steps, batch "
           f"{config['trainer']['batch_size']}, {state['train_seconds'] / 60:.0f} min of training so far.", "",
           "| step | MNIST-FID | label accuracy |" + (" code accuracy (matched) |" if with_codes else "")
           + " d_loss | g_loss |", "|---|---|---|---|---|" + ("---|" if with_codes else "")]
    for row in history:
        if row.get("fid", "NA") == "NA":
            continue
        shares = [row.get("label_accuracy", "NA")] + ([row.get("code_accuracy", "NA")] if with_codes else [])
        out.append(f"| {(int(row['epoch']) + 1) * interval} | {float(row['fid']):.2f} | "
                   + "".join(f"{percent(share)} | " for share in shares)
                   + f"{float(row['d_loss']):.3f} | {float(row['g_loss']):.3f} |")
    metrics = run / "metrics.json"
    if metrics.exists():
        m = json.loads(metrics.read_text())
        out += ["", f"Final (`metrics.json`): MNIST-FID {m['fid']:.2f}"
                + (f", label accuracy {percent(m['label_accuracy'])}" if "label_accuracy" in m else "")
                + (f", code accuracy (matched) {percent(m['code_accuracy'])}" if "code_accuracy" in m else "")
                + f", wall time {m['wall_time_s'] / 60:.0f} min."]
    return out + [""]


def percent(share: object) -> str:
    """A share as `12.3 %`; `-` where the run did not measure it."""
    return "-" if share in ("NA", None) else f"{100 * float(share):.1f} %"


if __name__ == "__main__":
    print("\n".join(line for run in sys.argv[1:] for line in rows(Path(run))))
