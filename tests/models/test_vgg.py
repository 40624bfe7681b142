"""The chapter-13 VGG 'F' backbone that IIC and MINE share (Listing 13.5.3)."""

from __future__ import annotations

import numpy as np
import pytest

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.models.vgg import vgg_backbone


def test_a_24x24_crop_ends_as_3x3x512_with_the_books_parameter_count() -> None:
    backbone = vgg_backbone((24, 24, 1))
    assert tuple(backbone.output.shape[1:]) == (3, 3, 512)
    # conv 3x3 (weights + bias) and BN (gamma, beta, moving mean and variance) per stage: 1 -> 64 -> 128 -> 256 -> 512
    channels = [1, 64, 128, 256, 512]
    expected = sum(9 * c_in * c_out + c_out + 4 * c_out for c_in, c_out in zip(channels, channels[1:]))
    assert backbone.count_params() == expected == 1_553_664
    assert backbone(np.zeros((2, 24, 24, 1), np.float32)).shape == (2, 3, 3, 512)
    kinds = [type(layer).__name__ for layer in backbone.layers[1:5]]
    assert kinds == ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]


def test_backbone_errors_are_one_line() -> None:
    with pytest.raises(ConfigError, match="vgg: unknown cfg 'A'; valid: F"):
        vgg_backbone((24, 24, 1), cfg="A")
    with pytest.raises(IncompatibleError, match="divisible by 8, got 28x28x1"):
        vgg_backbone((28, 28, 1))
    with pytest.raises(IncompatibleError, match="rank 3"):
        vgg_backbone((576,))
