"""U-Net and Pattanayak's encoder-decoder through the real `run` entry point on tiny synthetic
masks: a few steps each, the threshold switch on a checkpoint, resume, and bad sizes."""

from __future__ import annotations

import numpy as np
import pytest

SHAPES = ("dataset=synthetic_shapes", "dataset.options.shape=[32,32,3]", "dataset.options.n_train=16",
          "dataset.options.n_test=8", "dataset.validation=4", "trainer.batch_size=8", "logger.tensorboard=false")
UNET = ("model=unet", *SHAPES, "model.filters=[4,8]")
ENCODER_DECODER = ("model=encoder_decoder", *SHAPES, "dataset.options.foreground=true", "model.filters=[4,8]",
                   "model.decoder_filters=[8]", "trainer.steps_per_epoch=2")


def test_unet_trains_a_few_steps_on_synthetic_masks(run_cli) -> None:
    result = run_cli(*UNET, "trainer.epochs=1", "model.norm=none")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["steps_completed"] == 2 and np.isfinite(metrics["test_loss"])
    for key in ("miou", "pixel_accuracy", "mean_iou", "val_miou", "best_val_miou"):  # the evaluator's, the validation's
        assert 0.0 <= metrics[key] <= 1.0, key
    assert "dice" not in metrics  # four classes
    assert metrics["params"] == (3 * 9 * 4 + 4) + (4 * 9 * 4 + 4) + (4 * 9 * 8 + 8) + (8 * 9 * 8 + 8) \
        + (8 * 4 * 4 + 4) + (8 * 9 * 4 + 4) + (4 * 9 * 4 + 4) + (4 * 4 + 4)  # 4 classes: background and 3 shapes


def test_encoder_decoder_trains_by_steps_with_dice_and_iou(run_cli) -> None:
    result = run_cli(*ENCODER_DECODER, "trainer.steps=4", "model.skip_connections=true")
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["steps_completed"] == 4 and np.isfinite(metrics["test_loss"])
    for key in ("dice", "iou", "miou", "pixel_accuracy", "mean_iou"):
        assert 0.0 <= metrics[key] <= 1.0, key


@pytest.mark.parametrize("options", [("model.padding=valid", "model.skip_connections=true"),
                                     ("model.upsampling=max_unpool", "model.decoder_filters=[4]")])
def test_the_specs_padding_and_upsampling_train_through_run(run_cli, options) -> None:
    result = run_cli(*ENCODER_DECODER, "trainer.steps=2", *options)
    assert result.code == 0, result.err
    metrics = result.metrics()
    assert metrics["steps_completed"] == 2 and 0.0 <= metrics["dice"] <= 1.0
    config = (result.run_dir / "config.yaml").read_text()
    assert "sampling: replacement" in config  # the preset draws batches as the book's generator does


def test_sampling_with_replacement_is_refused_where_the_kind_has_no_such_option(run_cli) -> None:
    run_cli("model=mlp", "trainer.epochs=1", "dataset.sampling=replacement").assert_error(
        "dataset.sampling=replacement", "valid here: epochs", no_run_dir=True)


@pytest.mark.slow
def test_the_threshold_rule_reaches_a_checkpoint(run_cli, tmp_path) -> None:
    result = run_cli(*ENCODER_DECODER, "trainer.steps=2")
    assert result.code == 0, result.err
    metrics = result.metrics()
    # The rule reaches a checkpoint through task=evaluate: a logit threshold below every logit marks
    # every pixel, one above none. The loss does not depend on the rule.
    from adl_runner.runner.tasks.common import load_checkpoint

    last = result.run_dir / "checkpoints/last.keras"
    assert load_checkpoint(last).threshold == 0.0  # sigmoid > 0.5: logit > 0
    scores = {}
    for threshold in (-100, 100):
        evaluated = run_cli("task=evaluate", f"ckpt={last}", "model.threshold_on=logits", f"model.threshold={threshold}",
                            run_dir=tmp_path / str(threshold))
        assert evaluated.code == 0, evaluated.err
        assert evaluated.metrics()["test_loss"] == pytest.approx(metrics["test_loss"], rel=1e-5)
        scores[threshold] = evaluated.metrics()
    assert scores[100]["dice"] == 0.0 < scores[-100]["dice"]
    assert scores[-100]["pixel_accuracy"] < 0.5 < scores[100]["pixel_accuracy"]  # shapes cover under half an image


def test_a_size_the_network_cannot_halve_is_one_error_line(run_cli) -> None:
    run_cli(*UNET, "dataset.options.shape=[33,32,3]", "trainer.epochs=1").assert_error(
        "unet", "multiples of 2", "33x32", no_run_dir=True)
    run_cli(*ENCODER_DECODER, "trainer.steps=2", "model.threshold_on=logit").assert_error(
        "model.threshold_on must be probabilities or logits", no_run_dir=True)
    run_cli(*ENCODER_DECODER, "trainer.steps=2", "model.padding=valid", "dataset.options.shape=[17,17,3]").assert_error(
        "model.padding=valid", "got 17x17 (e.g. 18x18)", no_run_dir=True)


@pytest.mark.slow
def test_a_resumed_encoder_decoder_ends_with_the_weights_of_an_uninterrupted_one(resume_pair) -> None:
    args = (*ENCODER_DECODER, "trainer.deterministic=true", "logger.plots=false")
    resumed, straight_state, resumed_state = resume_pair(args, total=4, first=2)
    assert resumed.metrics()["resumed_from_epoch"] == 1
    assert len(straight_state) == len(resumed_state)
    for a, b in zip(straight_state, resumed_state):
        np.testing.assert_array_equal(a, b)
