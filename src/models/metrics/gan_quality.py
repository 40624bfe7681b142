"""Offline quality numbers for generated MNIST digits: MNIST-FID and label-control accuracy.

The book gives no numbers for its GANs. These come from a small CNN classifier (the "judge"),
trained once on real MNIST and cached in the user's cache folder (never the data dir, which may be
shared or read-only; see `adl_runner.kernel.cachedir`):

- **MNIST-FID**: the Fréchet distance between Gaussians fitted to the judge's penultimate-layer
  features (128-dim, after ReLU) of generated digits and of the 10,000 real MNIST test digits. It
  is *not* the Inception FID of the literature (other network, other features, other scale):
  compare MNIST-FIDs only with MNIST-FIDs of this judge version, computed on the same number of
  images (the estimate is biased upwards for small samples).
- **label-control accuracy**: the share of generated digits that the judge assigns to the label
  the generator was asked for (CGAN, ACGAN, InfoGAN after code matching, StackedGAN).

Images: float in [0, 1] (what the book's sigmoid generators and the runner's pipeline give) or
uint8 in 0..255; shapes (N, 28, 28, 1), (N, 28, 28) or (N, 784), and (N, 32, 32, 1) for
zero-padded MNIST (mnist32, CycleGAN), which is cropped to its centre 28x28. Values outside
[0, 1] (say a tanh generator's [-1, 1]) are refused rather than silently misjudged.

The cache, under `<user cache dir>/judges/` (or `cache_dir`):
    mnist_cnn.keras       the classifier, loaded with safe_mode=True
    mnist_cnn_stats.npz   mean and covariance of the real test features
    mnist_cnn.json        the stamp, written last: judge version, recipe, seed, sha256 of the MNIST
                          file it was trained on and of the two files above, test accuracy
A cache whose stamp does not match (another version, recipe, seed or MNIST file; a changed or
unreadable model or stats file) is retrained, never trusted. Every file is written atomically and
a lock file keeps concurrent runs from training the judge twice.

Training the judge is not a runner phase (`kernel.phases`): it belongs to no run dir but to a cache
shared by every run. It logs one line per epoch and a NaN/Inf loss ends it
with one error before anything is cached; a killed training leaves no stamp, so the next run that
needs the judge trains it again from the start rather than resuming it.

Training never touches the global random state (seeded layers and a private shuffle), so a GAN run
that trains the judge consumes the same random numbers as one that finds it cached: exact resume
does not depend on the cache.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import scipy.linalg

from adl_runner.data.splits import NoOptions
from adl_runner.data.store import DataStore, file_digest
from adl_runner.data.vision import load_mnist
from adl_runner.kernel.cachedir import user_cache_dir
from adl_runner.kernel.errors import DataError
from adl_runner.kernel.files import pid_lock, write_atomic
from adl_runner.kernel.provenance import run_info
from adl_runner.models.metrics import matching

log = logging.getLogger(__name__)

JUDGE_VERSION = 1
"""Bump when the network or the training code changes: every older cache is then retrained."""
MODEL_FILE, STATS_FILE, STAMP_FILE, LOCK_FILE = "mnist_cnn.keras", "mnist_cnn_stats.npz", "mnist_cnn.json", ".mnist_cnn.lock"
FEATURE_LAYER = "judge_features"
_PREDICT_BATCH = 500


@dataclass(frozen=True)
class JudgeRecipe:
    """How the judge is trained. Part of the cache stamp: another recipe means another judge."""

    epochs: int = 8
    """Passes over the training images (8 give about 99.2 % test accuracy on real MNIST)."""
    batch_size: int = 128
    """Training batch size."""
    learning_rate: float = 1e-3
    """Adam's learning rate."""
    train_limit: int | None = None
    """Train on the first N training images only (None: all 60,000); tests use a few hundred."""


