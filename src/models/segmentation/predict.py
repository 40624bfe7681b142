"""task=predict for mask models (FCN, U-Net, encoder-decoder): a checkpoint on a user's images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from adl_runner.data.images import read_image
from adl_runner.kernel.errors import IncompatibleError
from adl_runner.kernel.hooks import ArtifactSink
from adl_runner.models.segmentation.classical_figures import pixels_figure
from adl_runner.models.segmentation.figures import colour_mask, overlay
from adl_runner.models.segmentation.model import predicted_ids


def segment(model: keras.Model, image: np.ndarray) -> np.ndarray:
    """(H, W) class ids of an (H, W, C) uint8 image of any size: resized (bilinear) to the model's
    input, segmented, and the ids resized back (nearest). A network with unpadded convs predicts the
    centre of its input: the border it does not reach is background."""
    height, width = (int(d) for d in model.inputs[0].shape[1:3])
    resized = tf.image.resize(tf.cast(image[None], tf.float32) / 255.0, (height, width))
    ids = predicted_ids(model, model.predict_on_batch(resized))
    dh, dw = height - ids.shape[1], width - ids.shape[2]
    ids = np.pad(ids, ((0, 0), (dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2)))
    return tf.image.resize(ids[..., None], image.shape[:2], method="nearest").numpy()[0, ..., 0]


def predict_masks(model: keras.Model, files: list[Path], out: ArtifactSink) -> dict[str, Any]:
    """Per image `<name>_mask.png` (class colours, background black) and `<name>_overlay.png` (the
    colours over the photo), both at the image's own size; `segmentation.json` lists each image's
    share of pixels per class."""
    class_names = getattr(model, "class_names", None)
    if class_names is None or not model.inputs or len(model.inputs[0].shape) != 4:
        raise IncompatibleError(f"the checkpoint holds a '{model.name}' model, not a segmentation model; "
                                f"task=predict of a mask model needs an fcn, unet or encoder_decoder checkpoint")
    channels = int(model.inputs[0].shape[-1])
    listed = []
    for path in files:
        image = read_image(path, channels)
        ids = segment(model, image)
        out.figure(f"{path.stem}_mask", pixels_figure(colour_mask(ids)))
        out.figure(f"{path.stem}_overlay", pixels_figure(overlay(image, ids)))
        shares = np.bincount(ids.ravel(), minlength=len(class_names)) / ids.size
        listed.append({"image": str(path), "height": image.shape[0], "width": image.shape[1],
                       "classes": [{"class_id": i, "class": name, "share": round(float(share), 4)}
                                   for i, (name, share) in enumerate(zip(class_names, shares))]})
    out.record("segmentation", listed)
    return {"masks": len(listed)}
