"""The ResNet backbone: the stage feature maps SSD and FCN read, shared with the classifier."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.resnet import ResNetOptions, build_resnet, resnet_backbone


@pytest.mark.parametrize(("version", "n", "channels"), [(1, 1, (16, 32, 64)), (2, 1, (64, 128, 256))])
def test_stage_feature_maps_halve_in_size_for_any_image_size(version: int, n: int, channels: tuple[int, ...]) -> None:
    backbone = resnet_backbone((48, 64, 3), version=version, n=n)
    shapes = [tuple(out.shape[1:]) for out in backbone.outputs]
    assert shapes == [(48, 64, channels[0]), (24, 32, channels[1]), (12, 16, channels[2])]
    features = backbone(np.zeros((2, 48, 64, 3), np.float32))
    assert [f.shape[0] for f in features] == [2, 2, 2]


@pytest.mark.parametrize(("version", "n"), [(1, 3), (2, 6)])
def test_the_classifier_is_the_backbone_plus_its_head(version: int, n: int) -> None:
    backbone = resnet_backbone((32, 32, 3), version=version, n=n)
    classifier = build_resnet(ResNetOptions(version=version, n=n), BuildContext(0, (32, 32, 3), 10))
    head_params = 64 * (1 if version == 1 else 4) * 10 + 10  # the Dense softmax on the pooled last stage
    assert classifier.count_params() == backbone.count_params() + head_params
    depth = {1: 20, 2: 56}[version]
    assert backbone.name == f"resnet{depth}_v{version}_backbone"


def test_backbone_errors_are_one_line() -> None:
    with pytest.raises(IncompatibleError, match="a resnet backbone needs a height and width divisible by 4 .*got 30x32x3"):
        resnet_backbone((30, 32, 3))
    with pytest.raises(ConfigError, match="resnet: version must be 1 or 2, got 3"):
        resnet_backbone((32, 32, 3), version=3)
    with pytest.raises(IncompatibleError, match="needs image inputs of rank 3"):
        resnet_backbone((784,))
    assert isinstance(resnet_backbone((8, 8, 1), version=1, n=1), keras.Model)
