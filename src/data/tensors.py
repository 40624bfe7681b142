"""A dataset's NumPy arrays as TensorFlow tensors without `tf.constant`'s load transient.

`tf.constant(array)` on the CPU stages a second whole copy of the array and frees it only when the
next op runs, so while a pipeline converts its arrays the process holds the NumPy array, the staged
copy and the tensor: 3.1x the dataset at the top of the MLP job's loading (docs/performance.md,
memory by stage). `host_tensor` copies the array once into a 64-byte-aligned NumPy buffer (the
alignment TensorFlow's CPU kernels require of a tensor's memory) and hands that buffer to
TensorFlow through DLPack, which wraps it without copying: 2x while converting, and the tensor
holds the only copy once the caller drops its array. The bytes are the same as `tf.constant`'s (tests/data/test_tensors.py).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

ALIGNMENT = 64
"""Bytes: Eigen's EIGEN_MAX_ALIGN_BYTES; TensorFlow aborts the process on a less aligned buffer."""
_DLPACK_KINDS = "biuf"
"""NumPy dtype kinds DLPack carries (bool, signed, unsigned, float); others go through tf.constant."""


def host_tensor(array: np.ndarray) -> tf.Tensor:
    """`tf.constant(array)`'s tensor (same dtype, shape and bytes), built with one copy at most."""
    array = np.asarray(array)
    if array.dtype.kind not in _DLPACK_KINDS or array.size == 0:
        return tf.constant(array)
    # Always a private copy, even of an aligned array: the tensor must not change when the caller's array does.
    owned = _aligned_empty(array.shape, array.dtype)
    np.copyto(owned, array)
    # The capsule keeps `owned` alive as long as the tensor, and nothing else refers to it.
    return tf.experimental.dlpack.from_dlpack(owned.__dlpack__())


def _aligned_empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    raw = np.empty(int(np.prod(shape)) * dtype.itemsize + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + int(np.prod(shape)) * dtype.itemsize].view(dtype).reshape(shape)
