"""A user's own image files (task=predict): found, checked and decoded, or one error line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from adl_runner.kernel.errors import DataError

SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
"""What a folder's images are recognised by."""


def image_files(path: Path) -> list[Path]:
    """`path` itself, or the images of the folder `path` in name order; a DataError naming what is
    missing or empty."""
    if not path.exists():
        raise DataError(f"image={path} does not exist; give an image file or a folder of images")
    if path.is_file():
        return [path]
    found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not found:
        raise DataError(f"image={path} is a folder with no images ({', '.join(SUFFIXES)})")
    return found


def read_image(path: Path, channels: int = 3) -> np.ndarray:
    """(H, W, channels) uint8 of an image file (converted to RGB or grayscale as asked), or a
    DataError naming the file."""
    try:
        with Image.open(path) as image:
            converted = image.convert("RGB" if channels == 3 else "L")
            pixels = np.asarray(converted, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"image {path} could not be read as an image: {str(exc).splitlines()[0]}") from None
    return pixels if pixels.ndim == 3 else pixels[..., None]


def image_batch(files: list[Path], shape: tuple[int, int, int]) -> tuple[np.ndarray, list[str]]:
    """uint8 images (N, H, W, C) of `shape` from image files or one `.npy` batch, with a name for each.

    Image files are converted to the channels of `shape` (colour to the luminance, gray repeated to
    RGB, as PIL's "L" and "RGB" modes do) and resized (bilinear) to its height and width. A `.npy`
    batch is taken as it is: uint8, (N, H, W, C) or one (H, W, C) image, of exactly `shape`; any other
    array is a DataError naming what it holds and what the model takes."""
    if len(files) == 1 and files[0].suffix.lower() == ".npy":
        batch = _npy_batch(files[0], shape)
        return batch, [f"{files[0]}[{i}]" for i in range(len(batch))]
    height, width, channels = shape
    images = []
    for path in files:
        pixels = read_image(path, channels)
        if pixels.shape[:2] != (height, width):
            squeezed = pixels[..., 0] if channels == 1 else pixels
            pixels = np.asarray(Image.fromarray(squeezed).resize((width, height), Image.Resampling.BILINEAR))
            pixels = pixels.reshape(height, width, channels)
        images.append(pixels)
    return np.stack(images), [str(path) for path in files]


def _npy_batch(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    try:
        batch = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"image={path} could not be read as a NumPy array: {str(exc).splitlines()[0]}") from None
    wanted = "x".join(str(d) for d in shape)
    if batch.ndim == 3:
        batch = batch[None]
    if batch.dtype != np.uint8 or batch.ndim != 4 or tuple(batch.shape[1:]) != tuple(shape):
        what = f"{batch.dtype} {'x'.join(str(d) for d in batch.shape)}"
        channels = (f" ({batch.shape[-1]} channel(s), the model takes {shape[-1]}: convert them, or give image files, "
                    f"which are converted)" if batch.ndim == 4 and batch.shape[-1] != shape[-1] else "")
        raise DataError(f"image={path} holds {what}{channels}; a .npy batch must be uint8 (N, {', '.join(map(str, shape))}) "
                        f"images, {wanted} as the model was trained on")
    return batch
