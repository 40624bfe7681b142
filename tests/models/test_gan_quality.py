"""MNIST-FID and label-control accuracy: the Fréchet distance, and the cached MNIST judge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from adl_runner.data.synthetic import write_mnist_npz
from adl_runner.kernel.cachedir import CACHE_DIR_VARIABLE, user_cache_dir
from adl_runner.models.metrics import gan_quality as gq
from adl_runner.models.metrics.gan_quality import (
    JudgeRecipe,
    MnistJudge,
    as_judge_input,
    feature_stats,
    frechet_distance,
    label_accuracy,
    matched_accuracy,
)

FAST = JudgeRecipe(epochs=2, batch_size=64, train_limit=None)


def random_stats(rng: np.random.Generator, d: int) -> tuple[np.ndarray, np.ndarray]:
    a = rng.normal(size=(d, d))
    return rng.normal(size=d), a @ a.T / d + 0.1 * np.eye(d)


# -- Fréchet distance ------------------------------------------------------------------------------


def test_identical_statistics_are_at_distance_zero() -> None:
    mu, cov = random_stats(np.random.default_rng(0), 64)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-8)


def test_one_dimensional_gaussians_match_the_closed_form() -> None:
    # W2^2 of N(m1, s1^2), N(m2, s2^2) = (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]]) == pytest.approx(9.0 + 1.0)


def test_diagonal_covariances_match_the_closed_form() -> None:
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.0])  # a zero variance: singular
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)


def test_it_is_symmetric_and_agrees_with_the_sqrtm_formula() -> None:
    rng = np.random.default_rng(1)
    (mu1, cov1), (mu2, cov2) = random_stats(rng, 32), random_stats(rng, 32)
    d12, d21 = frechet_distance(mu1, cov1, mu2, cov2), frechet_distance(mu2, cov2, mu1, cov1)
    assert d12 == pytest.approx(d21, rel=1e-9)
    textbook = np.sum((mu1 - mu2) ** 2) + np.trace(cov1 + cov2 - 2 * scipy.linalg.sqrtm(cov1 @ cov2).real)
    assert d12 == pytest.approx(textbook, rel=1e-6)


def test_rank_deficient_covariances_stay_finite() -> None:
    rng = np.random.default_rng(2)
    f1, f2 = rng.normal(size=(5, 50)), rng.normal(size=(5, 50)) + 1  # 5 samples in 50 dims: rank 4
    f1[:, :10] = 0  # dead ReLU features
    d = frechet_distance(*feature_stats(f1), *feature_stats(f2))
    assert np.isfinite(d) and d > 0


def test_bad_statistics_are_refused() -> None:
    with pytest.raises(ValueError, match="means"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="non-finite"):
        frechet_distance(np.zeros(2), np.eye(2) * np.nan, np.zeros(2), np.eye(2))


# -- image conventions -----------------------------------------------------------------------------


def test_judge_input_shapes_and_ranges() -> None:
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    for view in (x, x[..., 0], x.reshape(3, 784), (x * 255).round().astype(np.uint8)):
        assert as_judge_input(view).shape == (3, 28, 28, 1)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    np.testing.assert_array_equal(as_judge_input(padded), x)
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        as_judge_input(x * 2 - 1)
    with pytest.raises(ValueError, match="shape"):
        as_judge_input(np.zeros((2, 32, 32, 3), np.float32))


# -- the judge and its cache -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("judge_data")
    write_mnist_npz(root, n_train=512, n_test=128)
    return root


@pytest.fixture(scope="module")
def judge(judge_dir: Path) -> MnistJudge:
    return MnistJudge.load_or_train(judge_dir, verify=False, recipe=FAST)


def test_the_judge_trains_measures_and_caches(judge: MnistJudge, judge_dir: Path) -> None:
    cache = user_cache_dir() / "judges"  # conftest points ADL_RUNNER_CACHE_DIR at a temporary folder
    assert not (judge_dir / "judges").exists()  # never beside the data
    assert {p.name for p in cache.iterdir()} >= {"mnist_cnn.keras", "mnist_cnn_stats.npz", "mnist_cnn.json"}
    assert not [p for p in cache.iterdir() if p.name.startswith(".mnist_cnn.") and p.name != ".mnist_cnn.lock"]  # no temp files
    stamp = json.loads((cache / "mnist_cnn.json").read_text())
    assert stamp["version"] == gq.JUDGE_VERSION and stamp["recipe"]["epochs"] == 2
    assert judge.test_accuracy > 0.9  # the synthetic classes are easy
    from adl_runner.data.splits import NoOptions
    from adl_runner.data.store import DataStore
    from adl_runner.data.vision import load_mnist

    test = load_mnist(DataStore(judge_dir, verify=False), NoOptions())
    assert label_accuracy(judge, test.x_test, test.y_test) == pytest.approx(judge.test_accuracy)
    f = judge.features(test.x_test[:10])
    assert f.shape == (10, 128) and f.dtype == np.float64 and (f >= 0).all()
    mu, cov = judge.reference_stats()
    assert mu.shape == (128,) and cov.shape == (128, 128)
    assert judge.fid(test.x_test) == pytest.approx(0.0, abs=1e-6)  # the reference set itself
    noise = np.random.default_rng(0).random((128, 28, 28, 1)).astype(np.float32)
    assert judge.fid(noise) > judge.fid(test.x_train[:128]) + 1.0


def test_a_second_load_reads_the_cache(judge: MnistJudge, judge_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(MnistJudge, "_train", classmethod(lambda *a, **k: pytest.fail("retrained a valid cache")))
    again = MnistJudge.load_or_train(judge_dir, verify=False, recipe=FAST)
    x = np.random.default_rng(3).random((5, 784)).astype(np.float32)
    np.testing.assert_allclose(again.features(x), judge.features(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(again.reference_stats()[1], judge.reference_stats()[1])


def test_training_leaves_the_global_random_state_alone(judge_dir: Path, tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(123)
    before = (np.random.random(), float(keras.random.uniform(())))
    keras.utils.set_random_seed(123)
    MnistJudge.load_or_train(judge_dir, verify=False, recipe=JudgeRecipe(epochs=1, train_limit=64), cache_dir=tmp_path)
    assert (np.random.random(), float(keras.random.uniform(()))) == before


SMALL = JudgeRecipe(epochs=1, train_limit=128)


@pytest.fixture(scope="module")
def small_cache(judge_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A judge cache trained once with SMALL; tests damage copies of it."""
    cache = tmp_path_factory.mktemp("small_cache") / "judges"
    MnistJudge.load_or_train(judge_dir, verify=False, recipe=SMALL, cache_dir=cache)
    return cache


