"""The shared U-Net builder and its three networks without the CLI: CycleGAN's generator unchanged
(layer names, classes and weight shapes pinned), the segmentation U-Net and Pattanayak's
encoder-decoder (parameter counts from their layers), the threshold switch, learning, save/load."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from adl_runner.data.inputs import make_inputs
from adl_runner.data.inputs.masks import MaskSplits
from adl_runner.data.pipeline import PipelineOptions
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.gan.cycle_networks import unet_generator
from adl_runner.models.segmentation.encoder_decoder import EncoderDecoderOptions, build_encoder_decoder, for_inference
from adl_runner.models.segmentation.model import SegmentationModel
from adl_runner.models.segmentation.unet import UNetOptions, build_unet, unet_layout
from adl_runner.models.unet import UNetLayout, Unpooling2D, output_side
from adl_runner.runner.resolve import typed_values

TINY_ED = {"filters": [4, 8], "decoder_filters": [8], "init_std": 0.1}  # learns in a few steps
TINY_UNET = {"filters": [4, 8], "norm": "none"}  # batch statistics need more than a few steps


def conv(k: int, c_in: int, c_out: int) -> int:
    """Kernel and bias of a Conv2D or Conv2DTranspose."""
    return k * k * c_in * c_out + c_out


# What the generator was before the builder was shared: a checkpoint maps weights by layer class and
# order, and these names are the ones a fresh session gives.
CYCLEGAN_GENERATOR = [
    ("image", "InputLayer", ()),
    *[row for i, (c_in, c_out) in enumerate([(1, 32), (32, 64), (64, 128), (128, 256)]) for row in (
        (f"group_normalization{f'_{i}' if i else ''}", "GroupNormalization", ((c_in,), (c_in,))),
        (f"leaky_re_lu{f'_{i}' if i else ''}", "LeakyReLU", ()),
        (f"conv2d{f'_{i}' if i else ''}", "Conv2D", ((3, 3, c_in, c_out), (c_out,))))],
    *[row for i, (c_in, c_out) in enumerate([(256, 128), (256, 64), (128, 32)]) for row in (
        (f"group_normalization_{i + 4}", "GroupNormalization", ((c_in,), (c_in,))),
        (f"activation{f'_{i}' if i else ''}", "Activation", ()),
        (f"conv2d_transpose{f'_{i}' if i else ''}", "Conv2DTranspose", ((3, 3, c_out, c_in), (c_out,))),
        (f"concatenate{f'_{i}' if i else ''}", "Concatenate", ()))],
    ("translated", "Conv2DTranspose", ((3, 3, 3, 64), (3,))),
]


def test_cyclegan_generator_keeps_its_layers_names_and_weights() -> None:
    keras.utils.clear_session()  # auto names count from zero, as in a fresh run
    generator = unet_generator((32, 32, 1), 3, 3, name="g_target")
    found = [(layer.name, type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights)) for layer in generator.layers]
    assert found == CYCLEGAN_GENERATOR
    assert generator.count_params() == 870_757


def unet_params(c_in: int, filters: list[int], classes: int, norm: bool) -> int:
    """Two 3x3 convs per level, a 2x2 up-conv and two 3x3 convs per decoder step, a 1x1 head; BN: 4 per channel."""
    total, bn, channels = 0, 0, c_in
    for f in filters:
        total += conv(3, channels, f) + conv(3, f, f)
        bn += 2 * f
        channels = f
    for f in reversed(filters[:-1]):
        total += conv(2, channels, f) + conv(3, 2 * f, f) + conv(3, f, f)
        bn += 3 * f
        channels = f
    return total + conv(1, channels, classes) + (4 * bn if norm else 0)


@pytest.mark.parametrize("norm, expected", [("batch", 31_059_332), ("none", 31_031_940)])
def test_unet_parameter_count(norm: str, expected: int) -> None:
    model = build_unet(UNetOptions(norm=norm), BuildContext(0, (64, 64, 3), 4))
    assert model.count_params() == unet_params(3, [64, 128, 256, 512, 1024], 4, norm == "batch") == expected
    assert isinstance(model, SegmentationModel) and model.loss_name == "categorical_crossentropy"
    assert model.network.output_shape == (None, 64, 64, 4)
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in model.network.layers) == 4  # the skips
    np.testing.assert_allclose(np.asarray(model(np.zeros((1, 64, 64, 3), "float32"))).sum(-1), 1.0, rtol=1e-5)


def encoder_decoder_params(filters: list[int], decoder: list[int], skips: bool) -> int:
    encoder, channels = 0, 3
    for f in filters:
        encoder += conv(3, channels, f) + conv(3, f, f)
        channels = f
    total = encoder
    for f, skip in zip(decoder, reversed(filters[:-1])):
        total += conv(3, channels, f)
        channels = f + (skip if skips else 0)
    return total + conv(1, channels, 1)


def test_encoder_decoder_has_the_books_34_475_585_parameters() -> None:
    model = build_encoder_decoder(EncoderDecoderOptions(), BuildContext(0, (128, 128, 3), 2))
    book = ([64, 128, 256, 512, 1024], [1024, 512, 256, 128])
    assert model.count_params() == encoder_decoder_params(*book, skips=False) == 18_843_200 + 15_632_256 + 129 == 34_475_585
    assert model.network.output_shape == (None, 128, 128, 1) and model.loss_name == "binary_crossentropy_logits"
    assert not any(isinstance(layer, keras.layers.Concatenate) for layer in model.network.layers)
    assert [type(layer).__name__ for layer in model.network.layers].count("MaxPooling2D") == 4
    kernel = np.asarray(model.network.get_layer("logits").kernel)
    convs = [layer for layer in model.network.layers if type(layer) is keras.layers.Conv2D]
    transposed = [layer for layer in model.network.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert len(convs) == 10 + 1 and [t.filters for t in transposed] == [1024, 512, 256, 128] and kernel.shape == (1, 1, 128, 1)
    assert all(t.strides == (2, 2) and t.kernel_size == (3, 3) for t in transposed)
    big = np.concatenate([np.asarray(convs[4].kernel).ravel(), np.asarray(convs[4].bias).ravel()])
    assert abs(big.std() - 0.02) < 0.001 and abs(big.mean()) < 0.001  # N(0, 0.02) kernels and biases

    he = build_encoder_decoder(EncoderDecoderOptions(init_std=None), BuildContext(0, (128, 128, 3), 2))
    he_convs = [layer for layer in he.network.layers if type(layer) is keras.layers.Conv2D]
    assert he.count_params() == 34_475_585 and not np.asarray(he_convs[4].bias).any()
    assert abs(np.asarray(he_convs[4].kernel).std() - np.sqrt(2 / (9 * 128))) < 0.002  # He normal, fan-in 3x3x128

    unet = build_encoder_decoder(EncoderDecoderOptions(skip_connections=True), BuildContext(0, (128, 128, 3), 2))
    assert unet.count_params() == encoder_decoder_params(*book, skips=True) == 37_572_225
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in unet.network.layers) == 4


@pytest.mark.parametrize("upsampling", ["transpose", "nearest", "bed_of_nails", "max_unpool"])
def test_every_upsampling_has_the_same_parameters(upsampling: str) -> None:
    filters, decoder = [4, 8, 16], [8, 4]  # max_unpool: each step returns to its encoder level's filters
    model = build_encoder_decoder(EncoderDecoderOptions(filters=filters, decoder_filters=decoder, upsampling=upsampling),
                                  BuildContext(0, (16, 16, 3), 2))
    assert model.count_params() == encoder_decoder_params(filters, decoder, skips=False)
    assert model.network.output_shape == (None, 16, 16, 1)
    transposed = any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in model.network.layers)
    assert transposed == (upsampling == "transpose")


def test_unpooling_puts_each_value_in_one_pixel_of_its_block() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]], "float32").reshape(1, 2, 2, 1)
    nails = np.asarray(Unpooling2D("nails")(x))[0, ..., 0]
    np.testing.assert_array_equal(nails, [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])
    before = np.array([[0, 5, 1, 1], [2, 3, 7, 0], [9, 0, 0, 0], [0, 0, 6, 8]], "float32").reshape(1, 4, 4, 1)
    unpooled = np.asarray(Unpooling2D("max")([x, before]))[0, ..., 0]
    # where each 2x2 block of `before` had its maximum; the all-tied block takes its first pixel
    np.testing.assert_array_equal(unpooled, [[0, 1, 0, 0], [0, 0, 2, 0], [3, 0, 0, 0], [0, 0, 0, 4]])


def test_valid_padding_predicts_the_centre() -> None:
    paper = UNetLayout((64, 128, 256, 512, 1024), (512, 256, 128, 64), convs=2, decoder_convs=2, up_kernel_size=2,
                       down="pool", padding="valid")
    assert output_side(paper, 572) == 388  # Ronneberger et al. Fig. 1
    assert output_side(unet_layout(UNetOptions()), 576) == 576 and output_side(unet_layout(UNetOptions()), 572) is None
    book = EncoderDecoderOptions(padding="valid")
    with pytest.raises(IncompatibleError, match=r"model.padding=valid needs .* got 128x128 \(e.g. 140x140\)"):
        build_encoder_decoder(book, BuildContext(0, (128, 128, 3), 2))
    model = build_encoder_decoder(EncoderDecoderOptions(**TINY_ED, padding="valid", skip_connections=True),
                                  BuildContext(0, (32, 32, 3), 2))
    assert model.network.output_shape == (None, 20, 20, 1)  # 32 -> 28 -> 14 -> 10 -> 20
    targets = np.zeros((1, 32, 32), "int32")
    targets[:, 6:26, 6:26] = 1  # the centre 20x20 is foreground, the border background
    logits = model.network(np.zeros((1, 32, 32, 3), "float32"))
    model.compile(optimizer="adam")
    assert model.test_step((np.zeros((1, 32, 32, 3), "float32"), targets))["pixel_accuracy"] == float(
        np.mean(np.asarray(model.mask_ids(logits)) == 1))


def test_max_unpool_needs_the_encoders_filters_and_same_padding() -> None:
    for options in (EncoderDecoderOptions(upsampling="max_unpool"),
                    EncoderDecoderOptions(filters=[4, 8], decoder_filters=[4], upsampling="max_unpool", padding="valid")):
        with pytest.raises(ConfigError, match=r"max_unpool .* needs model.padding=same and model.decoder_filters=\["):
            build_encoder_decoder(options, BuildContext(0, (32, 32, 3), 2))


def test_threshold_switch_probabilities_or_the_books_logits() -> None:
    model = build_encoder_decoder(EncoderDecoderOptions(**TINY_ED), BuildContext(0, (16, 16, 3), 2))
    logits = np.array([-1.0, 0.2, 0.5, 0.7], "float32").reshape(1, 1, 4, 1)
    np.testing.assert_array_equal(model.mask_ids(logits), [[[0, 1, 1, 1]]])  # sigmoid(l) > 0.5: l > 0
    for_inference(model, EncoderDecoderOptions(**TINY_ED, threshold_on="logits"))
    np.testing.assert_array_equal(model.mask_ids(logits), [[[0, 0, 0, 1]]])  # the book: l > 0.5, p > 0.622
    for_inference(model, EncoderDecoderOptions(**TINY_ED, threshold=0.6))
    np.testing.assert_array_equal(model.mask_ids(logits), [[[0, 0, 1, 1]]])  # l > log(0.6 / 0.4) = 0.405
    with pytest.raises(ConfigError, match="model.threshold_on must be probabilities or logits, got 'logit'"):
        typed_values(EncoderDecoderOptions, {**TINY_ED, "threshold_on": "logit"}, "model")
    with pytest.raises(IncompatibleError, match="not an encoder_decoder"):
        for_inference(build_unet(UNetOptions(**TINY_UNET), BuildContext(0, (16, 16, 3), 2)), EncoderDecoderOptions())


def test_encoder_decoder_needs_two_class_masks() -> None:
    with pytest.raises(IncompatibleError, match="two-class masks .* got 4 classes"):
        build_encoder_decoder(EncoderDecoderOptions(**TINY_ED), BuildContext(0, (16, 16, 3), 4))


@pytest.mark.parametrize("build, options", [(build_unet, UNetOptions(**TINY_UNET)),
                                            (build_encoder_decoder, EncoderDecoderOptions(**TINY_ED))])
def test_sizes_that_do_not_halve_are_refused(build, options) -> None:
    with pytest.raises(IncompatibleError, match=r"multiples of 2; got 15x16 \(e.g. 16x16\)"):
        build(options, BuildContext(0, (15, 16, 3), 2))
    with pytest.raises(IncompatibleError, match=r"multiples of 16; got 120x160 \(e\.g\. 128x160\)"):
        build(type(options)(), BuildContext(0, (120, 160, 3), 2))


@pytest.mark.parametrize("build, options, fragment", [
    (build_unet, UNetOptions(filters=[8]), "model.filters needs at least 2 levels"),
    (build_encoder_decoder, EncoderDecoderOptions(decoder_filters=[8]), r"one entry per level after the first \(4\)"),
    (build_encoder_decoder, EncoderDecoderOptions(threshold=1.0), r"model.threshold on probabilities must be in \(0, 1\)"),
])
def test_bad_options_name_the_key(build, options, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        build(options, BuildContext(0, (32, 32, 3), 2))


@pytest.mark.parametrize("options_class, values, fragment", [
    (UNetOptions, {"norm": "layer"}, "model.norm must be none, batch or instance, got 'layer'"),
    (UNetOptions, {"convs": 0}, "model.convs must be >= 1"),
    (EncoderDecoderOptions, {"init_std": 0.0}, "model.init_std must be > 0"),
    (EncoderDecoderOptions, {"threshold_on": "x"}, "model.threshold_on must be probabilities or logits, got 'x'"),
    (EncoderDecoderOptions, {"padding": "full"}, "model.padding must be same or valid, got 'full'"),
    (EncoderDecoderOptions, {"upsampling": "bilinear"}, "model.upsampling must be transpose, "),
])
def test_ranges_are_declared_on_the_options(options_class, values: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        typed_values(options_class, values, "model")


def _shapes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bright squares (class 1) on dark noise (class 0)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, 16, 16, 3)).astype(np.uint8)
    masks = np.zeros((n, 16, 16), np.uint8)
    for i in range(n):
        y, x = rng.integers(0, 9, 2)
        images[i, y:y + 7, x:x + 7] = 220
        masks[i, y:y + 7, x:x + 7] = 1
    return images, masks


@pytest.mark.parametrize("build, options", [(build_unet, UNetOptions(**TINY_UNET)),
                                            (build_encoder_decoder, EncoderDecoderOptions(**TINY_ED))])
def test_the_network_learns_tiny_masks_and_reloads(build, options, tmp_path: Path) -> None:
    x_train, m_train = _shapes(16, 0)
    x_test, m_test = _shapes(8, 1)
    splits = MaskSplits(x_train, m_train, x_test, m_test, ("background", "square"))
    pipeline = make_inputs("masks", splits, PipelineOptions(view="image", batch_size=8, seed=0))
    keras.utils.set_random_seed(0)  # initial weights
    model = build(options, BuildContext(0, pipeline.input_shape, 2, class_names=splits.class_names))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = model.evaluate(pipeline.test(), verbose=0, return_dict=True)["loss"]
    model.fit(pipeline.train(0, 10), epochs=10, steps_per_epoch=2, shuffle=False, verbose=0)
    assert model.evaluate(pipeline.test(), verbose=0, return_dict=True)["loss"] < 0.85 * before
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    images = next(iter(pipeline.test()))[0]
    np.testing.assert_allclose(loaded(images), model(images), atol=1e-5)
    assert isinstance(loaded, SegmentationModel) and loaded.threshold == model.threshold
    assert loaded.class_names == ("background", "square")
