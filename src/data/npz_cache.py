"""Uncompressed, memory-mapped copies of compressed .npz dataset files, kept in the runner's cache.

`mnist.npz` is 11 MB of deflate holding 55 MB of arrays: decompressing all of it costs about 0.16 s
of CPU per job, most of a smoke job's data stage, even when the job uses 384 examples. The first
load writes each array as a plain `.npy` under `<user cache dir>/arrays/<file stem>-<sha256>/`
(`kernel.cachedir`; never the data dir); later loads memory-map them, so a job reads only the pages
it touches. The folder is keyed by the sha256 of the file's bytes (the digest `DataStore` has
already verified when checksums are on), so a replaced or edited file never meets an old copy.
Copies are written atomically; one that cannot be read back is rebuilt from the .npz, and a cache
folder that cannot be written costs only the speed-up. Deleting the folder is always safe.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import numpy as np

from adl_runner.data.store import file_digest
from adl_runner.kernel.cachedir import user_cache_dir
from adl_runner.kernel.files import write_atomic

log = logging.getLogger(__name__)

CACHE_SUBDIR = "arrays"


def cached_folder(path: Path, cache_root: Path | None = None) -> Path:
    """Where the uncompressed arrays of the .npz `path` live: named by its stem and content digest."""
    root = cache_root if cache_root is not None else user_cache_dir() / CACHE_SUBDIR
    return root / f"{path.stem}-{file_digest(path, 'sha256')}"


def npz_arrays(path: Path, names: tuple[str, ...], cache_root: Path | None = None) -> dict[str, np.ndarray]:
    """The arrays `names` of the .npz `path`, memory-mapped from the cache when it holds them.

    Mapped copy-on-write: a caller that edits an array in place changes its own pages, never the
    cached file. Errors of the .npz itself (a corrupt or truncated file, a missing name) propagate
    as `np.load` raises them, for the loader to report against `path`."""
    folder = cached_folder(path, cache_root)
    try:
        # allow_pickle=False: the copies hold plain arrays, as the .npz does.
        return {n: np.load(folder / f"{n}.npy", mmap_mode="c", allow_pickle=False) for n in names}
    except (OSError, ValueError):
        pass  # not cached yet, or a copy that does not read back: rebuild it below
    with np.load(path, allow_pickle=False) as z:
        arrays = {n: z[n] for n in names}
    try:
        for n, a in arrays.items():
            write_atomic(folder / f"{n}.npy", partial(_save, array=a))
    except OSError as exc:
        log.warning("cannot cache the arrays of %s in %s (%s); loading it uncached", path, folder, exc)
    return arrays


def _save(tmp: Path, array: np.ndarray) -> None:
    np.save(tmp, array, allow_pickle=False)