@pytest.mark.parametrize(
    "damage",
    ["model", "stamp", pytest.param("stats", marks=pytest.mark.slow), pytest.param("recipe", marks=pytest.mark.slow)],
)
def test_a_damaged_or_stale_cache_is_retrained(judge_dir: Path, small_cache: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    recipe = SMALL
    if damage == "model":
        (cache / "mnist_cnn.keras").write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "stats":
        (cache / "mnist_cnn_stats.npz").write_bytes(b"junk")
    elif damage == "stamp":
        (cache / "mnist_cnn.json").write_text("{ half a stamp")
    else:
        recipe = JudgeRecipe(epochs=1, train_limit=100)
    trained = []
    real_train = MnistJudge._train.__func__

    def spy(cls, *args, **kwargs):
        trained.append(1)
        return real_train(cls, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MnistJudge, "_train", classmethod(spy))
        judge = MnistJudge.load_or_train(judge_dir, verify=False, recipe=recipe, cache_dir=cache)
    assert trained == [1]
    assert judge.features(np.zeros((2, 784), np.float32)).shape == (2, 128)
    # The retrained cache is whole again: the next load trusts it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MnistJudge, "_train", classmethod(lambda *a, **k: pytest.fail("retrained twice")))
        MnistJudge.load_or_train(judge_dir, verify=False, recipe=recipe, cache_dir=cache)


def test_a_judge_trained_on_other_mnist_bytes_is_not_trusted(judge_dir: Path, small_cache: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write_mnist_npz(other, n_train=96, n_test=32, seed=5)
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    first = MnistJudge.load_or_train(judge_dir, verify=False, recipe=SMALL, cache_dir=cache)
    second = MnistJudge.load_or_train(other, verify=False, recipe=SMALL, cache_dir=cache)
    assert first.stamp["mnist_sha256"] != second.stamp["mnist_sha256"]
    assert json.loads((cache / "mnist_cnn.json").read_text())["mnist_sha256"] == second.stamp["mnist_sha256"]


@pytest.mark.slow  # one more training (about 10 s on 2 busy cores) for a rare case
def test_a_read_only_cache_dir_still_gives_a_judge(judge_dir: Path, tmp_path: Path, caplog) -> None:
    cache = tmp_path / "ro"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        judge = MnistJudge.load_or_train(judge_dir, verify=False, recipe=JudgeRecipe(epochs=1, train_limit=64), cache_dir=cache)
    finally:
        cache.chmod(0o700)
    assert judge.predict(np.zeros((1, 28, 28), np.float32)).shape == (1,)
    if not list(cache.iterdir()):  # root ignores permissions; only then can the warning be checked
        assert "could not be cached" in caplog.text


def test_the_command_prints_the_baselines_and_writes_their_record(judge_dir: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "judge_record"
    assert gq.main(["--data-dir", str(judge_dir), "--no-verify", "--epochs", "2", "--record", str(record)]) == 0
    printed = json.loads(capsys.readouterr().out)
    metrics = json.loads((record / "metrics.json").read_text())
    assert {k: metrics[k] for k in printed} == printed and 0.9 < metrics["test_accuracy"] <= 1
    assert metrics["fid_uniform_noise_10000_vs_test"] > metrics["fid_train_1000_vs_test"] > 0
    assert metrics["judge_version"] == gq.JUDGE_VERSION and metrics["recipe"]["epochs"] == 2
    run = json.loads((record / "run.json").read_text())
    assert {"argv", "git_commit", "versions", "wall_time_s"} <= set(run)


def test_missing_mnist_is_a_one_line_data_error(tmp_path: Path) -> None:
    from adl_runner.kernel.errors import DataError

    with pytest.raises(DataError, match=f"mnist/mnist.npz not found in {tmp_path}"):
        MnistJudge.load_or_train(tmp_path)


def test_label_accuracy_takes_int_or_onehot_labels(judge: MnistJudge) -> None:
    x = np.random.default_rng(4).random((6, 28, 28, 1)).astype(np.float32)
    pred = judge.predict(x)
    assert label_accuracy(judge, x, pred) == 1.0
    assert label_accuracy(judge, x, np.eye(10)[pred]) == 1.0
    assert label_accuracy(judge, x, (pred + 1) % 10) == 0.0
    with pytest.raises(ValueError, match="one label per image"):
        label_accuracy(judge, x, pred[:3])


def test_matched_accuracy_forgives_a_permutation_of_codes_but_not_mixed_codes(judge: MnistJudge) -> None:
    x = np.random.default_rng(5).random((40, 28, 28, 1)).astype(np.float32)
    pred = judge.predict(x)
    permuted = (pred + 3) % 10  # every digit got another code, one code per digit
    assert label_accuracy(judge, x, permuted) == 0.0
    assert matched_accuracy(judge, x, permuted) == 1.0
    assert matched_accuracy(judge, x, np.eye(10)[permuted]) == 1.0
    one_code = np.zeros_like(pred)  # one code for all: only the commonest digit can match it
    assert matched_accuracy(judge, x, one_code) == pytest.approx(np.bincount(pred).max() / len(pred))
    with pytest.raises(ValueError, match="one code per image"):
        matched_accuracy(judge, x, pred[:3])


def test_the_judge_is_cached_where_the_variable_says_and_a_read_only_data_dir_is_never_written(
        judge_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    shutil.copytree(judge_dir, data, ignore=shutil.ignore_patterns("judges"))
    before = {p: p.stat().st_mtime_ns for p in data.rglob("*")}
    for folder in [data, *(p for p in data.rglob("*") if p.is_dir())]:
        folder.chmod(0o555)
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "moved"))
    try:
        judge = MnistJudge.load_or_train(data, verify=False, recipe=JudgeRecipe(epochs=1, train_limit=64))
    finally:
        for folder in [data, *(p for p in data.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)
    assert judge.cache_dir == tmp_path / "moved" / "judges"
    assert (judge.cache_dir / "mnist_cnn.keras").is_file() and (judge.cache_dir / "mnist_cnn.json").is_file()
    assert {p: p.stat().st_mtime_ns for p in data.rglob("*")} == before  # nothing added, nothing rewritten


def test_a_diverging_judge_is_one_error_and_caches_nothing(judge_dir: Path, tmp_path: Path) -> None:
    from adl_runner.kernel.errors import DataError

    recipe = JudgeRecipe(epochs=1, batch_size=64, train_limit=256, learning_rate=float("nan"))
    with pytest.raises(DataError, match="the MNIST judge's loss became nan at epoch 1") as caught:
        MnistJudge.load_or_train(judge_dir, verify=False, recipe=recipe, cache_dir=tmp_path / "judges")
    assert "\n" not in str(caught.value)
    assert not any(path.is_file() for path in (tmp_path / "judges").rglob("*"))