class MnistJudge:
    """The cached MNIST classifier and what it measures: features, labels, reference statistics."""

    def __init__(self, model: keras.Model, stamp: dict[str, Any], cache_dir: Path, mu: np.ndarray, cov: np.ndarray) -> None:
        self.model = model
        self.stamp = stamp
        """The cache stamp: version, recipe, seed, digests, `test_accuracy`."""
        self.cache_dir = cache_dir
        self._mu, self._cov = mu, cov
        self._heads = keras.Model(model.inputs, [model.get_layer(FEATURE_LAYER).output, model.outputs[0]])

    @property
    def test_accuracy(self) -> float:
        """Accuracy on the real (or, in tests, fake) MNIST test set, measured when trained."""
        return float(self.stamp["test_accuracy"])

    @classmethod
    def load_or_train(
        cls,
        data_dir: Path | str,
        *,
        verify: bool = True,
        seed: int = 0,
        recipe: JudgeRecipe = JudgeRecipe(),
        cache_dir: Path | str | None = None,
        download: bool = False,
    ) -> MnistJudge:
        """The judge cached in `cache_dir` (default `<user cache dir>/judges`), trained there first if the
        cache is missing or does not match (version, recipe, seed, the MNIST file, its own digests).

        `verify` and `download` apply to mnist/mnist.npz as for any dataset. A cache dir that cannot
        be written still gives a working judge (with a warning: it will be trained again next time).
        """
        store = DataStore(Path(data_dir), verify=verify, download=download)
        mnist_path = store.file("mnist/mnist.npz")
        cache = Path(cache_dir) if cache_dir is not None else user_cache_dir() / "judges"
        expected = {
            "version": JUDGE_VERSION,
            "recipe": asdict(recipe),
            "seed": seed,
            "mnist_sha256": file_digest(mnist_path, "sha256"),
            "keras_version": keras.__version__,
        }
        with _locked(cache):
            judge = cls._load(cache, expected)
            if judge is not None:
                return judge
            return cls._train(store, cache, expected, recipe, seed)

    # -- measuring ------------------------------------------------------------------------------

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, 128) float64 penultimate-layer features of `images` (see the module docstring)."""
        return self._run(images)[0]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 10) class probabilities."""
        return self._run(images)[1]

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N,) int labels 0..9 the judge assigns."""
        return self.probabilities(images).argmax(axis=1)

    def reference_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean (128,) and covariance (128, 128) of the features of the real MNIST test set."""
        return self._mu, self._cov

    def fid(self, images: np.ndarray) -> float:
        """MNIST-FID of `images` against the real MNIST test set."""
        return frechet_distance(*feature_stats(self.features(images)), *self.reference_stats())

    def _run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = as_judge_input(images)
        outs = [self._heads.predict_on_batch(x[i : i + _PREDICT_BATCH]) for i in range(0, len(x), _PREDICT_BATCH)]
        if not outs:
            return np.zeros((0, self._mu.shape[0])), np.zeros((0, 10))
        return (np.concatenate([np.asarray(o[0]) for o in outs]).astype(np.float64),
                np.concatenate([np.asarray(o[1]) for o in outs]))

    # -- the cache ------------------------------------------------------------------------------

    @classmethod
    def _load(cls, cache: Path, expected: dict[str, Any]) -> MnistJudge | None:
        """The cached judge if its stamp matches `expected` and both files match the stamp."""
        try:
            stamp = json.loads((cache / STAMP_FILE).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("judge cache %s: unreadable stamp (%s); retraining", cache / STAMP_FILE, exc)
            return None
        stale = [k for k, v in expected.items() if stamp.get(k) != v]
        for name, key in ((MODEL_FILE, "model_sha256"), (STATS_FILE, "stats_sha256")):
            path = cache / name
            if not path.is_file() or file_digest(path, "sha256") != stamp.get(key):
                stale.append(name)
        if stale:
            log.warning("judge cache %s does not match (%s); retraining", cache, ", ".join(stale))
            return None
        try:
            model = keras.saving.load_model(cache / MODEL_FILE, safe_mode=True, compile=False)
            with np.load(cache / STATS_FILE, allow_pickle=False) as z:
                mu, cov = z["mu"], z["cov"]
            judge = cls(model, stamp, cache, mu, cov)
        except Exception as exc:  # a damaged archive raises many types; the digest matched, so rare
            log.warning("judge cache %s could not be loaded (%s); retraining", cache, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return None
        log.info("MNIST judge loaded from %s (test accuracy %.4f)", cache, judge.test_accuracy)
        return judge

    @classmethod
    def _train(cls, store: DataStore, cache: Path, expected: dict[str, Any], recipe: JudgeRecipe, seed: int) -> MnistJudge:
        mnist = load_mnist(store, NoOptions())
        x_train, y_train = mnist.x_train[: recipe.train_limit], mnist.y_train[: recipe.train_limit]
        log.info("training the MNIST judge on %d images for %d epochs (cached in %s)", len(x_train), recipe.epochs, cache)
        model = build_judge(seed)
        model.compile(
            optimizer=keras.optimizers.Adam(recipe.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        x = x_train.astype(np.float32) / 255.0
        # A private generator: the global NumPy/Keras random state stays as the caller left it.
        rng = np.random.default_rng(seed)
        for epoch in range(recipe.epochs):
            order = rng.permutation(len(x))
            h = model.fit(x[order], y_train[order], batch_size=recipe.batch_size, epochs=1, shuffle=False, verbose=0)
            log.info("judge epoch %d/%d: loss %.4f, accuracy %.4f", epoch + 1, recipe.epochs, h.history["loss"][-1], h.history["accuracy"][-1])
            if not math.isfinite(h.history["loss"][-1]):
                # Caught before anything is cached: a diverged judge would be reused by every later run.
                raise DataError(f"the MNIST judge's loss became {h.history['loss'][-1]} at epoch {epoch + 1}; "
                                f"check the MNIST files in the data dir (nothing was cached in {cache})")
        stamp = dict(expected)
        judge = cls(model, stamp, cache, np.zeros(1), np.zeros((1, 1)))
        stamp["test_accuracy"] = float((judge.predict(mnist.x_test) == mnist.y_test).mean())
        judge._mu, judge._cov = feature_stats(judge.features(mnist.x_test))
        stamp["n_train"], stamp["n_reference"] = int(len(x_train)), int(len(mnist.x_test))
        log.info("MNIST judge test accuracy %.4f", stamp["test_accuracy"])
        cls._save(judge, cache)
        return judge

    @staticmethod
    def _save(judge: MnistJudge, cache: Path) -> None:
        """Model, then stats, then the stamp naming both: a half-done save leaves no valid stamp."""
        try:
            cache.mkdir(parents=True, exist_ok=True)
            write_atomic(cache / MODEL_FILE, lambda p: judge.model.save(p))
            write_atomic(cache / STATS_FILE, lambda p: _save_npz(p, mu=judge._mu, cov=judge._cov))
            judge.stamp["model_sha256"] = file_digest(cache / MODEL_FILE, "sha256")
            judge.stamp["stats_sha256"] = file_digest(cache / STATS_FILE, "sha256")
            write_atomic(cache / STAMP_FILE, lambda p: p.write_text(json.dumps(judge.stamp, indent=2, sort_keys=True) + "\n"))
        except OSError as exc:
            log.warning("the MNIST judge could not be cached in %s (%s); it will be trained again next time", cache, exc)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with path.open("wb") as f:  # a file object: np.savez would append .npz to a path
        np.savez(f, **arrays)


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache dir (when it can be created): one trainer at a time."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        yield  # read-only cache dir: nothing will be written, so nothing to serialise
        return
    with pid_lock(cache / LOCK_FILE, wait=True):
        yield


def build_judge(seed: int = 0) -> keras.Model:
    """The judge CNN: two conv/pool stages, a 128-unit feature layer, softmax over 10 digits.

    Every layer is named and seeded: no global name counter or random state is consumed, so
    building the judge inside a run changes nothing else in that run.
    """
    init = lambda k: keras.initializers.GlorotUniform(seed=seed * 100 + k)  # noqa: E731
    layers = keras.layers
    inputs = keras.Input((28, 28, 1), name="judge_input")
    x = layers.Conv2D(32, 3, activation="relu", kernel_initializer=init(1), name="judge_conv1")(inputs)
    x = layers.MaxPooling2D(name="judge_pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", kernel_initializer=init(2), name="judge_conv2")(x)
    x = layers.MaxPooling2D(name="judge_pool2")(x)
    x = layers.Flatten(name="judge_flatten")(x)
    x = layers.Dropout(0.25, seed=seed * 100 + 3, name="judge_dropout1")(x)
    x = layers.Dense(128, activation="relu", kernel_initializer=init(4), name=FEATURE_LAYER)(x)
    x = layers.Dropout(0.5, seed=seed * 100 + 5, name="judge_dropout2")(x)
    outputs = layers.Dense(10, activation="softmax", kernel_initializer=init(6), name="judge_probs")(x)
    return keras.Model(inputs, outputs, name="mnist_judge")


def as_judge_input(images: np.ndarray) -> np.ndarray:
    """`images` as (N, 28, 28, 1) float32 in [0, 1] (see the module docstring), or ValueError."""
    x = np.asarray(images)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"the MNIST judge takes float images in [0, 1] or uint8, got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    n = x.shape[0] if x.ndim else 0
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(n, 28, 28, 1)
    elif x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1 or x.shape[1:3] not in ((28, 28), (32, 32)):
        raise ValueError(
            f"the MNIST judge takes images of shape (N, 28, 28, 1), (N, 28, 28), (N, 784) or (N, 32, 32, 1), got {np.shape(images)}"
        )
    if x.shape[1] == 32:
        x = x[:, 2:30, 2:30]  # mnist32 is MNIST zero-padded by 2: its centre is the digit
    if x.size and (not np.isfinite(x).all() or x.min() < -1e-3 or x.max() > 1 + 1e-3):
        raise ValueError(
            f"the MNIST judge takes images in [0, 1], these span {np.nanmin(x):.3g}..{np.nanmax(x):.3g} "
            "(rescale [-1, 1] images with (x + 1) / 2)"
        )
    return np.clip(x, 0.0, 1.0)


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of (N, D) features; N must be at least 2."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"feature statistics need (N >= 2, D) features, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(cov1 + cov2 - 2 (cov1 cov2)^(1/2)): the Fréchet distance of two Gaussians.

    tr((cov1 cov2)^(1/2)) is computed as tr((s1 cov2 s1)^(1/2)) with s1 = cov1^(1/2): the same
    trace (the two products are similar matrices), but s1 cov2 s1 is symmetric positive
    semi-definite, so its root comes from `scipy.linalg.eigh` with eigenvalues clipped at 0, real
    and finite even for the singular covariances of dead ReLU features, where `sqrtm(cov1 @ cov2)`
    can return complex or non-finite values.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"Fréchet distance needs means (D,) and covariances (D, D): got {mu1.shape}, {cov1.shape}, {mu2.shape}, {cov2.shape}")
    for name, a in (("mu1", mu1), ("cov1", cov1), ("mu2", mu2), ("cov2", cov2)):
        if not np.isfinite(a).all():
            raise ValueError(f"Fréchet distance: {name} has non-finite values")
    cov1, cov2 = (cov1 + cov1.T) / 2, (cov2 + cov2.T) / 2  # symmetric up to rounding: make it exact
    s1 = _psd_sqrt(cov1)
    cross = _psd_sqrt_eigenvalues(s1 @ cov2 @ s1).sum()
    dist = float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * cross)
    # Rounding can leave -1e-12 for identical inputs: a distance is never negative.
    return max(dist, 0.0) if math.isfinite(dist) else math.inf


def _psd_sqrt_eigenvalues(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(scipy.linalg.eigh((a + a.T) / 2, eigvals_only=True), 0.0, None))


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
    w, v = scipy.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def label_accuracy(judge: MnistJudge, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of `images` the judge assigns to the requested `labels` (int (N,) or one-hot (N, 10))."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    if labels.shape != (len(images),):
        raise ValueError(f"label accuracy needs one label per image: {len(images)} images, labels of shape {labels.shape}")
    if not len(labels):
        raise ValueError("label accuracy of no images is undefined")
    return float((judge.predict(images) == labels).mean())


def matched_accuracy(judge: MnistJudge, images: np.ndarray, codes: np.ndarray) -> float:
    """Share of `images` the judge assigns to the digit that the best one-to-one code -> digit matching
    (Hungarian, `models.metrics.matching`) gives their discrete code: label accuracy that does not
    care which code a generator learned for which digit."""
    codes = np.asarray(codes)
    if codes.ndim == 2:
        codes = codes.argmax(axis=1)
    if codes.shape != (len(images),) or not len(codes):
        raise ValueError(f"matched accuracy needs one code per image: {len(images)} images, codes of shape {codes.shape}")
    predicted = judge.predict(images)
    return matching.matched_accuracy(predicted, codes, int(max(codes.max(), predicted.max())) + 1)


# -- `python -m adl_runner.models.metrics.gan_quality`: train or load the judge and print its baselines ------


def baselines(judge: MnistJudge, data_dir: Path | str, verify: bool = True, seed: int = 0) -> dict[str, float]:
    """Reference numbers of a judge: test accuracy, and MNIST-FIDs of real and noise images."""
    mnist = load_mnist(DataStore(Path(data_dir), verify=verify), NoOptions())
    train = judge.features(mnist.x_train)
    noise = np.random.default_rng(seed).random((10_000, 28, 28, 1)).astype(np.float32)
    ref = judge.reference_stats()
    return {
        "test_accuracy": judge.test_accuracy,
        "fid_train_60000_vs_test": frechet_distance(*feature_stats(train), *ref),
        "fid_train_10000_vs_test": frechet_distance(*feature_stats(train[:10_000]), *ref),
        "fid_train_1000_vs_test": frechet_distance(*feature_stats(train[:1_000]), *ref),
        "fid_uniform_noise_10000_vs_test": judge.fid(noise),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os

    from adl_runner.kernel.errors import RunnerError

    parser = argparse.ArgumentParser(prog="python -m adl_runner.models.metrics.gan_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("RUNNER_DATA_DIR", "data"), help="holds mnist/mnist.npz")
    parser.add_argument("--cache-dir", default=None, help="where the judge is cached (default: judges/ of the user cache folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=JudgeRecipe.epochs)
    parser.add_argument("--no-verify", dest="verify", action="store_false", help="skip mnist.npz's checksum (a file of your own)")
    parser.add_argument("--record", type=Path, help="also write a run record here: metrics.json (these numbers, the judge "
                                                    "version and recipe) and run.json (commit, command, versions)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        started = time.time()
        recipe = JudgeRecipe(epochs=args.epochs)
        judge = MnistJudge.load_or_train(args.data_dir, verify=args.verify, seed=args.seed, recipe=recipe, cache_dir=args.cache_dir)
        numbers = baselines(judge, args.data_dir, verify=args.verify, seed=args.seed)
        print(json.dumps(numbers, indent=2))
        if args.record:
            _write_record(args.record, {**numbers, "judge_version": JUDGE_VERSION, "recipe": asdict(recipe), "seed": args.seed},
                          run_info(args.seed, started, time.time()))
    except RunnerError as exc:
        print(f"error: {exc}", file=__import__("sys").stderr)
        return exc.exit_code
    return 0


def _write_record(folder: Path, metrics: dict[str, Any], run: dict[str, Any]) -> None:
    """metrics.json, then run.json: a record whose run.json exists is complete."""
    for name, content in (("metrics.json", metrics), ("run.json", run)):
        write_atomic(folder / name, lambda tmp, c=content: tmp.write_text(json.dumps(c, indent=2) + "\n"))


if __name__ == "__main__":
    raise SystemExit(main())
