"""Exports of each family kind in each format, reloaded and compared with the Keras model
(runner.serving), on small untrained models built by the families' own builders."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from adl_runner.data.pipeline import ArrayPipeline, PipelineOptions
from adl_runner.data.served_images import image_source
from adl_runner.kernel.errors import IncompatibleError, RunnerError
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.serving import Endpoint, ImageSource, ServeOptions
from adl_runner.kernel.specs import BuildContext
from adl_runner.runner.families import load_families
from adl_runner.runner.serving import endpoints as served
from adl_runner.runner.serving.data import ServedData
from adl_runner.runner.serving.formats import FORMATS
from adl_runner.runner.tasks.export import write_verified

ONNX = pytest.param("onnx", marks=pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("tf2onnx", "onnx", "onnxruntime")),
    reason="the onnx extra is not installed (pip install 'adl-runner[onnx]')"))
FORMAT_NAMES = ["tf_saved_model", ONNX, "litert"]


def _pipeline(view: str, subtract_pixel_mean: bool = False, shape: tuple[int, ...] = (8, 8, 1), **options: object) -> ArrayPipeline:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, *shape), dtype=np.uint8)
    y = rng.integers(0, 3, 40)
    return ArrayPipeline(x[:32], y[:32], x[32:], y[32:], 3, PipelineOptions(
        view=view, subtract_pixel_mean=subtract_pixel_mean, batch_size=8, **options))  # type: ignore[arg-type]


def _source(pipeline: ArrayPipeline) -> ImageSource:
    return image_source(pipeline, 8)


def _served(name: str, model: keras.Model, data: Any, examples: int = 8, fmt: str = "tf_saved_model",
            max_detections: int = 100) -> list[Endpoint]:
    """The family's own endpoints, through its `serve` hook as task=export calls it."""
    return MODELS.get(name).spec.serve(model, data, ServeOptions(fmt, examples, max_detections, seed=0))


NO_DATA = ServedData(lambda: pytest.fail("a generator's export reads no data"))


def _build(name: str, shape: tuple[int, ...], **options: object) -> keras.Model:
    load_families()
    entry = MODELS.get(name)
    return entry.build(entry.spec.options(**options), BuildContext(0, shape, 3))


def _exported(fmt: str, endpoints: list[Endpoint], folder: Path) -> dict:
    folder.mkdir()
    record = {"model": "test"}
    write_verified(FORMATS[fmt], endpoints, folder, record, tolerance=1e-4)
    assert json.loads((folder / "export.json").read_text()) == record
    return record


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_a_classifier_takes_raw_images_and_subtracts_the_training_mean(fmt: str, tmp_path: Path) -> None:
    pipeline = _pipeline("flat", subtract_pixel_mean=True)
    model = _build("mlp", (64,), hidden_units=[16])
    record = _exported(fmt, served.classifier(model, _source(pipeline)), tmp_path / "v1")
    assert set(record["endpoints"]) == {"serving_default", "classify"}
    assert record["endpoints"]["classify"]["inputs"] == {"images": {"shape": [None, 8, 8, 1], "dtype": "uint8"}}
    assert record["endpoints"]["classify"]["outputs"]["classes"] == {"shape": [None], "dtype": "int32"}
    assert record["largest_difference"] < 1e-4


def test_the_check_fails_when_the_export_misses_the_pixel_mean(tmp_path: Path) -> None:
    pipeline = _pipeline("flat", subtract_pixel_mean=True)
    model = _build("mlp", (64,), hidden_units=[16])
    no_mean = ImageSource((8, 8, 1), None, False, pipeline.images("test", 8), pipeline.labels("test")[:8],
                          pipeline.inference_inputs)
    with pytest.raises(RunnerError, match="differs from the Keras model by up to"):
        _exported("tf_saved_model", served.classifier(model, no_mean), tmp_path / "v1")


