"""Model builders: exact parameter counts from the book/spec, shapes, options, errors and .keras round trips.

Graph building only (plus tiny forward passes); nothing here trains.
"""

from dataclasses import fields
from functools import cache

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

# Import the three families directly (their decorators register them) rather than through
# load_families(), so that in-progress modules of other packages cannot break these tests.
import adl_runner.models.classifiers  # noqa: F401
import adl_runner.models.densenet  # noqa: F401
import adl_runner.models.resnet  # noqa: F401
from adl_runner.kernel.errors import ConfigError, IncompatibleError
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext

MNIST_VIEWS = {"flat": (784,), "image": (28, 28, 1), "sequence": (28, 28)}
CIFAR = (32, 32, 3)


def build(name: str, input_shape: tuple[int, ...], **options) -> keras.Model:
    entry = MODELS.get(name)
    return entry.build(entry.spec.options(**options), BuildContext(0, input_shape, 10))


@cache
def build_default(name: str, input_shape: tuple[int, ...]) -> keras.Model:
    """One shared default model per (name, shape): tests only read it, and DenseNet takes ~2 s to build."""
    return build(name, input_shape)


# --- registration and options ----------------------------------------------------------------------

EXPECTED_META = {
    "mlp": {"view": "flat"},
    "cnn": {"view": "image"},
    "rnn": {"view": "sequence"},
    "ynet": {"view": "image", "inputs": 2},
    "resnet": {"view": "image"},
    "densenet_bc": {"view": "image"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_META))
def test_registered_with_view_and_options(name):
    spec = MODELS.get(name).spec
    assert {"view": spec.view, "inputs": spec.inputs} == {"inputs": 1, **EXPECTED_META[name]}
    assert (spec.loop, spec.objective) == ("fit", "classify")
    # Every option has a default, so `Options()` is the book listing.
    spec.options()


@pytest.mark.parametrize("name", sorted(EXPECTED_META))
def test_options_are_omegaconf_structured_configs(name):
    options_cls = MODELS.get(name).spec.options
    cfg = OmegaConf.structured(options_cls)
    assert OmegaConf.to_object(cfg) == options_cls()
    assert [f.name for f in fields(options_cls)] == list(cfg.keys())


def test_omegaconf_validates_and_converts_overrides():
    cfg = OmegaConf.structured(MODELS.get("mlp").spec.options)
    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(["hidden_units=[512,512,512]", "l2=0"]))
    opts = OmegaConf.to_object(cfg)
    assert opts.hidden_units == [512, 512, 512] and isinstance(opts.l2, float)
    with pytest.raises(Exception, match="hidden_units"):
        OmegaConf.merge(cfg, OmegaConf.from_dotlist(["hidden_units=[a]"]))


# --- exact parameter counts ------------------------------------------------------------------------

DEFAULT_COUNTS = [
    # name, model name, params (model.count_params(), which includes BN moving statistics)
    ("mlp", "mlp", 269_322),  # Listing 1.3.3
    ("cnn", "cnn", 80_266),  # Listing 1.4.2 (the text's 80,226 is a typo)
    ("rnn", "rnn_simple", 75_530),  # Listing 1.5.2
    ("ynet", "ynet", 208_394),  # E2.2 [computed]
    ("resnet", "resnet20_v1", 274_442),
    ("densenet_bc", "densenet_bc100_k12", 797_788),
]


@pytest.mark.parametrize("name, model_name, params", DEFAULT_COUNTS)
def test_default_model(name, model_name, params):
    view = MODELS.get(name).spec.view
    shape = CIFAR if name in ("resnet", "densenet_bc") else MNIST_VIEWS[view]
    model = build_default(name, shape)
    assert isinstance(model, keras.Model)
    assert model.name == model_name
    assert model.count_params() == params
    assert model.output_shape == (None, 10)
    assert model.layers[-1].get_config().get("activation") == "softmax"
    assert not model.compiled  # the trainer compiles


