"""The views input kind's options through `run`: `dataset.options.<name>=` reaches the pipeline,
a bad value is one error line."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from adl_runner.kernel.errors import ConfigError
from adl_runner.runner.tasks import fit

FAST = ("model=iic", "dataset=mnist", "dataset.train_limit=32", "dataset.test_limit=16", "trainer.batch_size=16",
        "trainer.epochs=1", "logger.tensorboard=false")


@pytest.fixture
def built_views(monkeypatch: pytest.MonkeyPatch) -> list:
    """The views pipelines `run` builds; the run stops right after, before any training."""
    built: list = []
    real = fit.kind_pipeline

    def capture(*args, **kwargs):
        built.append(real(*args, **kwargs))
        raise ConfigError("stopped after the pipeline")

    monkeypatch.setattr(fit, "kind_pipeline", capture)
    return built


def _first_pair(pipeline) -> tuple[np.ndarray, np.ndarray]:
    (x, g_x), _ = next(iter(pipeline.train(0, 1)))
    return x.numpy(), g_x.numpy()


def test_dataset_options_change_the_views(run_cli, built_views, tmp_path) -> None:
    run_cli(*FAST, run_dir=tmp_path / "book").assert_error("stopped after the pipeline")
    # a 16x16 centre view; every G(X) the centred 12x12 crop (16 pixels off 28), resized to 16x16
    run_cli(*FAST, "dataset.options.crop=12", "dataset.options.rotation_share=0", "dataset.options.centred=1",
            "dataset.options.crop_sizes=[16]", run_dir=tmp_path / "set").assert_error("stopped after the pipeline")
    book, changed = built_views
    x, g_x = _first_pair(book)
    assert book.input_shape == x.shape[1:] == (24, 24, 1)
    assert not np.allclose(g_x, tf.image.resize(x[:, 2:22, 2:22], (24, 24)).numpy(), atol=1e-5)
    x, g_x = _first_pair(changed)
    assert changed.input_shape == x.shape[1:] == (16, 16, 1)
    np.testing.assert_allclose(g_x, tf.image.resize(x[:, 2:14, 2:14], (16, 16)).numpy(), atol=1e-5)


@pytest.mark.parametrize(("override", "fragments"), [
    ("dataset.options.rotation=200", ("dataset.options.rotation must be in [0, 180], got 200.0",)),
    ("dataset.options.rotation_share=1.5", ("dataset.options.rotation_share must be in [0, 1], got 1.5",)),
    ("dataset.options.crop_sizes=[]", ("dataset.options.crop_sizes must not be empty",)),
    ("+dataset.options.flip=true", ("dataset.options.flip is not an option of dataset 'mnist' or of input kind 'views'",
                                    "an input kind's flip is dataset.augment=")),
    ("dataset.options.crop=28", ("views: crop and crop_sizes must be in 0..27 pixels for 28x28 images",)),
])
def test_a_bad_view_option_is_one_error_line(run_cli, tmp_path, override: str, fragments: tuple[str, ...]) -> None:
    run_cli(*FAST, override, run_dir=tmp_path / "bad").assert_error(*fragments)


def test_a_view_option_on_a_model_without_views_names_the_models_that_read_it(run_cli, tmp_path) -> None:
    run_cli("model=mlp", "+dataset.options.crop=4", run_dir=tmp_path / "mlp").assert_error(
        "dataset.options.crop is not an option of dataset 'mnist'; valid: (none)",
        "read by model iic, mine_encoder", no_run_dir=True)


def test_the_listed_view_options_are_the_kinds_defaults() -> None:
    # conf/views.yaml lists them so that dataset.options.<name>= overrides one; ViewOptions declares them
    import dataclasses

    import yaml

    from adl_runner.data.inputs.views import ViewOptions
    from adl_runner.runner.cli import CONF_DIR
    from adl_runner.runner.input_options import settable

    listed = yaml.safe_load((CONF_DIR / "views.yaml").read_text())
    defaults = dataclasses.asdict(ViewOptions())
    assert listed == {name: defaults[name] for name in settable("views")}
