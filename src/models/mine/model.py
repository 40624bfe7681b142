"""`MINE`: a statistics network T(x, y) trained on the Donsker-Varadhan bound (Algorithm 13.7.1).

Batches are `((x, y), (x_m, y_m))`, a joint and a marginal pair (the gaussian dataset), or
`((x, y), labels)` (the `views` kind: X and G(X)), whose marginal pairs each x with the next
example's y: another image's view, as the book's shuffled G(X), except never its own. A model with
an `encoder` (MINE on MNIST) embeds x and y with it, shared weights, once per step: the joint and
the marginal pairs reuse the same embeddings, and BatchNorm sees the batch of X and the batch of
G(X) apart, as in the book's two encoder calls.

The step ascends the bound; `bias_correction` (the MINE paper, Belghazi et al. 2018, section 3.2)
replaces the batch mean of e^T in the gradient of log E[e^T] by its moving average (rate
`ma_rate`), kept as a weight, so a resumed run continues the same average. The MI of every step
is kept in the weight `mi_trace`, a ring of its last `trace_steps` values, for the per-step plot.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import layers, ops

from adl_runner.kernel.custom_step import NetworkStepModel
from adl_runner.models.metrics.mutual_information import donsker_varadhan
from adl_runner.models.mine.probe import LinearProbe


def simple_mine(input_dim: int, hidden_units: int, name: str = "statistic") -> keras.Model:
    """The book's SimpleMINE T(x, y): Dense(hidden)(x) + Dense(hidden)(y) -> ReLU -> Dense(1) (Listing 13.8.2)."""
    x, y = keras.Input((input_dim,), name="x"), keras.Input((input_dim,), name="y")
    hidden = layers.Add()([layers.Dense(hidden_units, name="dense_x")(x), layers.Dense(hidden_units, name="dense_y")(y)])
    hidden = layers.Activation("relu")(hidden)
    return keras.Model([x, y], layers.Dense(1, name="MI")(hidden), name=name)


def encoded_mine(encoder: keras.Model, statistic: keras.Model) -> keras.Model:
    """T(encoder(x), encoder(y)) as one network of two image inputs (MINE on MNIST, Listing 13.9.1)."""
    x = keras.Input(encoder.inputs[0].shape[1:], name="x")
    y = keras.Input(encoder.inputs[0].shape[1:], name="y")
    return keras.Model([x, y], statistic([encoder(x), encoder(y)]), name="mine")


@keras.saving.register_keras_serializable(package="adl_runner")
class MINE(NetworkStepModel):
    """`network` is T(x, y), or T(encoder(x), encoder(y)) holding layers named `encoder` and `statistic`."""

    def __init__(self, network: keras.Model, *, bias_correction: bool = False, ma_rate: float = 0.01,
                 trace_steps: int = 10_000, probe: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network = network
        names = {layer.name for layer in network.layers}
        self.encoder = network.get_layer("encoder") if "encoder" in names else None
        self.statistic = network.get_layer("statistic") if self.encoder is not None else network
        self.bias_correction, self.ma_rate, self.trace_steps = bool(bias_correction), float(ma_rate), int(trace_steps)
        self.probe = LinearProbe(**probe) if probe is not None else None
        """How the `mine_probe` evaluator scores the encoder's embeddings (models with an encoder)."""
        self.exp_average = self.add_weight(shape=(), initializer="ones", trainable=False, name="exp_average")
        self.mi_trace = self.add_weight(shape=(self.trace_steps,), initializer="zeros", trainable=False, name="mi_trace")
        self.trackers: dict[str, keras.metrics.Metric] = {"loss": keras.metrics.Mean(name="loss"),
                                                           "mi": keras.metrics.Mean(name="mi"),
                                                           "pairs": keras.metrics.Sum(name="pairs")}
        self([keras.KerasTensor(t.shape, name=t.name) for t in network.inputs])

    def embed(self, x: Any, training: bool = False) -> Any:
        return x if self.encoder is None else self.encoder(x, training=training)

    def statistics(self, data: Any, training: bool = False) -> tuple[Any, Any]:
        """T of the batch's joint pairs and of its marginal pairs (see the module docstring)."""
        (x, y), second = data
        zx, zy = self.embed(x, training), self.embed(y, training)
        if isinstance(second, (tuple, list)):
            mx, my = self.embed(second[0], training), self.embed(second[1], training)
        else:
            mx, my = zx, ops.roll(zy, 1, axis=0)
        return self.statistic([zx, zy], training=training), self.statistic([mx, my], training=training)

    # -- training ----------------------------------------------------------------------------------
    def train_step(self, data: Any) -> dict[str, Any]:
        with tf.GradientTape() as tape:
            t_joint, t_marginal = self.statistics(data, training=True)
            mi = donsker_varadhan(t_joint, t_marginal)
            objective = mi
            if self.bias_correction:
                batch_mean = ops.stop_gradient(ops.mean(ops.exp(t_marginal)))
                average = (1.0 - self.ma_rate) * self.exp_average + self.ma_rate * batch_mean
                self.exp_average.assign(average)
                # d/dθ of this is E_joint[∇T] - E_marg[e^T ∇T] / average: the corrected gradient.
                objective = ops.mean(t_joint) - ops.mean(ops.exp(t_marginal)) / average
            loss = -objective
        weights = self.network.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        slot = ops.reshape(ops.mod(self.optimizer.iterations - 1, self.trace_steps), (1, 1))
        self.mi_trace.assign(ops.scatter_update(self.mi_trace, slot, ops.reshape(mi, (1,))))
        return self._record(mi)

    def test_step(self, data: Any) -> dict[str, Any]:
        """The bound on a split's pairs, and how many pairs it saw: evaluation batches of single
        images (`views`: (x, labels)) hold none, and report `pairs` 0 only."""
        if not isinstance(data[0], (tuple, list)):
            return {"pairs": self.trackers["pairs"].result()}
        return self._record(donsker_varadhan(*self.statistics(data)), pairs=ops.shape(data[0][0])[0])

    def _record(self, mi: Any, pairs: Any = None) -> dict[str, Any]:
        self.trackers["loss"].update_state(-mi)
        self.trackers["mi"].update_state(mi)
        logs = {"loss": self.trackers["loss"].result(), "mi": self.trackers["mi"].result()}
        if pairs is not None:
            self.trackers["pairs"].update_state(ops.cast(pairs, "float32"))
            logs["pairs"] = self.trackers["pairs"].result()
        return logs

    def trace(self) -> tuple[Any, Any]:
        """(steps, MI) of the last `trace_steps` training steps, in step order (1-based steps)."""
        done = int(self.optimizer.iterations.numpy()) if self.optimizer is not None else 0
        values = self.mi_trace.numpy()
        first = max(1, done - self.trace_steps + 1)
        steps = list(range(first, done + 1))
        return steps, [float(values[(s - 1) % self.trace_steps]) for s in steps]

    # -- saving ------------------------------------------------------------------------------------
    def step_config(self) -> dict[str, Any]:
        return {"bias_correction": self.bias_correction, "ma_rate": self.ma_rate, "trace_steps": self.trace_steps,
                "probe": self.probe.config() if self.probe is not None else None}