@pytest.mark.parametrize(
    "version, n, name, params",
    [
        (1, 3, "resnet20_v1", 274_442),
        (1, 5, "resnet32_v1", 470_218),
        (1, 7, "resnet44_v1", 665_994),
        (1, 9, "resnet56_v1", 861_770),
        (1, 18, "resnet110_v1", 1_742_762),
        (2, 6, "resnet56_v2", 1_673_738),
        (2, 12, "resnet110_v2", 3_323_210),
    ],
)
def test_resnet_depths(version, n, name, params):
    model = build("resnet", CIFAR, version=version, n=n)
    assert model.name == name
    assert model.count_params() == params
    assert model.output_shape == (None, 10)


def test_densenet_trainable_split_and_widths():
    model = build_default("densenet_bc", CIFAR)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (trainable, model.count_params() - trainable) == (774_376, 23_412)
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.AveragePooling2D)]
    # Two transitions (108, 150 channels: the book compresses from 2k, not 2k + 3) then the 8x8 head pool.
    assert [p.output.shape[1:] for p in pools] == [(16, 16, 108), (8, 8, 150), (1, 1, 342)]
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)


def test_densenet_dropout_option_adds_dropout_after_every_bottleneck_and_transition_conv():
    model = build("densenet_bc", CIFAR, dropout=0.2)
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert len(dropouts) == 3 * 16 * 2 + 2
    assert model.count_params() == 797_788


@pytest.mark.parametrize(
    "options, params",
    [
        ({"hidden_units": [256, 256, 256]}, 335_114),
        ({"hidden_units": [512, 512, 512], "dropout": 0.2}, 932_362),
        ({"activation": "none", "dropout": 0.0}, 269_322),
    ],
)
def test_mlp_table_1_3_3_variants(options, params):
    model = build("mlp", (784,), **options)
    assert model.count_params() == params


def test_mlp_layer_order_and_switches():
    kinds = [type(layer).__name__ for layer in build_default("mlp", (784,)).layers]
    assert kinds == ["InputLayer"] + ["Dense", "Activation", "Dropout"] * 2 + ["Dense", "Activation"]
    linear = [type(layer).__name__ for layer in build("mlp", (784,), activation="none", dropout=0).layers]
    assert linear == ["InputLayer", "Dense", "Dense", "Dense", "Activation"]


