"""trainer.strategy and trainer.precision: a mirrored step on the two logical CPUs of the test
session (tests/conftest.py) gives the weights of a one-device step on the same global batch, for
Keras' own step and for a custom step with two optimizers; mixed precision keeps outputs float32,
loss-scales every optimizer of a custom step, and a mixed run trains and resumes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_runner.kernel.custom_step import CustomStepModel, minimize, scaled_optimizers
from adl_runner.kernel.registry import MODELS
from adl_runner.kernel.specs import BuildContext
from adl_runner.models.gan import dcgan  # noqa: F401  (registers it)
from adl_runner.runner import distribute
from adl_runner.runner.distribute import float32_outputs, replica_devices, training_scope
from adl_runner.runner.schema import TrainerConfig

TOLERANCE = 1e-5
"""Largest absolute weight difference between a mirrored and a one-device run (float32 sums in another order)."""
BATCH = 8


class TwoHeads(CustomStepModel):
    """A custom step with two optimizers, each training one network on its own loss, as a GAN's D and
    G do; `naive` applies the gradients as Keras 2 code did, without `minimize`."""

    def __init__(self, naive: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.naive = naive
        self.first = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
        self.second = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        self.tracker = keras.metrics.Mean(name="loss")

    def call(self, x):
        return self.first(x) + self.second(x)

    def compile(self, optimizer):
        super().compile(optimizer=optimizer)
        self.second_optimizer = keras.optimizers.SGD(0.1)
        self.optimizer.build(self.first.trainable_variables)
        self.second_optimizer.build(self.second.trainable_variables)

    @property
    def metrics(self):
        return [self.tracker]

    def scaled_optimizers(self):
        return {"first": (self.optimizer, 1.0), "second": (self.second_optimizer, 1.0)}

    def train_step(self, data):
        x, y = data
        for optimizer, network in ((self.optimizer, self.first), (self.second_optimizer, self.second)):
            variables = network.trainable_variables
            with tf.GradientTape() as tape:
                loss = keras.ops.mean((network(x) - y) ** 2)
            if self.naive:
                optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            else:
                minimize(optimizer, tape, loss, variables)
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}


def _data() -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1)) + 0.1).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True)


def _keras_step() -> keras.Model:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse")
    return model


def _custom_step(naive: bool = False) -> keras.Model:
    model = TwoHeads(naive)
    model.compile(keras.optimizers.SGD(0.05))
    return model


def _trained(strategy: str, build) -> list[np.ndarray]:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    with training_scope(TrainerConfig(strategy=strategy, batch_size=BATCH)):
        model = build()
        model.fit(_data(), epochs=1, verbose=0)
    return [np.asarray(w) for w in model.weights]


def _largest_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def test_the_session_has_two_logical_cpus():
    assert len(replica_devices()) == 2


@pytest.mark.parametrize("build", [_keras_step, _custom_step], ids=["keras_step", "custom_step"])
def test_mirrored_matches_one_device_on_the_same_global_batch(build):
    assert _largest_difference(_trained("mirrored", build), _trained("none", build)) < TOLERANCE


def test_a_custom_step_without_minimize_does_not_match():
    """The test above can fail: summing the replicas' gradients of their mean losses doubles the step."""
    naive = _trained("mirrored", lambda: _custom_step(naive=True))
    assert _largest_difference(naive, _trained("none", _custom_step)) > 100 * TOLERANCE


def test_mirrored_on_one_device_warns_and_runs_on_it(monkeypatch, caplog):
    monkeypatch.setattr(distribute, "replica_devices", lambda: ["/device:CPU:0"])
    with caplog.at_level("WARNING", logger="runner"):
        strategy = distribute.strategy_for(TrainerConfig(strategy="mirrored"))
    assert strategy.num_replicas_in_sync == 1
    assert [r.message for r in caplog.records] == [
        "trainer.strategy=mirrored: one device (/device:CPU:0), nothing to mirror over; training on it as with "
        "trainer.strategy=none"]


