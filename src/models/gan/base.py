"""The one GAN training design every variant shares: a `keras.Model` that owns its generator,
discriminator, both optimizers and one fused, compiled `train_step`.

The book trains with `generator.predict` plus two `train_on_batch` calls on a discriminator that is
"frozen" inside an adversarial model, which Keras 3 does not support (see the spec's migration
notes). Here each step is, in one `tf.function`:

    for each of `d_steps` real batches (n_critic for WGAN):
        fakes  = G(noise, fake conditions)     # training mode, as in G's own step (`book_inference_fakes`:
                                               # inference mode, as the book's predict() was)
        D step on (real, real conditions) and (fakes, fake conditions)   [+ weight clipping]
    G step on fresh noise and conditions through D               # only G's variables move

A variant changes only what differs: the conditions it samples (labels, codes), how D is called,
and the two losses (`discriminator_losses`, `generator_losses`). Real batches arrive from the fit
trainer as `x` or `(x, one-hot labels)`; `d_steps` real batches come concatenated in one
pipeline batch, so the stream stays one seeded permutation per "epoch" (= grid interval).

Exact resume: the fixed grid noise and the sampling RNG state are variables of the model, the two
optimizers are saved with it, and G's optimizer step counter is the training step; a `.keras`
checkpoint therefore holds everything a resumed run needs.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from adl_runner.kernel.custom_step import CustomStepModel, ScaledOptimizers, loss_scaled, minimize, scaled_optimizer
from adl_runner.kernel.keras_state import is_seed_key, restore_seed_states, seed_states

GRID_SIZE = 16
"""The book's sample grids: 16 images, 4 x 4 (Pattanayak's MLP GAN: 36, 6 x 6)."""
CODE_STDDEV = 0.5
"""InfoGAN codes and StackedGAN noise are N(0, 0.5) in the book's scripts."""