def test_l2_applies_to_every_hidden_dense_only_when_positive():
    assert len(build("mlp", (784,), hidden_units=[256, 256, 256], l2=0.001).losses) == 3
    assert build_default("mlp", (784,)).losses == []
    resnet = build_default("resnet", CIFAR)
    convs = [layer for layer in resnet.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 21  # 19 weighted 3x3 convs + 2 projection shortcuts
    assert all(conv.kernel_regularizer is not None for conv in convs)
    assert len(resnet.losses) == 21
    assert build("resnet", CIFAR, l2=0.0).losses == []


@pytest.mark.parametrize("cell, params", [("simple", 75_530), ("lstm", 294_410), ("gru", 222_218)])
def test_rnn_cells(cell, params):
    model = build("rnn", (28, 28), cell=cell)
    assert model.name == f"rnn_{cell}"
    assert model.count_params() == params


def test_cnn_functional_variant_is_same_network():
    # Listing 2.1.1 = Listing 1.4.1 with dropout 0.3: same parameters.
    assert build("cnn", (28, 28, 1), dropout=0.3).count_params() == 80_266


def test_ynet_takes_two_inputs():
    model = build("ynet", (28, 28, 1))
    assert len(model.inputs) == 2
    assert [tuple(t.shape) for t in model.inputs] == [(None, 28, 28, 1)] * 2
    dilations = [
        layer.dilation_rate for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert sorted(dilations) == [(1, 1)] * 3 + [(2, 2)] * 3


# --- forward passes --------------------------------------------------------------------------------

FORWARD = [
    ("mlp", (784,)),
    ("cnn", (28, 28, 1)),
    ("rnn", (28, 28)),
    ("ynet", (28, 28, 1)),
    ("resnet", CIFAR),
    ("densenet_bc", CIFAR),
]


@pytest.mark.parametrize("name, shape", FORWARD)
def test_forward_pass_gives_probabilities(name, shape):
    model = build_default(name, shape)
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    inputs = [x, x] if MODELS.get(name).spec.inputs == 2 else x
    probs = keras.ops.convert_to_numpy(model(inputs, training=False))
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_resnet_v2_forward_pass():
    model = build("resnet", CIFAR, version=2, n=2)
    x = np.zeros((1, *CIFAR), dtype=np.float32)
    assert keras.ops.convert_to_numpy(model(x, training=False)).shape == (1, 10)


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, options", [("resnet", {}), ("resnet", {"version": 2, "n": 6}), ("densenet_bc", {})])
def test_cifar_models_reject_mnist_inputs(name, options):
    with pytest.raises(IncompatibleError, match=r"needs 32x32 inputs .*got 28x28x1"):
        build(name, (28, 28, 1), **options)


def test_resnet_error_message_names_the_reason():
    with pytest.raises(IncompatibleError) as info:
        build("resnet", (28, 28, 1))
    assert str(info.value) == (
        "resnet20_v1 needs 32x32 inputs (two stride-2 stages then an 8x8 average pool), got 28x28x1"
    )


def test_cifar_models_accept_other_channel_counts():
    assert build("resnet", (32, 32, 1)).output_shape == (None, 10)


def test_a_depth_that_does_not_split_into_blocks_is_refused_by_the_builder():
    with pytest.raises(ConfigError, match="densenet_bc: depth - 4 must be a positive multiple of 2 \\* num_dense_blocks"):
        build("densenet_bc", CIFAR, depth=101)


@pytest.mark.parametrize("name, options, message", [
    ("mlp", {"activation": "tanh"}, "model.activation must be relu or none, got 'tanh'"),
    ("mlp", {"dropout": 1.0}, "model.dropout must be in [0, 1), got 1.0"),
    ("mlp", {"hidden_units": []}, "model.hidden_units must not be empty"),
    ("mlp", {"hidden_units": [256, 0]}, "model.hidden_units (each item) must be in [1, 1,000,000], got [256, 0]"),
    ("resnet", {"version": 3}, "model.version must be 1 or 2, got 3"),
    ("resnet", {"n": 0}, "model.n must be >= 1, got 0"),
    ("resnet", {"l2": -1.0}, "model.l2 must be >= 0, got -1.0"),
    ("densenet_bc", {"compression": 0.0}, "model.compression must be in (0, 1], got 0.0"),
    ("densenet_bc", {"num_dense_blocks": 0}, "model.num_dense_blocks must be >= 1, got 0"),  # was a ZeroDivisionError
    ("cnn", {"filters": [64, 0]}, "model.filters (each item) must be >= 1, got [64, 0]"),
    ("rnn", {"cell": "transformer"}, "model.cell must be simple, lstm or gru, got 'transformer'"),
    ("ynet", {"dilation_rate": 0}, "model.dilation_rate must be >= 1, got 0"),
])
def test_ranges_are_declared_on_the_options_and_checked_before_the_build(name, options, message):
    from adl_runner.runner.resolve import typed_values

    with pytest.raises(ConfigError) as info:
        typed_values(MODELS.get(name).spec.options, options, "model")
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "name, shape",
    [("mlp", (28, 28, 1)), ("cnn", (784,)), ("rnn", (784,)), ("cnn", (12, 12, 1)), ("ynet", (4, 4, 1))],
)
def test_wrong_or_too_small_inputs_raise_incompatible(name, shape):
    with pytest.raises(IncompatibleError, match=name):
        build(name, shape)


# --- .keras round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, shape", [("mlp", (784,)), ("resnet", CIFAR), ("ynet", (28, 28, 1)), ("densenet_bc", CIFAR)]
)
def test_keras_save_load_round_trip(tmp_path, name, shape):
    model = build_default(name, shape)
    x = np.random.default_rng(1).random((3, *shape), dtype=np.float32)
    inputs = [x, x] if MODELS.get(name).spec.inputs == 2 else x
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.name == model.name
    assert loaded.count_params() == model.count_params()
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(inputs, training=False)),
        keras.ops.convert_to_numpy(model(inputs, training=False)),
    )
