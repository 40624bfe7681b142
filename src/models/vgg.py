"""The scaled-down VGG of chapter 13 (Listing 13.5.3, `vgg.py`): the backbone IIC and MINE share.

Config 'F' is [64, 'M', 128, 'M', 256, 'M', 512]: three 2x2 max pools, so a 24x24 MNIST crop ends as a
3x3x512 map. Full VGG-11 pools five times and would shrink a 24x24 crop to nothing, hence the book's cut.
Each number is Conv2D(3x3, same, he_normal) -> BatchNormalization -> ReLU; 'M' is MaxPooling2D(2).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from adl_runner.kernel.checks import check_choice, require_rank, shape_text
from adl_runner.kernel.errors import IncompatibleError

POOL = "M"
VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {"F": (64, POOL, 128, POOL, 256, POOL, 512)}


def vgg_backbone(input_shape: Sequence[int], cfg: str = "F") -> keras.Model:
    """The `cfg` VGG body on `input_shape` (H, W, C) without a head: its output is the last conv's map."""
    check_choice("vgg", "cfg", cfg, tuple(VGG_CONFIGS))
    shape = require_rank("a vgg backbone", input_shape, 3, "image")
    layout = VGG_CONFIGS[cfg]
    factor = 2 ** layout.count(POOL)
    if shape[0] % factor or shape[1] % factor:
        raise IncompatibleError(
            f"a vgg '{cfg}' backbone needs a height and width divisible by {factor}, got {shape_text(shape)}"
        )
    inputs = keras.Input(shape)
    x = inputs
    for item in layout:
        if item == POOL:
            x = layers.MaxPooling2D(2)(x)
        else:
            x = layers.Conv2D(int(item), 3, padding="same", kernel_initializer="he_normal")(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
    return keras.Model(inputs, x, name=f"vgg_{cfg}")
