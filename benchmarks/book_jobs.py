"""The book's own scripts, as plain Keras 3, for `whole_job`: what `run model=<x>` is compared with.

    python benchmarks/book_jobs.py mlp   --data-dir DIR [--epochs 20] [--train-limit N] [--test-limit N]
    python benchmarks/book_jobs.py cnn   --data-dir DIR [--epochs 10] ...
    python benchmarks/book_jobs.py dcgan --data-dir DIR --steps 200 --save-interval 100 --out DIR
    python benchmarks/book_jobs.py dqn   --episodes 20

Each does what the listing's script does, no more: `mlp` is Listing 1.3.2 (mlp-mnist-1.3.2.py) and
`cnn` Listing 1.4.1: MNIST from the same mnist.npz the runner reads, `fit` on the arrays with the
default progress output and no validation, `evaluate` on the test set, print the accuracy.
`dcgan` is Listings 4.2.1-4.2.3's loop: `generator.predict` + `discriminator.train_on_batch` +
`adversarial.train_on_batch` per step, a 4x4 grid of samples every `save_interval` steps, the
generator saved at the end, the book's log line printed every step. `dqn` is Listing 9.6.1: `predict`
per action and per replayed sample, one `fit` per replay, a replay per episode, a target copy every
10 replays, the mean score every 100 episodes, the network saved (and training ended) once solved.
No runner code is imported, so the process costs what the book's script costs. Each job function
returns its training losses, for the test that checks these scripts train.
"""

from __future__ import annotations

import argparse
import os
import random
from collections import deque
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_mnist(data_dir: Path, train_limit: int | None, test_limit: int | None):
    with np.load(data_dir / "mnist" / "mnist.npz", allow_pickle=False) as z:
        x_train, y_train, x_test, y_test = z["x_train"], z["y_train"], z["x_test"], z["y_test"]
    return x_train[:train_limit], y_train[:train_limit], x_test[:test_limit], y_test[:test_limit]


def classifier(kind: str, args: argparse.Namespace) -> list[float]:
    """Listing 1.3.2 (`mlp`) or 1.4.1 (`cnn`); returns the training loss of each epoch."""
    import keras
    from keras import layers

    x_train, y_train, x_test, y_test = load_mnist(args.data_dir, args.train_limit, args.test_limit)
    shape = (-1, 784) if kind == "mlp" else (-1, 28, 28, 1)
    x_train = np.reshape(x_train, shape).astype("float32") / 255
    x_test = np.reshape(x_test, shape).astype("float32") / 255
    y_train, y_test = keras.utils.to_categorical(y_train), keras.utils.to_categorical(y_test)
    if kind == "mlp":
        stack = [keras.Input((784,)), layers.Dense(256), layers.Activation("relu"), layers.Dropout(0.45),
                 layers.Dense(256), layers.Activation("relu"), layers.Dropout(0.45)]
    else:
        stack = [keras.Input((28, 28, 1)), layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                 layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                 layers.Conv2D(64, 3, activation="relu"), layers.Flatten(), layers.Dropout(0.2)]
    model = keras.Sequential([*stack, layers.Dense(10), layers.Activation("softmax")])
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=128)
    _, acc = model.evaluate(x_test, y_test, batch_size=128)
    print(f"Test accuracy: {100.0 * acc:.1f}%")
    return history.history["loss"]


def dcgan(args: argparse.Namespace) -> list[tuple[float, float]]:
    """Listings 4.2.1-4.2.3: the book's G and D, RMSprop with Keras 2's decay, the predict/train_on_batch loop;
    returns (discriminator loss, adversarial loss) of each step."""
    import keras
    from keras import layers

    x_train, *_ = load_mnist(args.data_dir, args.train_limit, 0)
    x_train = np.reshape(x_train, (-1, 28, 28, 1)).astype("float32") / 255
    latent, batch = 100, 64

    z_in = keras.Input((latent,))
    x = layers.Reshape((7, 7, 128))(layers.Dense(7 * 7 * 128)(z_in))
    for filters, strides in ((128, 2), (64, 2), (32, 1), (1, 1)):
        x = layers.Activation("relu")(layers.BatchNormalization()(x))
        x = layers.Conv2DTranspose(filters, 5, strides=strides, padding="same")(x)
    generator = keras.Model(z_in, layers.Activation("sigmoid")(x), name="generator")
    image = keras.Input((28, 28, 1))
    x = image
    for filters, strides in ((32, 2), (64, 2), (128, 2), (256, 1)):
        x = layers.Conv2D(filters, 5, strides=strides, padding="same")(layers.LeakyReLU(0.2)(x))
    discriminator = keras.Model(image, layers.Activation("sigmoid")(layers.Dense(1)(layers.Flatten()(x))))

    def rmsprop(lr: float, decay: float) -> keras.optimizers.Optimizer:  # Keras 2's lr / (1 + decay * step)
        return keras.optimizers.RMSprop(keras.optimizers.schedules.InverseTimeDecay(lr, 1, decay))

    discriminator.compile(loss="binary_crossentropy", optimizer=rmsprop(2e-4, 6e-8), metrics=["accuracy"])
    adversarial = keras.Model(z_in, discriminator(generator(z_in)))
    adversarial.compile(loss="binary_crossentropy", optimizer=rmsprop(1e-4, 3e-8), metrics=["accuracy"])
    out = Path(args.out)
    noise_input = np.random.uniform(-1.0, 1.0, (16, latent))
    y = np.concatenate([np.ones((batch, 1)), np.zeros((batch, 1))])
    losses = []
    for i in range(args.steps):
        real = x_train[np.random.randint(0, len(x_train), batch)]
        fake = generator.predict(np.random.uniform(-1.0, 1.0, (batch, latent)), verbose=0)
        d_loss, d_acc = discriminator.train_on_batch(np.concatenate([real, fake]), y)
        if i == 0:
            # Keras 3 reads trainable flags when a model's train function is traced, at its first
            # call: freezing D before its own first call (the book's order) would stop D learning.
            discriminator.trainable = False
        a_loss, a_acc = adversarial.train_on_batch(np.random.uniform(-1.0, 1.0, (batch, latent)), np.ones((batch, 1)))
        print(f"{i}: [discriminator loss: {d_loss:f}, acc: {d_acc:f}] [adversarial loss: {a_loss:f}, acc: {a_acc:f}]")
        losses.append((float(d_loss), float(a_loss)))
        if (i + 1) % args.save_interval == 0:
            _save_grid(generator.predict(noise_input, verbose=0), out / f"{i + 1:05d}.png")
    generator.save(out / "dcgan_mnist.keras")
    return losses