def test_logits_get_a_softmax_in_classify_and_two_input_models_get_the_image_twice(tmp_path: Path) -> None:
    logits = _build("softmax_regression", (64,))
    assert not served.outputs_probabilities(logits) and served.outputs_probabilities(_build("mlp", (64,), hidden_units=[4]))
    (_, classify) = served.classifier(logits, _source(_pipeline("flat")))
    assert np.allclose(classify.expected["probabilities"].sum(axis=-1), 1.0, atol=1e-5)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (16, 8, 8, 1), dtype=np.uint8)
    two = ArrayPipeline(x, np.zeros(16), x, np.zeros(16), 3, PipelineOptions(view="image", inputs=2, batch_size=8))
    ynet = _build("ynet", (8, 8, 1), filters=4, n_layers=1, dropout=0.0)
    _exported("tf_saved_model", served.classifier(ynet, _source(two)), tmp_path / "v1")


def test_a_colorizer_takes_rgb_images_and_sees_their_luminance(tmp_path: Path) -> None:
    pipeline = _pipeline("image", shape=(8, 8, 3), gray_input=True)
    model = _build("autoencoder", (8, 8, 1), filters=[4], latent_dim=2)
    record = _exported("tf_saved_model", served.autoencoder(model, _source(pipeline)), tmp_path / "v1")
    assert record["endpoints"]["serving_default"]["inputs"]["images"]["shape"] == [None, 8, 8, 3]


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_a_conditional_vae_exports_encode_and_decode(fmt: str, tmp_path: Path) -> None:
    model = _build("cvae", (8, 8, 1), filters=4, conv_layers=1)
    record = _exported(fmt, _served("cvae", model, ServedData(lambda: _pipeline("image"))), tmp_path / "v1")
    assert set(record["endpoints"]) == {"encode", "decode"}
    assert set(record["endpoints"]["encode"]["inputs"]) == {"images", "labels"}
    assert record["endpoints"]["decode"]["outputs"] == {"images": {"shape": [None, 8, 8, 1], "dtype": "float32"}}


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_a_gan_exports_noise_to_images_in_the_unit_range(fmt: str, tmp_path: Path) -> None:
    model = _build("gan_mlp", (64,), hidden=[8, 16], latent_dim=4)
    (endpoint,) = _served("gan_mlp", model, NO_DATA, examples=4)
    record = _exported(fmt, [endpoint], tmp_path / "v1")
    assert record["endpoints"]["serving_default"]["outputs"]["images"]["shape"] == [None, 8, 8, 1]
    assert 0.0 <= endpoint.expected["images"].min() and endpoint.expected["images"].max() <= 1.0


def test_a_conditional_gan_takes_class_ids(tmp_path: Path) -> None:
    model = _build("cgan", (8, 8, 1), latent_dim=4)
    (endpoint,) = _served("cgan", model, NO_DATA, examples=4)
    assert set(endpoint.example) == {"noise", "labels"} and endpoint.example["labels"].dtype == np.int32
    _exported("tf_saved_model", [endpoint], tmp_path / "v1")


def test_a_checkpoint_of_one_network_is_refused_by_the_familys_hook() -> None:
    gan = _build("gan_mlp", (64,), hidden=[8, 16], latent_dim=4)
    with pytest.raises(IncompatibleError, match=r"holds '\w+', not a whole GAN: one of its networks alone has no serving signature"):
        _served("gan_mlp", gan.generator, NO_DATA)  # a run's generator.keras
    vae = _build("vae_mlp", (64,), intermediate_dim=8, latent_dim=2)
    with pytest.raises(IncompatibleError, match="not a whole VAE"):
        _served("vae_mlp", vae.decoder, ServedData(lambda: _pipeline("flat")))


def test_the_record_says_whether_the_served_images_have_the_pixel_mean_subtracted() -> None:
    data = ServedData(lambda: _pipeline("flat", subtract_pixel_mean=True))
    assert not data.pixel_mean_served  # nothing loaded yet
    data.source(8)
    assert data.pixel_mean_served
    plain = ServedData(lambda: _pipeline("image"))
    _served("cvae", _build("cvae", (8, 8, 1), filters=4, conv_layers=1), plain)
    assert not plain.pixel_mean_served


