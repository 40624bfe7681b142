"""End-of-run work kept bounded: the final test-set evaluation on `trainer.test_examples`."""

from __future__ import annotations

import math

TINY_GAN = ("model=dcgan", "dataset=synthetic", "dataset.options.shape=[8,8,1]", "dataset.options.n_train=64",
            "dataset.options.n_test=16", "logger.tensorboard=false", "logger.plots=false", "trainer.batch_size=8",
            "trainer.steps=1", "trainer.steps_per_epoch=1")


def test_the_final_evaluation_takes_the_first_test_examples_in_whole_batches(run_cli) -> None:
    result = run_cli(*TINY_GAN, "trainer.test_examples=5")
    assert result.code == 0, result.err
    log = (result.run_dir / "run.log").read_text()
    assert "evaluating the final weights on the first 8 of 16 test examples (trainer.test_examples=5; null: all)" in log
    metrics = result.metrics()
    assert math.isfinite(metrics["test_d_loss"]) and math.isfinite(metrics["test_g_loss"])

