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
