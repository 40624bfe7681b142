"""The GAN datasets: mnist32, the SVHN .mat loader, and unpaired two-domain batches (CycleGAN)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from adl_runner.data.paired import load_cifar10_gray_color, load_mnist_svhn, paired_from
from adl_runner.data.pipeline import PairPipeline, PipelineOptions, pair_pipeline
from adl_runner.data.splits import NoOptions, PairedSplits
from adl_runner.data.store import KNOWN_FILES, SVHN_FILES, DataStore
from adl_runner.data.synthetic import make_splits, write_cifar10, write_mnist_npz, write_svhn
from adl_runner.data.vision import CifarOptions, load_mnist, load_mnist32, load_svhn, read_svhn_mat
from adl_runner.kernel.errors import DataError, IncompatibleError
from adl_runner.kernel.registry import DATASETS
from adl_runner.runner.resolve import dataset_entry
from adl_runner.runner.schema import DatasetConfig

CONF = Path(__file__).resolve().parents[2] / "conf" / "dataset"
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg, "errors must be one line"
    return msg


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gan_data")
    write_mnist_npz(root, n_train=70, n_test=30)
    write_svhn(root, n_train=50, n_test=20)
    write_cifar10(root, variant="subset", n_per_batch=12)
    return root


@pytest.fixture(scope="module")
def store(data_dir: Path) -> DataStore:
    return DataStore(data_dir, verify=False)  # fake files cannot match the upstream checksums


# -- SVHN ------------------------------------------------------------------------------------------


def test_svhn_reads_the_upstream_layout(data_dir: Path, store: DataStore) -> None:
    from scipy.io import loadmat

    d = load_svhn(store, NoOptions())
    assert d.x_train.shape == (50, 32, 32, 3) and d.x_test.shape == (20, 32, 32, 3)
    assert d.x_train.dtype == np.uint8 and d.y_train.dtype == np.int32
    assert d.y_train.min() >= 0 and d.y_train.max() <= 9 and d.class_names == tuple("0123456789")
    # The file holds X as (32, 32, 3, N) and y in 1..10; image i and label i must survive the move.
    raw = loadmat(data_dir / SVHN_FILES["train"])
    assert raw["X"].shape == (32, 32, 3, 50) and raw["y"].shape == (50, 1)
    assert 10 in raw["y"] and 0 not in raw["y"]
    np.testing.assert_array_equal(d.x_train[7], raw["X"][..., 7])
    np.testing.assert_array_equal(d.y_train, raw["y"][:, 0] % 10)
    # ...and equal what the writer was given.
    expected = make_splits((32, 32, 3), 10, 50, 20, 0)
    np.testing.assert_array_equal(d.x_train, expected.x_train)
    np.testing.assert_array_equal(d.y_test, expected.y_test)


def test_svhn_files_are_known_with_upstream_md5_and_url() -> None:
    train, test = KNOWN_FILES["svhn/train_32x32.mat"], KNOWN_FILES["svhn/test_32x32.mat"]
    assert (train.algo, train.digest) == ("md5", "e26dedcc434d2e4c54c9b2d4a06d8373")
    assert (test.algo, test.digest) == ("md5", "eb5a983be6a315427106f1b164d9cef3")
    assert train.url == "http://ufldl.stanford.edu/housenumbers/train_32x32.mat"
    assert test.url == "http://ufldl.stanford.edu/housenumbers/test_32x32.mat"


def test_svhn_checksum_mismatch_names_the_file_and_keeps_it(data_dir: Path) -> None:
    path = data_dir / SVHN_FILES["train"]
    before = path.read_bytes()
    with pytest.raises(DataError) as excinfo:
        load_svhn(DataStore(data_dir, verify=True), NoOptions())
    msg = one_line_error(excinfo)
    assert "checksum mismatch" in msg and str(path) in msg and "e26dedcc434d2e4c54c9b2d4a06d8373" in msg
    assert path.read_bytes() == before


def test_missing_svhn_names_the_file_and_its_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        load_svhn(DataStore(tmp_path), NoOptions())
    msg = one_line_error(excinfo)
    assert f"svhn/train_32x32.mat not found in {tmp_path}" in msg and "dataset.download=true" in msg


def test_missing_svhn_test_file_is_reported_before_anything_is_parsed(tmp_path: Path) -> None:
    write_svhn(tmp_path, n_train=4, n_test=2)
    (tmp_path / SVHN_FILES["test"]).unlink()
    with pytest.raises(DataError, match="svhn/test_32x32.mat not found"):
        load_svhn(DataStore(tmp_path, verify=False), NoOptions())


@pytest.mark.parametrize(
    ("contents", "fragment"),
    [
        (b"not a mat file at all" * 10, "not a valid SVHN .mat file"),
        ({"X": np.zeros((28, 28, 1, 3), np.uint8), "y": np.ones((3, 1), np.uint8)}, "expected uint8 (32, 32, 3, N)"),
        ({"X": np.zeros((32, 32, 3, 3), np.uint8), "y": np.ones((2, 1), np.uint8)}, "3 images but y"),
        ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [3]], np.uint8)}, "expected 1..10"),
        ({"X": np.zeros((32, 32, 3, 2), np.uint8)}, "KeyError"),
    ],
    ids=["junk", "shape", "count", "labels", "no-y"],
)
def test_bad_svhn_files_get_one_line_errors(tmp_path: Path, contents: object, fragment: str) -> None:
    from scipy.io import savemat

    path = tmp_path / "bad.mat"
    if isinstance(contents, bytes):
        path.write_bytes(contents)
    else:
        savemat(path, contents)
    with pytest.raises(DataError) as excinfo:
        read_svhn_mat(path)
    msg = one_line_error(excinfo)
    assert fragment in msg and str(path) in msg


# -- mnist32 ---------------------------------------------------------------------------------------


def test_mnist32_is_mnist_zero_padded_two_pixels_on_each_side(store: DataStore) -> None:
    small, padded = load_mnist(store, NoOptions()), load_mnist32(store, NoOptions())
    assert padded.x_train.shape == (70, 32, 32, 1) and padded.x_test.shape == (30, 32, 32, 1)
    assert padded.x_train.dtype == np.uint8
    np.testing.assert_array_equal(padded.x_train[:, 2:30, 2:30], small.x_train)
    border = np.ones((32, 32), bool)
    border[2:30, 2:30] = False
    assert not padded.x_train[:, border].any() and not padded.x_test[:, border].any()
    np.testing.assert_array_equal(padded.y_train, small.y_train)


# -- two domains -----------------------------------------------------------------------------------


def test_mnist_svhn_domains(store: DataStore) -> None:
    p = load_mnist_svhn(store, NoOptions())
    assert (p.source.name, p.target.name) == ("mnist32", "svhn")
    assert p.source.image_shape == (32, 32, 1) and p.target.image_shape == (32, 32, 3)
    pipe = PairPipeline(p, batch_size=16, seed=0)
    assert (pipe.source_shape, pipe.target_shape) == ((32, 32, 1), (32, 32, 3))
    assert pipe.n_train == 70 and pipe.n_test == 20 and pipe.steps_per_epoch() == 5
    batches = list(pipe.train_steps(0, 6))  # more steps than the smaller domain has batches
    assert len(batches) == 6
    for source, target in batches:
        assert source.shape == (16, 32, 32, 1) and target.shape == (16, 32, 32, 3)
        assert source.dtype.name == target.dtype.name == "float32"
        for x in (source.numpy(), target.numpy()):
            assert 0.0 <= x.min() and x.max() <= 1.0


def test_cifar_gray_color_shares_its_images_and_grays_them_in_float(store: DataStore) -> None:
    p = load_cifar10_gray_color(store, CifarOptions(variant="subset"))
    assert p.source.splits is p.target.splits and p.source.gray and not p.target.gray
    pipe = PairPipeline(p, batch_size=8, seed=0)
    assert (pipe.source_shape, pipe.target_shape) == ((32, 32, 1), (32, 32, 3))
    gray, color = pipe.images("source", n=10), pipe.images("target", n=10)
    assert gray.shape == (10, 32, 32, 1) and color.shape == (10, 32, 32, 3)
    np.testing.assert_allclose(gray[..., 0], (color * LUMA).sum(-1), atol=1e-6)
    # The test stream pairs image i with image i (in order); the train stream never does.
    src, tgt = next(iter(pipe.test()))
    np.testing.assert_allclose(src.numpy()[..., 0], (tgt.numpy() * LUMA).sum(-1), atol=1e-6)
    src, tgt = next(iter(pipe.train_steps(0, 1)))
    assert not np.allclose(src.numpy()[..., 0], (tgt.numpy() * LUMA).sum(-1), atol=1e-3)


def _as_arrays(ds) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(s.numpy(), t.numpy()) for s, t in ds]


def test_unpaired_batches_are_a_function_of_seed_and_step(store: DataStore) -> None:
    p = load_mnist_svhn(store, NoOptions())
    pipe = PairPipeline(p, batch_size=16, seed=7)
    run = _as_arrays(pipe.train_steps(0, 12))
    again = _as_arrays(PairPipeline(p, batch_size=16, seed=7).train_steps(0, 12))
    resumed = _as_arrays(pipe.train_steps(5, 7))  # a run resumed at step 5 (mid-pass of both domains)
    by_epoch = _as_arrays(pipe.train(initial_epoch=2, epochs=4, steps_per_epoch=3))
    for a, b in zip(run, again, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    for a, b in zip(run[5:], resumed, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    for a, b in zip(run[6:12], by_epoch, strict=True):
        np.testing.assert_array_equal(a[1], b[1])
    other = _as_arrays(PairPipeline(p, batch_size=16, seed=8).train_steps(0, 1))
    assert not np.array_equal(other[0][0], run[0][0]) and not np.array_equal(other[0][1], run[0][1])


def test_each_domain_is_an_independent_sequence_of_permutations(tmp_path: Path) -> None:
    """Every pass over a domain shows each image once, in its own order, unrelated to the other."""
    from adl_runner.data.splits import ArraySplits, Domain

    n_src, n_tgt, bs = 24, 40, 8

    def ids(n: int) -> ArraySplits:  # image i is filled with the value i: batches reveal the indices
        x = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 4, 4, 1)).copy()
        return ArraySplits(x, np.zeros(n, np.int32), x[:2], np.zeros(2, np.int32), ("0",))

    pipe = PairPipeline(PairedSplits(Domain("a", ids(n_src)), Domain("b", ids(n_tgt))), batch_size=bs, seed=1)
    batches = _as_arrays(pipe.train_steps(0, 15))  # 120 examples: 5 passes over a, 3 over b
    seen_a = np.concatenate([np.rint(s[:, 0, 0, 0] * 255) for s, _ in batches]).astype(int)
    seen_b = np.concatenate([np.rint(t[:, 0, 0, 0] * 255) for _, t in batches]).astype(int)
    passes_a, passes_b = seen_a.reshape(-1, n_src), seen_b.reshape(-1, n_tgt)
    for p in (*passes_a, *passes_b):
        assert sorted(p) == list(range(len(p)))
    assert len({tuple(p) for p in passes_a}) == len(passes_a)  # a new order every pass
    assert not np.array_equal(passes_a[0], passes_b[0][:n_src])  # the domains are not in lockstep


def test_a_single_domain_dataset_is_refused_unless_it_grays_rgb(store: DataStore) -> None:
    cifar = DATASETS.get("cifar10").build(store, CifarOptions(variant="subset"))
    p = paired_from(cifar, gray_input=True, dataset_name="cifar10")  # dataset=cifar10_gray2rgb
    assert p.source.gray and p.source.image_shape == (32, 32, 1) and p.target.image_shape == (32, 32, 3)
    with pytest.raises(IncompatibleError) as excinfo:
        paired_from(cifar, gray_input=False, dataset_name="cifar10")
    assert "mnist_svhn" in one_line_error(excinfo) and "cifar10_gray_color" in str(excinfo.value)
    mnist = load_mnist(store, NoOptions())
    with pytest.raises(IncompatibleError, match="need RGB images"):
        paired_from(mnist, gray_input=True, dataset_name="mnist")


def test_pair_pipeline_applies_limits_and_refuses_options_it_cannot_honour(store: DataStore) -> None:
    p = load_mnist_svhn(store, NoOptions())
    pipe = pair_pipeline(p, PipelineOptions(view="image", batch_size=4), "mnist_svhn", train_limit=10, test_limit=6)
    assert pipe.n_train == 10 and pipe.n_test == 6
    for opts, fragment in (
        (PipelineOptions(view="flat"), "view=flat"),
        (PipelineOptions(view="image", augment=True), "augment"),
        (PipelineOptions(view="image", noise_sigma=0.5), "sigma=0.5"),
    ):
        with pytest.raises(IncompatibleError, match=fragment):
            pair_pipeline(p, opts, "mnist_svhn")


def test_a_one_dataset_consumer_of_paired_splits_gets_a_one_line_error(store: DataStore) -> None:
    p = load_mnist_svhn(store, NoOptions())
    with pytest.raises(IncompatibleError) as excinfo:
        p.x_train  # noqa: B018 - the read itself raises: it is what the classifier pipeline does first
    assert "mnist32 or svhn" in one_line_error(excinfo)
    with pytest.raises(AttributeError):
        p.no_such_attribute  # noqa: B018 - the read itself raises


@pytest.mark.parametrize("name", ["mnist32", "svhn", "mnist_svhn", "cifar10_gray_color"])
def test_dataset_configs_resolve_to_their_loaders(name: str) -> None:
    node = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"))
    entry, _ = dataset_entry(DatasetConfig(**node))
    assert entry.name == name
    assert entry.spec.paired == (name in ("mnist_svhn", "cifar10_gray_color"))


def test_the_colorization_config_is_unchanged() -> None:
    node = OmegaConf.to_container(OmegaConf.load(CONF / "cifar10_gray2rgb.yaml"))
    assert node["name"] == "cifar10" and node["gray_input"] is True


def test_svhn_is_downloaded_only_when_allowed_and_verified(tmp_path: Path, monkeypatch) -> None:
    import dataclasses
    import hashlib

    from adl_runner.data import store as store_mod

    upstream = tmp_path / "upstream"
    write_svhn(upstream, n_train=6, n_test=3)
    for rel in SVHN_FILES.values():
        source = upstream / rel
        entry = dataclasses.replace(
            store_mod.KNOWN_FILES[rel], digest=hashlib.md5(source.read_bytes()).hexdigest(), url=source.as_uri()
        )
        monkeypatch.setitem(store_mod.KNOWN_FILES, rel, entry)
    root = tmp_path / "data"
    with pytest.raises(DataError, match="svhn/train_32x32.mat not found"):
        load_svhn(DataStore(root), NoOptions())
    assert not (root / "svhn").exists() or not any((root / "svhn").iterdir())
    d = load_svhn(DataStore(root, download=True), NoOptions())
    assert d.x_train.shape == (6, 32, 32, 3) and d.x_test.shape == (3, 32, 32, 3)
    assert (root / "svhn" / "train_32x32.mat").read_bytes() == (upstream / "svhn" / "train_32x32.mat").read_bytes()
