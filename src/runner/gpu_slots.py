"""One GPU per worker of a parallel launcher (`launcher=local_parallel`), through CUDA_VISIBLE_DEVICES.

The joblib launcher keeps its worker processes for the next job, and TensorFlow reads
CUDA_VISIBLE_DEVICES once, when it starts. So a worker claims a GPU once, before its first job
imports TensorFlow, and keeps it for its life: it holds an flock on `<sweep dir>/.gpus/<id>.lock`
(released by the kernel when the worker exits), and the next worker takes the next free GPU. The
GPUs are those CUDA_VISIBLE_DEVICES lists in the parent, else the ones `nvidia-smi -L` counts; a
machine without any is left alone. Memory growth is on (TF_FORCE_GPU_ALLOW_GROWTH), so a job takes
the memory it uses, not the whole card. Pure Python: nothing here may import TensorFlow.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from adl_runner.kernel.files import LockBusy, pid_lock

log = logging.getLogger("runner")
PARALLEL_LAUNCHERS = ("joblib",)
"""Launchers (a word of their `_target_`) that run several jobs at once on this machine."""
_HELD: list[Any] = []  # the claimed GPU's lock, open for the worker's life


def visible_gpus() -> list[str]:
    """The GPU ids a job may use: CUDA_VISIBLE_DEVICES when it is set, else nvidia-smi's count."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in out.splitlines() if l.startswith("GPU "))]


def claim_gpu(gpus: list[str], lock_dir: Path) -> str | None:
    """Take the first GPU of `gpus` that no other live process holds (an flock per GPU); None when
    every one is held. The lock stays held until this process exits."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for gpu in gpus:
        lock = pid_lock(lock_dir / f"{gpu}.lock", wait=False)
        try:
            lock.__enter__()
        except LockBusy:
            continue
        _HELD.append(lock)
        return gpu
    return None


def pin_worker_gpu(hydra: Any) -> None:
    """In a parallel launcher's worker, before TensorFlow starts: CUDA_VISIBLE_DEVICES = one free
    GPU (once per process) and memory growth on. Other launchers and GPU-less machines: nothing."""
    target = str(getattr(hydra.launcher, "_target_", "") or "")
    if _HELD or not any(name in target for name in PARALLEL_LAUNCHERS):
        return
    gpus = visible_gpus()
    if not gpus:
        return
    gpu = claim_gpu(gpus, Path(str(hydra.sweep.dir)) / ".gpus")
    if gpu is None:  # more workers than GPUs: say so and share, rather than wait for ever
        gpu = gpus[os.getpid() % len(gpus)]
        log.warning(f"more parallel jobs than GPUs ({len(gpus)}): this one shares GPU {gpu}; set launcher.n_jobs={len(gpus)}")
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