class AdversarialModel(CustomStepModel):
    """What every adversarial model here shares, whatever its networks (one G and D, or CycleGAN's
    two of each): named loss trackers, fixed grid inputs saved as weights, optimizers restored by
    `compile_from_config`, and RNG states saved in checkpoints, so that a resumed run is exact."""

    def __init__(self, tracked: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in tracked}

    def fixed_input(self, name: str, values: np.ndarray) -> keras.Variable:
        """A non-trainable weight holding `values`: saved with every checkpoint, so the progress
        grids of a resumed run continue the same sequence."""
        return self.add_weight(shape=values.shape, initializer=keras.initializers.Constant(values),
                               trainable=False, name=f"grid_{name}")

    def _record(self, logs: dict[str, Any]) -> dict[str, Any]:
        for name, tracker in self.trackers.items():
            tracker.update_state(logs[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    networks: tuple[str, ...] = ()
    """Attribute names of the sub-networks, which are also the constructor's keyword names."""

    def settings(self) -> dict[str, Any]:
        """The constructor's other keyword arguments, as saved in the model's config."""
        return {}

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            **{key: keras.saving.serialize_keras_object(getattr(self, key)) for key in self.networks},
            **self.settings(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> AdversarialModel:
        config = dict(config)
        nets = {key: keras.saving.deserialize_keras_object(config.pop(key), custom_objects=custom_objects)
                for key in cls.networks}
        return cls(**nets, **config)

    def compile_from_config(self, config: dict[str, Any]) -> None:
        # `get_compile_config` holds the serialized optimizers: loading rebuilds them (and their
        # slots) before the checkpoint's optimizer variables are restored.
        self.compile(**keras.saving.deserialize_keras_object(config))

    def save_own_variables(self, store: Any) -> None:
        # Keras saves weights but not SeedGenerator states; without them a resumed run would draw
        # the noise (and dropout masks) of step 0 again. The runner's checkpoints also store them
        # for every model (`adl_runner.kernel.keras_state.save_model`); keeping them here too makes any
        # `model.save` of a GAN complete, and loads the checkpoints written before that.
        super().save_own_variables(store)
        for key, state in seed_states(self).items():
            store[key] = state

    def load_own_variables(self, store: Any) -> None:
        restore_seed_states(self, {key: store[key] for key in store.keys() if is_seed_key(key)})
        super().load_own_variables({key: store[key] for key in store.keys() if not is_seed_key(key)})


class GAN(AdversarialModel):
    """Base of every image GAN here. Subclasses set `tracked` and implement the two loss methods.

    Generator inputs are named: `z` first, then the conditions (`labels`, `code1`, ...) in the
    order the generator takes them; `condition_names` lists them.
    """

    tracked: tuple[str, ...] = ("d_loss", "g_loss")
    """Names of the losses a step reports (epoch means in history.csv)."""
    accuracies: tuple[str, ...] = ("d_acc", "d_real_acc", "d_fake_acc", "g_acc")
    """The book's logged accuracies of D's real/fake output, reported beside `tracked`: D's on
    real and on fake images and their mean (the book's `acc` of D's concatenated batch), and the
    adversarial `acc` (the share of G's fakes that D takes for real)."""
    source_threshold: float = 0.5
    """D's real/fake output above this is 'real' (Keras' binary accuracy on a sigmoid output);
    0.0 where D's output is a logit or a critic score."""
    networks: tuple[str, ...] = ("generator", "discriminator")
    """Constructor arguments that are Keras models: serialized in `get_config`, rebuilt in `from_config`."""

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        noise: str = "uniform",
        d_steps: int = 1,
        clip_value: float = 0.0,
        signed_images: bool = False,
        g_lr_scale: float = 0.5,
        inference_fakes: bool = False,
        book_batch_norm: bool = False,
        book_log: bool = False,
        grid_size: int = GRID_SIZE,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(self.tracked + self.accuracies, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.noise = noise
        self.d_steps = int(d_steps)
        self.clip_value = float(clip_value)
        self.signed_images = bool(signed_images)
        self.g_lr_scale = float(g_lr_scale)
        self.inference_fakes = bool(inference_fakes)
        self.book_batch_norm = bool(book_batch_norm)
        self.book_log = bool(book_log)
        self.grid_size = int(grid_size)
        self.seed = int(seed)
        self.rng = keras.random.SeedGenerator(seed, name="sampling_rng")
        # The fixed inputs of the progress grids: drawn once, saved with every checkpoint.
        self.grid_inputs = [self.fixed_input(name, values) for name, values in self.initial_grid_inputs().items()]
        self.built = True

    # -- shapes ----------------------------------------------------------------------------------
    @property
    def input_names(self) -> list[str]:
        return [t.name.split(":")[0] for t in self.generator.inputs]

    @property
    def condition_names(self) -> list[str]:
        """Every generator input but the noise `z` (StackedGAN's generator has no `z`, only z0/z1 codes)."""
        return [name for name in self.input_names if name != "z"]

    def input_dim(self, name: str) -> int:
        return int(self.generator.inputs[self.input_names.index(name)].shape[-1])

    @property
    def latent_dim(self) -> int:
        return self.input_dim("z")

    @property
    def num_labels(self) -> int:
        return self.input_dim("labels") if "labels" in self.input_names else 0

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.generator.outputs[0].shape[1:])

    # -- sampling --------------------------------------------------------------------------------
    def sample_noise(self, batch: int) -> Any:
        if self.noise == "uniform":
            return keras.random.uniform((batch, self.latent_dim), -1.0, 1.0, seed=self.rng)
        return keras.random.normal((batch, self.latent_dim), stddev=CODE_STDDEV, seed=self.rng)

    def random_labels(self, batch: int) -> Any:
        return ops.one_hot(keras.random.randint((batch,), 0, self.num_labels, seed=self.rng), self.num_labels)

    def fake_conditions(self, batch: int) -> dict[str, Any]:
        """Conditions for generated images: random one-hot labels and N(0, 0.5) codes, as the book."""
        conditions: dict[str, Any] = {}
        for name in self.condition_names:
            if name == "labels":
                conditions[name] = self.random_labels(batch)
            else:
                conditions[name] = keras.random.normal((batch, self.input_dim(name)), stddev=CODE_STDDEV, seed=self.rng)
        return conditions

    def real_conditions(self, labels: Any, batch: int) -> dict[str, Any]:
        """Conditions paired with real images: their labels; codes (InfoGAN) are drawn at random, as the book does."""
        conditions = self.fake_conditions(batch)
        if "labels" in conditions:
            conditions["labels"] = labels
        return conditions

    def generate(self, z: Any, conditions: dict[str, Any], training: bool = False) -> Any:
        inputs = [z] + [conditions[name] for name in self.condition_names]
        return self.generator(inputs if len(inputs) > 1 else z, training=training)

    def initial_grid_inputs(self) -> dict[str, np.ndarray]:
        """Fixed noise (and labels 0..9, 0..5 and N(0, 0.5) codes) of the progress grids, in the
        generator's input order."""
        rng = np.random.default_rng(self.seed)
        n = self.grid_size
        values: dict[str, np.ndarray] = {}
        for name in self.input_names:
            if name == "z":
                values[name] = (rng.uniform(-1.0, 1.0, (n, self.latent_dim)) if self.noise == "uniform"
                                else rng.normal(0.0, CODE_STDDEV, (n, self.latent_dim)))
            elif name == "labels":
                values[name] = np.eye(self.num_labels)[np.arange(n) % self.num_labels]
            else:
                values[name] = rng.normal(0.0, CODE_STDDEV, (n, self.input_dim(name)))
        return {k: v.astype(np.float32) for k, v in values.items()}

    def grid_images(self) -> np.ndarray:
        """The fixed grid inputs through the generator, in [0, 1]."""
        inputs = list(self.grid_inputs)  # saved in the generator's input order
        return self.to_unit(self.generator(inputs if len(inputs) > 1 else inputs[0], training=False))

    def to_unit(self, images: Any) -> np.ndarray:
        """Generator output -> numpy images in [0, 1], shaped (N, H, W, C) or (N, 28, 28, 1) for flat MNIST."""
        images = np.asarray(keras.ops.convert_to_numpy(images), dtype=np.float32)
        if self.signed_images:
            images = (images + 1.0) / 2.0
        if images.ndim == 2:
            side = int(math.isqrt(images.shape[-1]))
            images = images.reshape(-1, side, side, 1)
        return images

    # -- the step --------------------------------------------------------------------------------
    @property
    def g_variables(self) -> list[Any]:
        """What the model's `optimizer` (whose step counter is the training step) trains."""
        return self.generator.trainable_variables

    @property
    def d_variables(self) -> list[Any]:
        """What `d_optimizer` trains."""
        return self.discriminator.trainable_variables

    def discriminate(self, images: Any, conditions: dict[str, Any], training: bool = True) -> Any:
        """D's outputs for `images`; CGAN overrides this to pass the labels in."""
        return self.discriminator(images, training=training)

    def discriminator_losses(self, real_out: Any, fake_out: Any, real: dict, fake: dict) -> dict[str, Any]:
        """{'d_loss': total, ...parts} for one discriminator update."""
        raise NotImplementedError

    def generator_losses(self, fake_out: Any, fake: dict) -> dict[str, Any]:
        """{'g_loss': total, ...parts} for one generator update (D does not move)."""
        raise NotImplementedError

    def discriminate_pair(self, real_images: Any, real: dict, fake_images: Any, fake: dict, training: bool = True) -> tuple[Any, Any]:
        """D's outputs on the real and the fake half. Under `book_batch_norm` D sees both as one
        concatenated batch, as the book's `train_on_batch([real; fake])`: its BatchNorm statistics
        are then those of the mixed batch (otherwise of each half, which no loss here can tell
        apart when D has no BatchNorm)."""
        if not self.book_batch_norm:
            return self.discriminate(real_images, real, training), self.discriminate(fake_images, fake, training)
        n = ops.shape(real_images)[0]
        both = {name: ops.concatenate([real[name], fake[name]], axis=0) for name in real}
        out = self.discriminate(ops.concatenate([real_images, fake_images], axis=0), both, training)
        return keras.tree.map_structure(lambda t: t[:n], out), keras.tree.map_structure(lambda t: t[n:], out)

    def update_discriminator(self, real_images: Any, real: dict, fake_images: Any, fake: dict) -> dict[str, Any]:
        """One D update on the real and fake halves together (the book's concatenated batch)."""
        variables = self.d_variables
        with tf.GradientTape() as tape:
            real_out, fake_out = self.discriminate_pair(real_images, real, fake_images, fake)
            losses = self.discriminator_losses(real_out, fake_out, real, fake)
        minimize(self.d_optimizer, tape, losses["d_loss"], variables)
        return {**losses, **self.discriminator_accuracies(real_out, fake_out)}

    def judged_real(self, outputs: Any) -> Any:
        """The share of a batch D's real/fake output (the first, where D has several) calls real."""
        source = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        return ops.mean(ops.cast(source > self.source_threshold, "float32"))

    def discriminator_accuracies(self, real_out: Any, fake_out: Any) -> dict[str, Any]:
        real_acc, fake_acc = self.judged_real(real_out), 1.0 - self.judged_real(fake_out)
        return {"d_acc": (real_acc + fake_acc) / 2.0, "d_real_acc": real_acc, "d_fake_acc": fake_acc}

    def clip_discriminator(self) -> None:
        # The book clips `layer.get_weights()`, BatchNorm's moving statistics included.
        weights = self.discriminator.weights if self.book_batch_norm else self.discriminator.trainable_variables
        for variable in weights:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))

    def train_step(self, data: Any) -> dict[str, Any]:
        images, labels = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        if self.signed_images:
            images = images * 2.0 - 1.0
        if labels is not None:
            labels = ops.cast(labels, images.dtype)
        batch = images.shape[0] // self.d_steps if images.shape[0] is not None else None
        if batch is None:
            raise ValueError("GAN training needs a static batch size (the pipeline drops the last short batch)")
        d_logs: dict[str, Any] = {}
        for i in range(self.d_steps):  # unrolled: d_steps is a small constant (1, or WGAN's 5)
            real_images = images[i * batch:(i + 1) * batch]
            real = self.real_conditions(None if labels is None else labels[i * batch:(i + 1) * batch], batch)
            fake = self.fake_conditions(batch)
            fake_images = self.generate(self.sample_noise(batch), fake, training=not self.inference_fakes)
            losses = self.update_discriminator(real_images, real, fake_images, fake)
            if self.clip_value > 0:
                self.clip_discriminator()
            for name, value in losses.items():
                d_logs[name] = d_logs.get(name, 0.0) + value / self.d_steps
        fake = self.fake_conditions(batch)
        z = self.sample_noise(batch)
        variables = self.g_variables
        with tf.GradientTape() as tape:
            # The book's adversarial model held a frozen D, whose BatchNorm ran in inference mode.
            fake_out = self.discriminate(self.generate(z, fake, training=True), fake, training=not self.book_batch_norm)
            g_logs = self.generator_losses(fake_out, fake)
        minimize(self.optimizer, tape, g_logs["g_loss"], variables)
        logs = {**d_logs, **g_logs, "g_acc": self.judged_real(fake_out)}
        if self.book_log:
            self.print_book_line(logs)
        return self._record(logs)

    def print_book_line(self, logs: dict[str, Any]) -> None:
        """The book's per-step line, `i: [discriminator loss: l, acc: a] [adversarial loss: l, acc: a]`."""
        tf.print(self.optimizer.iterations - 1, ": [discriminator loss: ", logs["d_loss"], ", acc: ", logs["d_acc"],
                 "] [adversarial loss: ", logs["g_loss"], ", acc: ", logs["g_acc"], "]", sep="", output_stream=sys.stdout)

    def test_step(self, data: Any) -> dict[str, Any]:
        """Both losses on held-out real images and fresh fakes, without updates."""
        images, labels = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        if self.signed_images:
            images = images * 2.0 - 1.0
        batch = ops.shape(images)[0]
        real = self.real_conditions(None if labels is None else ops.cast(labels, images.dtype), batch)
        fake = self.fake_conditions(batch)
        fake_images = self.generate(self.sample_noise(batch), fake)
        real_out, fake_out = self.discriminate_pair(images, real, fake_images, fake, training=False)
        d_logs = {**self.discriminator_losses(real_out, fake_out, real, fake), **self.discriminator_accuracies(real_out, fake_out)}
        g_logs = self.generator_losses(fake_out, fake)
        return self._record({**d_logs, **g_logs, "g_acc": self.judged_real(fake_out)})

    def count_params(self) -> int:
        """The networks' parameters (G + D), as the book counts them; the fixed grid inputs and the
        RNG state are variables of the model but not parameters."""
        return self.generator.count_params() + self.discriminator.count_params()

    def call(self, inputs: Any, training: bool = False) -> Any:
        """The model's forward pass is the generator's."""
        return self.generator(inputs, training=training)

    # -- compile and save ------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", g_optimizer: Any = None, jit_compile: Any = "auto", **kwargs: Any) -> None:
        """`optimizer` trains D; G gets `g_optimizer`, or a copy of D's with lr (and decay) x `g_lr_scale`.
        G's optimizer is the model's `optimizer`: its step counter counts training steps. A given
        `g_optimizer` (a checkpoint's) is taken to run at `g_lr_scale` x D's rate, as the copy does."""
        d_optimizer = keras.optimizers.get(optimizer)
        g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer is not None else scaled_optimizer(d_optimizer, self.g_lr_scale)
        super().compile(optimizer=g_optimizer, jit_compile=jit_compile)
        self.d_optimizer = loss_scaled(d_optimizer)  # Keras' compile wraps only the model's own `optimizer`
        # Built now, so that every checkpoint holds their full state (and loading finds the slots).
        self.d_optimizer.build(self.d_variables)
        self.optimizer.build(self.g_variables)

    def scaled_optimizers(self) -> ScaledOptimizers:
        """D's at the configured learning rate, G's at `g_lr_scale` x it."""
        return {"discriminator": (self.d_optimizer, 1.0), "generator": (self.optimizer, self.g_lr_scale)}

    def get_compile_config(self) -> dict[str, Any]:
        return {
            "optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "jit_compile": self.jit_compile,
        }

    def settings(self) -> dict[str, Any]:
        return {
            "noise": self.noise,
            "d_steps": self.d_steps,
            "clip_value": self.clip_value,
            "signed_images": self.signed_images,
            "g_lr_scale": self.g_lr_scale,
            "inference_fakes": self.inference_fakes,
            "book_batch_norm": self.book_batch_norm,
            "book_log": self.book_log,
            "grid_size": self.grid_size,
            "seed": self.seed,
        }
