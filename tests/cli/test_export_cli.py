"""task=export through the real entry point: the TF Serving layout, the saved pixel mean, versions,
and the bad inputs (an unknown format, a family with no serving signature, a failed check)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

SMOKE = ("debug=smoke", "logger.plots=false", "trainer.evaluate_train=false")


@pytest.mark.slow
def test_a_classifier_exports_versions_with_the_training_pixel_mean_inside(run_cli, tmp_path: Path) -> None:
    trained = run_cli("model=mlp", "model.hidden_units=[16]", "dataset.subtract_pixel_mean=true", *SMOKE,
                      run_dir=tmp_path / "train")
    assert trained.code == 0, trained.err
    mean = np.load(trained.run_dir / "checkpoints" / "pixel_mean.npy")
    assert mean.shape == (28, 28, 1) and 0.0 < mean.max() <= 1.0
    first = run_cli("task=export", f"ckpt={trained.run_dir}", run_dir=tmp_path / "export")
    assert first.code == 0, first.err
    again = run_cli("task=export", f"ckpt={trained.run_dir}", run_dir=tmp_path / "export")
    assert again.code == 0, again.err
    versions = tmp_path / "export" / "export" / "mlp"
    assert sorted(p.name for p in versions.iterdir()) == ["1", "2"]  # TF Serving serves the highest
    record = json.loads((versions / "2" / "export.json").read_text())
    assert record["pixel_mean_subtracted"] and record["largest_difference"] <= 1e-3
    served = tf.saved_model.load(str(versions / "2"))
    assert set(served.signatures) == {"serving_default", "classify"}
    raw = np.full((1, 28, 28, 1), 255, np.uint8)
    scores = served.signatures["serving_default"](images=tf.constant(raw))["scores"].numpy()
    classify = served.signatures["classify"](images=tf.constant(raw))
    assert int(classify["classes"].numpy()[0]) == int(scores.argmax())


def test_an_unknown_format_is_one_line(run_cli, tmp_path: Path) -> None:
    result = run_cli("task=export", "export.format=pb", f"ckpt={tmp_path / 'x.keras'}")
    result.assert_error("export.format=pb", "tf_saved_model, onnx, litert", no_run_dir=True)


@pytest.mark.parametrize(("model", "fragment"), [
    ("fcn", "model 'fcn' has no serving signature, task=export cannot serve it; models that export:"),
    ("otsu", "task=export is not available for model 'otsu'"),
    ("dqn", "task=export is not available for model 'dqn'"),
])
def test_a_family_with_no_serving_signature_is_refused_by_name(run_cli, tmp_path: Path, model: str, fragment: str) -> None:
    result = run_cli("task=export", f"model={model}", f"ckpt={tmp_path / 'x.keras'}")
    result.assert_error(fragment, no_run_dir=True)


def test_a_saved_generator_alone_is_refused_by_the_gan_family(run_cli, tmp_path: Path) -> None:
    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.runner.families import load_families

    load_families()
    entry = MODELS.get("gan_mlp")
    ckpt = tmp_path / "generator.keras"
    entry.build(entry.spec.options(hidden=[8, 16], latent_dim=4), BuildContext(0, (784,), 10)).generator.save(ckpt)
    result = run_cli("task=export", "model=gan_mlp", f"ckpt={ckpt}")
    result.assert_error("not a whole GAN: one of its networks alone has no serving signature", "checkpoints/best.keras", no_run_dir=True)


def test_an_export_that_fails_its_check_keeps_nothing(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import adl_runner.runner.tasks.export as export_task
    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.runner.families import load_families

    load_families()
    entry = MODELS.get("mlp")
    ckpt = tmp_path / "mlp.keras"
    entry.build(entry.spec.options(hidden_units=[8]), BuildContext(0, (784,), 10)).save(ckpt)  # untrained is enough
    monkeypatch.setattr(export_task, "largest_differences", lambda *args: {"serving_default": {"scores": 0.5}})
    result = run_cli("task=export", "model=mlp", f"ckpt={ckpt}", "dataset.test_limit=16")
    result.assert_error("export differs from the Keras model by up to 0.5", "nothing was kept", no_run_dir=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.keras"]


@pytest.mark.slow
@pytest.mark.parametrize(("model", "endpoints"), [("gan_mlp", {"serving_default"}), ("cvae", {"encode", "decode"})])
def test_a_gan_and_a_vae_checkpoint_export(run_cli, tmp_path: Path, model: str, endpoints: set) -> None:
    trained = run_cli(f"model={model}", *SMOKE, run_dir=tmp_path / "train")
    assert trained.code == 0, trained.err
    exported = run_cli("task=export", f"ckpt={trained.run_dir}", "export.format=litert", run_dir=tmp_path / "export")
    assert exported.code == 0, exported.err
    assert set(exported.metrics()["endpoints"]) == endpoints
    assert {p.stem for p in (tmp_path / "export" / "export" / "litert" / model / "1").glob("*.tflite")} == endpoints