def _save_grid(images: np.ndarray, path: Path) -> None:
    """The book's plot_images: a 4x4 grid of samples saved as a figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure(figsize=(2.2, 2.2))
    for i, image in enumerate(images):
        plt.subplot(4, 4, i + 1)
        plt.imshow(image[:, :, 0], cmap="gray")
        plt.axis("off")
    plt.savefig(path)
    plt.close("all")


def dqn(args: argparse.Namespace) -> list[float]:
    """Listing 9.6.1 on CartPole-v0 for a fixed number of episodes (fewer once solved); returns the loss of each replay."""
    import gymnasium as gym
    import keras

    env = gym.make("CartPole-v0")
    gamma, batch, epsilon, epsilon_min = 0.9, 64, 1.0, 0.1
    epsilon_decay = (epsilon_min / epsilon) ** (1.0 / 500)

    def q_network() -> keras.Model:
        inputs = keras.Input((4,))
        x = inputs
        for _ in range(3):
            x = keras.layers.Dense(256, activation="relu")(x)
        return keras.Model(inputs, keras.layers.Dense(2, name="action")(x))

    q, target = q_network(), q_network()
    q.compile(loss="mse", optimizer=keras.optimizers.Adam())
    target.set_weights(q.get_weights())
    memory: list = []
    replays, losses, scores = 0, [], deque(maxlen=100)
    state, _ = env.reset(seed=0)
    for episode in range(args.episodes):
        state = np.reshape(env.reset()[0], (1, 4))
        done, total = False, 0.0
        while not done:
            if np.random.rand() < epsilon:
                action = env.action_space.sample()
            else:
                action = int(np.argmax(q.predict(state, verbose=0)[0]))
            nxt, reward, terminated, truncated, _ = env.step(action)
            nxt = np.reshape(nxt, (1, 4))
            done = terminated or truncated
            memory.append((state, action, reward, nxt, done))
            state, total = nxt, total + reward
        if len(memory) >= batch:
            states, targets = [], []
            for s, a, r, s2, d in random.sample(memory, batch):
                q_values = q.predict(s, verbose=0)
                q_values[0][a] = r if d else r + gamma * np.amax(target.predict(s2, verbose=0)[0])
                states.append(s[0])
                targets.append(q_values[0])
            history = q.fit(np.array(states), np.array(targets), batch_size=batch, epochs=1, verbose=0)
            losses.append(history.history["loss"][0])
            epsilon = max(epsilon * epsilon_decay, epsilon_min)
            if replays % 10 == 0:
                target.set_weights(q.get_weights())
            replays += 1
        scores.append(total)
        mean_score = float(np.mean(scores))
        if mean_score >= 195.0 and episode >= 100:
            print(f"Solved in episode {episode}: mean survival = {mean_score:0.2f} in 100 episodes")
            q.save(Path(args.out) / "dqn_cartpole.keras")
            break
        if (episode + 1) % 100 == 0:
            print(f"Episode {episode + 1}: mean survival = {mean_score:0.2f} in 100 episodes")
    return losses


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("job", choices=("mlp", "cnn", "dcgan", "dqn"))
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--train-limit", type=int, default=None)
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--save-interval", type=int, default=100)
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--out", type=Path, default=Path("."))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.job in ("mlp", "cnn"):
        args.epochs = args.epochs or {"mlp": 20, "cnn": 10}[args.job]
        classifier(args.job, args)
    elif args.job == "dcgan":
        dcgan(args)
    else:
        dqn(args)


if __name__ == "__main__":
    main()