def test_a_missing_extra_is_named_with_its_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(IncompatibleError, match=r"export.format=onnx needs [a-z0-9, ]*onnxruntime: pip install 'adl-runner\[onnx\]'"):
        FORMATS["onnx"].require()


def test_the_pixel_mean_training_saved_replaces_the_recomputed_one(tmp_path: Path) -> None:
    from adl_runner.runner.tasks.common import restore_pixel_mean

    pipeline = _pipeline("flat", subtract_pixel_mean=True)
    saved = np.full((8, 8, 1), 0.25, np.float32)  # training saw other images (dataset.train_limit)
    (tmp_path / "checkpoints").mkdir()
    np.save(tmp_path / "checkpoints" / "pixel_mean.npy", saved)
    restore_pixel_mean(pipeline, tmp_path / "checkpoints" / "best.keras")
    assert np.array_equal(pipeline.pixel_mean, saved)
    x = pipeline.inference_inputs(np.zeros((1, 8, 8, 1), np.uint8))
    assert np.allclose(np.asarray(x), -0.25)
    plain = _pipeline("flat")
    restore_pixel_mean(plain, tmp_path / "checkpoints" / "best.keras")  # subtracts no mean: nothing to restore
    assert plain.pixel_mean is None


class _Examples:
    """The DataView part an SSD's serve hook reads: the first test images, in [0, 1]."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.images = np.random.default_rng(0).integers(0, 256, shape).astype(np.float32) / 255.0

    def examples(self, n: int, split: str = "test") -> tuple[np.ndarray, None]:
        return self.images[:n], None


def _ssd_endpoints(fmt: str, max_detections: int, **options: object) -> list[Endpoint]:
    model = _build("ssd", (32, 32, 3), backbone_n=1, n_layers=1, class_threshold=0.3, **options)
    return _served("ssd", model, _Examples((6, 32, 32, 3)), 6, fmt, max_detections)


# tf_saved_model about 10 s (a ResNet backbone's trace); onnx slow (tf2onnx's conversion of the NMS loop)
@pytest.mark.parametrize("fmt", ["tf_saved_model", pytest.param("onnx", marks=[pytest.mark.slow, *ONNX.marks])])
def test_an_ssd_exports_its_boxes_after_nms_padded_to_max_detections(fmt: str, tmp_path: Path) -> None:
    (endpoint,) = _ssd_endpoints(fmt, max_detections=8)
    found = endpoint.expected["num_detections"]
    assert found.max() > 0 and (found < 8).any()  # detections, and padding rows to check too
    record = _exported(fmt, [endpoint], tmp_path / "v1")
    outputs = record["endpoints"]["serving_default"]["outputs"]
    assert outputs["boxes"] == {"shape": [None, 8, 4], "dtype": "float32"}
    assert outputs["classes"] == {"shape": [None, 8], "dtype": "int32"} and outputs["num_detections"]["shape"] == [None]
    assert record["endpoints"]["serving_default"]["inputs"] == {"images": {"shape": [None, 32, 32, 3], "dtype": "uint8"}}
    boxes = endpoint.expected["boxes"]
    assert boxes.min() >= 0.0 and boxes.max() <= 32.0  # clipped to the input image
    assert not boxes[np.arange(8)[None, :] >= found[:, None]].any()  # padding rows are zeros


@pytest.mark.slow  # a second SSD export
def test_an_ssd_export_cut_to_fewer_detections_keeps_the_best_and_soft_nms_goes_in_the_graph(tmp_path: Path) -> None:
    (endpoint,) = _ssd_endpoints("tf_saved_model", max_detections=2, soft_nms=True)
    assert (endpoint.expected["num_detections"] == 2).all()  # soft NMS drops none: every image fills its rows
    scores = endpoint.expected["scores"]
    assert (scores[:, 0] >= scores[:, 1]).all()
    _exported("tf_saved_model", [endpoint], tmp_path / "v1")


def test_an_ssd_is_refused_by_name_in_litert() -> None:
    with pytest.raises(IncompatibleError, match="export.format=litert cannot serve model 'ssd'.*tf_saved_model, onnx"):
        _ssd_endpoints("litert", max_detections=4)