def test_mixed_precision_keeps_outputs_float32_and_loss_scales_every_optimizer():
    entry = MODELS.get("dcgan")
    with training_scope(TrainerConfig(precision="mixed_float16")):
        model = entry.build(entry.spec.options(), BuildContext(0, (8, 8, 1), 10))
        float32_outputs(model)
        model.compile(optimizer=keras.optimizers.RMSprop(2e-4))
        images = model.generator(np.zeros((2, model.latent_dim), "float32"))
        assert images.dtype == "float32"
        assert model.discriminator(images).dtype == "float32"
        assert model.generator.layers[1].compute_dtype == "float16"  # the layers inside stay mixed
        assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        # the runner's learning-rate control sets the optimizers inside the wrappers
        assert not any(isinstance(o, keras.optimizers.LossScaleOptimizer) for o, _ in scaled_optimizers(model).values())
    assert keras.config.dtype_policy().name == "float32"  # restored on leaving the scope


# float16 kernels are slow on a CPU (the MLP's smoke run took 37 s in mixed_float16), bfloat16 ones less so;
# CI covers mixed precision with the build test above.
@pytest.mark.slow  # two MLP smoke runs in a mixed policy: 24-56 s on the shared 2 cores
@pytest.mark.parametrize("precision, strategy", [("mixed_bfloat16", "none"), ("mixed_float16", "mirrored")])
def test_a_mixed_run_trains_and_resumes(run_cli, precision, strategy):
    args = ("model=mlp", "debug=smoke", f"trainer.precision={precision}", f"trainer.strategy={strategy}")
    first = run_cli(*args)
    assert first.code == 0, first.err
    assert first.metrics()["epochs_completed"] == 1
    second = run_cli(*args, "trainer.epochs=2")
    assert second.code == 0, second.err
    metrics = second.metrics()
    assert metrics["resumed_from_epoch"] == 1 and metrics["epochs_completed"] == 2
    assert np.isfinite(metrics["test_loss"])

    from adl_runner.runner.tasks.common import load_checkpoint
    with training_scope(TrainerConfig(precision=precision)):
        model = load_checkpoint(second.run_dir / "checkpoints" / "last.keras")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    assert model.layers[-1].compute_dtype == "float32"
    assert model.layers[0].compute_dtype == precision.removeprefix("mixed_")


def test_resuming_in_another_precision_is_refused(run_cli):
    assert run_cli("model=mlp", "debug=smoke").code == 0
    run_cli("model=mlp", "debug=smoke", "trainer.epochs=2", "trainer.precision=mixed_bfloat16").assert_error(
        "different trainer.precision config", "float32 (the run) vs mixed_bfloat16 (this command)")


@pytest.mark.parametrize("args, fragments", [
    (("trainer.precision=float16",), ("trainer.precision must be float32, mixed_float16 or mixed_bfloat16",)),
    (("trainer.strategy=multi_worker",), ("keras-team/keras#20585", "keras.distribution", "launcher")),
    (("trainer.strategy=mirrored", "trainer.batch_size=33"), ("trainer.batch_size=33", "2 replicas")),
])
def test_bad_strategy_and_precision(run_cli, args, fragments):
    run_cli("model=mlp", "debug=smoke", *args).assert_error(*fragments, no_run_dir=True)


def test_an_episode_loop_model_refuses_them(run_cli):
    run_cli("model=dqn", "env=cartpole", "trainer.strategy=mirrored").assert_error(
        "trainer.strategy=mirrored applies to the fit loop's models", "model 'dqn'", no_run_dir=True)


@pytest.mark.slow
@pytest.mark.parametrize("model, budget, unit", [("dcgan", "trainer.caps.steps", "steps"), ("vae_mlp", "trainer.epochs", "epochs")])
def test_custom_step_families_train_and_resume_mirrored(run_cli, model, budget, unit):
    """A GAN (step budget) and a VAE (epochs), their own steps and optimizers, build, train, save and
    resume under mirrored."""
    args = (f"model={model}", "debug=smoke", "trainer.strategy=mirrored")
    first = run_cli(*args, f"{budget}=1")
    assert first.code == 0, first.err
    second = run_cli(*args, f"{budget}=2")
    assert second.code == 0, second.err
    metrics = second.metrics()
    assert metrics[f"{unit}_completed"] == 2 and metrics["resumed_from_epoch"] is not None
