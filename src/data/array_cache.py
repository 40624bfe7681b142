"""Uncompressed, memory-mapped copies of the dataset files that every job would otherwise decode.

`mnist.npz` is 11 MB of deflate holding 55 MB of arrays: decompressing all of it costs about 0.16 s
of CPU per job, most of a smoke job's data stage, even when the job uses 384 examples. Fashion-MNIST's
gzipped idx files and CIFAR-10's pickled batches cost the same kind of decoding. The first load
writes each decoded array as a plain `.npy` under `<user cache dir>/arrays/<file stem>-<sha256>/`
(`kernel.cachedir`; never the data dir); later loads memory-map them, so a job reads only the pages
it touches. The folder is keyed by the sha256 of the source file's bytes (the digest `DataStore`
has already verified when checksums are on), so a replaced or edited file never meets an old copy,
and a corrupt one is decoded, and reported, as if there were no cache. Copies are written
atomically; one that cannot be read back is rebuilt from the source, and a cache folder that cannot
be written costs only the speed-up. Deleting the folder is always safe.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from adl_runner.data.store import file_digest
from adl_runner.kernel.cachedir import user_cache_dir
from adl_runner.kernel.files import write_atomic

log = logging.getLogger(__name__)

CACHE_SUBDIR = "arrays"


def cached_folder(path: Path, cache_root: Path | None = None) -> Path:
    """Where the decoded arrays of the file `path` live: named by its stem and content digest."""
    root = cache_root if cache_root is not None else user_cache_dir() / CACHE_SUBDIR
    return root / f"{path.stem}-{file_digest(path, 'sha256')}"


def cached_arrays(
    path: Path,
    names: tuple[str, ...],
    decode: Callable[[], dict[str, np.ndarray]],
    cache_root: Path | None = None,
) -> dict[str, np.ndarray]:
    """The arrays `names` that `decode()` makes of the file `path`, memory-mapped from the cache when
    it holds them. `decode` runs only on a miss, and its errors propagate for the loader to report.

    Mapped copy-on-write: a caller that edits an array in place changes its own pages, never the
    cached file."""
    folder = cached_folder(path, cache_root)
    try:
        # allow_pickle=False: the copies hold plain arrays, whatever format they were decoded from.
        return {n: np.load(folder / f"{n}.npy", mmap_mode="c", allow_pickle=False) for n in names}
    except (OSError, ValueError):
        pass  # not cached yet, or a copy that does not read back: rebuild it below
    arrays = decode()
    try:
        for n in names:
            write_atomic(folder / f"{n}.npy", partial(_save, array=arrays[n]))
    except OSError as exc:
        log.warning("cannot cache the arrays of %s in %s (%s); loading it uncached", path, folder, exc)
    return arrays


def npz_arrays(path: Path, names: tuple[str, ...], cache_root: Path | None = None) -> dict[str, np.ndarray]:
    """The arrays `names` of the .npz `path` (errors of a corrupt or truncated file, or a missing name,
    propagate as `np.load` raises them)."""

    def decode() -> dict[str, np.ndarray]:
        with np.load(path, allow_pickle=False) as z:
            return {n: z[n] for n in names}

    return cached_arrays(path, names, decode, cache_root)


def _save(tmp: Path, array: np.ndarray) -> None:
    np.save(tmp, array, allow_pickle=False)
