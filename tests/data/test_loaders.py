"""The dataset layer: store (verify, download, errors), loaders on fake files, synthetic data."""

from __future__ import annotations

import ast
import dataclasses
import gzip
import hashlib
import inspect
import io
import os
import pickle
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from adl_runner.data import store as store_mod
from adl_runner.data.splits import NoOptions
from adl_runner.data.store import KNOWN_FILES, DataStore, KnownFile
from adl_runner.data.synthetic import (
    SyntheticOptions,
    load_synthetic,
    make_splits,
    write_cifar10,
    write_fashion_mnist,
    write_mnist_npz,
)
from adl_runner.data.vision import CifarOptions, load_cifar10, load_fashion_mnist, load_mnist
from adl_runner.kernel.errors import ConfigError, DataError
from adl_runner.kernel.registry import DATASETS

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
MNIST_SHA = KNOWN_FILES["mnist/mnist.npz"].digest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def error(excinfo: pytest.ExceptionInfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg, "errors must be one line"
    return msg


def check_splits(d, n_train, n_test, shape, classes=10):
    assert d.x_train.shape == (n_train, *shape) and d.x_test.shape == (n_test, *shape)
    assert d.x_train.dtype == d.x_test.dtype == np.uint8
    assert d.y_train.shape == (n_train,) and d.y_test.shape == (n_test,)
    assert d.y_train.dtype == d.y_test.dtype == np.int32
    assert 0 <= d.y_train.min() and d.y_train.max() < classes and d.y_test.max() < classes
    assert len(d.class_names) == classes


# -- loaders on fake files in the real formats ------------------------------------------------


def test_mnist_roundtrip(tmp_path):
    write_mnist_npz(tmp_path, n_train=50, n_test=20, seed=3)
    d = load_mnist(DataStore(tmp_path, verify=False), NoOptions())
    check_splits(d, 50, 20, (28, 28, 1))
    ref = make_splits((28, 28, 1), 10, 50, 20, 3)
    np.testing.assert_array_equal(d.x_train, ref.x_train)
    np.testing.assert_array_equal(d.y_test, ref.y_test)
    assert d.class_names == tuple("0123456789")


def test_fashion_roundtrip(tmp_path):
    paths = write_fashion_mnist(tmp_path, n_train=40, n_test=10)
    assert len(paths) == 4 and all(p.is_file() for p in paths)
    d = load_fashion_mnist(DataStore(tmp_path, verify=False), NoOptions())
    check_splits(d, 40, 10, (28, 28, 1))
    np.testing.assert_array_equal(d.x_test, make_splits((28, 28, 1), 10, 40, 10, 0).x_test)
    assert d.class_names[0] == "T-shirt/top" and d.class_names[-1] == "Ankle boot"


@pytest.mark.parametrize("variant", ["subset", "full"])
def test_cifar_roundtrip(tmp_path, variant):
    write_cifar10(tmp_path, variant=variant, n_per_batch=12, seed=1)
    d = load_cifar10(DataStore(tmp_path, verify=False), CifarOptions(variant=variant))
    check_splits(d, 60, 12, (32, 32, 3))
    # Equality with the generator checks the (N,3,32,32) -> (N,32,32,3) reordering.
    ref = make_splits((32, 32, 3), 10, 60, 12, 1)
    np.testing.assert_array_equal(d.x_train, ref.x_train)
    np.testing.assert_array_equal(d.y_train, ref.y_train)
    assert d.class_names[0] == "airplane" and d.class_names[-1] == "truck"


def test_cifar_fake_meta_matches_upstream_keys(tmp_path):
    paths = write_cifar10(tmp_path, n_per_batch=5)
    with paths[0].open("rb") as f:
        batch = pickle.load(f, encoding="bytes")
    assert set(batch) == {b"batch_label", b"labels", b"data"} and batch[b"data"].shape == (5, 3072)
    with paths[-1].open("rb") as f:
        meta = pickle.load(f, encoding="bytes")
    assert meta[b"label_names"][0] == b"airplane"
    assert paths[0].read_bytes()[:2] == b"\x80\x02"  # protocol 2


def test_registered_with_options():
    assert DATASETS.get("mnist").spec.options is NoOptions
    assert DATASETS.get("fashion_mnist").spec.options is NoOptions
    assert DATASETS.get("cifar10").spec.options is CifarOptions
    assert DATASETS.get("synthetic").spec.options is SyntheticOptions


@pytest.mark.parametrize("cls", [CifarOptions, SyntheticOptions])
def test_every_option_field_has_a_docstring(cls):
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    documented = {
        stmt.target.id
        for stmt, nxt in zip(body, body[1:])
        if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
    }
    assert documented == {f.name for f in dataclasses.fields(cls)}


# -- synthetic --------------------------------------------------------------------------------


def test_synthetic_is_deterministic_and_learnable(tmp_path):
    opts = SyntheticOptions(n_train=200, n_test=100, seed=5)
    d = load_synthetic(DataStore(tmp_path), opts)
    check_splits(d, 200, 100, (28, 28, 1))
    np.testing.assert_array_equal(d.x_train, load_synthetic(DataStore(tmp_path), opts).x_train)
    # Nearest class mean on raw pixels must beat chance (10%) by far.
    x_tr, x_te = d.x_train.reshape(200, -1) / 255.0, d.x_test.reshape(100, -1) / 255.0
    means = np.stack([x_tr[d.y_train == c].mean(0) for c in range(10)])
    pred = ((x_te[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    assert (pred == d.y_test).mean() > 0.9


def test_synthetic_shapes_and_bad_options(tmp_path):
    d = load_synthetic(DataStore(tmp_path), SyntheticOptions(shape=[8, 6], num_classes=3, n_train=9, n_test=3))
    check_splits(d, 9, 3, (8, 6, 1), classes=3)
    assert set(d.y_train) == {0, 1, 2}
    d = load_synthetic(DataStore(tmp_path), SyntheticOptions(shape=[32, 32, 3], n_train=4, n_test=2))
    assert d.x_train.shape == (4, 32, 32, 3)
    for bad in (SyntheticOptions(shape=[28]), SyntheticOptions(num_classes=1), SyntheticOptions(n_train=0)):
        with pytest.raises(ConfigError):
            load_synthetic(DataStore(tmp_path), bad)


# -- verification -----------------------------------------------------------------------------


def test_checksum_mismatch_keeps_file_and_names_it(tmp_path):
    path = write_mnist_npz(tmp_path, n_train=10, n_test=5)
    before = path.read_bytes()
    with pytest.raises(DataError) as exc:
        load_mnist(DataStore(tmp_path, verify=True), NoOptions())
    msg = error(exc)
    assert str(path) in msg and MNIST_SHA in msg and sha256(path) in msg
    assert "kept" in msg and "dataset.verify_checksums=false" in msg
    assert path.read_bytes() == before
    # A second attempt fails the same way (from the cached digest) and still keeps the file.
    with pytest.raises(DataError):
        DataStore(tmp_path).file("mnist/mnist.npz")
    assert path.read_bytes() == before


def test_digest_is_computed_once_per_file(tmp_path, monkeypatch):
    path = write_mnist_npz(tmp_path, n_train=10, n_test=5)
    monkeypatch.setitem(KNOWN_FILES, "mnist/mnist.npz", KnownFile("sha256", sha256(path)))
    calls = []
    real_new = hashlib.new
    monkeypatch.setattr(store_mod.hashlib, "new", lambda algo: calls.append(algo) or real_new(algo))
    for _ in range(3):
        load_mnist(DataStore(tmp_path, verify=True), NoOptions())
    assert calls == ["sha256"]


def test_unverified_store_skips_the_check(tmp_path):
    write_mnist_npz(tmp_path, n_train=10, n_test=5)
    assert DataStore(tmp_path, verify=False).file("mnist/mnist.npz").is_file()


# -- missing files ----------------------------------------------------------------------------


def test_missing_file_names_path_root_and_remedies(tmp_path):
    with pytest.raises(DataError) as exc:
        load_mnist(DataStore(tmp_path), NoOptions())
    msg = error(exc)
    assert msg == (
        f"mnist/mnist.npz not found in {tmp_path} (set RUNNER_DATA_DIR or paths.data_dir to a folder "
        "laid out like shared/datasets, or allow dataset.download=true)"
    )


def test_missing_local_only_file_says_it_cannot_be_downloaded(tmp_path):
    with pytest.raises(DataError) as exc:
        DataStore(tmp_path, download=True).file("cifar10/cifar-10-batches-py-subset/data_batch_1")
    msg = error(exc)
    assert "cifar10/cifar-10-batches-py-subset/data_batch_1" in msg and str(tmp_path) in msg
    assert "cannot be downloaded" in msg and "download=true" not in msg


def test_fashion_loader_reports_the_missing_file(tmp_path):
    paths = write_fashion_mnist(tmp_path, n_train=10, n_test=5)
    paths[3].unlink()  # t10k labels
    with pytest.raises(DataError, match="fashion-mnist/t10k-labels-idx1-ubyte.gz not found"):
        load_fashion_mnist(DataStore(tmp_path, verify=False), NoOptions())


# -- corrupt files ----------------------------------------------------------------------------


def test_truncated_npz(tmp_path):
    path = write_mnist_npz(tmp_path, n_train=30, n_test=10)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError) as exc:
        load_mnist(DataStore(tmp_path, verify=False), NoOptions())
    assert str(path) in error(exc)


def test_npz_with_wrong_arrays(tmp_path):
    path = tmp_path / "mnist" / "mnist.npz"
    path.parent.mkdir()
    np.savez(path, x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.array([0, 1, 12], np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(DataError, match="labels span 0..12"):
        load_mnist(DataStore(tmp_path, verify=False), NoOptions())
    np.savez(path, x_train=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DataError, match="KeyError"):
        load_mnist(DataStore(tmp_path, verify=False), NoOptions())


def test_truncated_idx_gz(tmp_path):
    paths = write_fashion_mnist(tmp_path, n_train=30, n_test=10)
    images = paths[0]
    images.write_bytes(images.read_bytes()[:-40])  # cuts the deflate stream and the gzip trailer
    with pytest.raises(DataError) as exc:
        load_fashion_mnist(DataStore(tmp_path, verify=False), NoOptions())
    assert str(images) in error(exc)


def test_idx_shorter_than_its_header_says(tmp_path):
    paths = write_fashion_mnist(tmp_path, n_train=30, n_test=10)
    raw = gzip.decompress(paths[0].read_bytes())
    paths[0].write_bytes(gzip.compress(raw[:-100]))  # a valid gzip whose idx payload is short
    with pytest.raises(DataError, match="header promises") as exc:
        load_fashion_mnist(DataStore(tmp_path, verify=False), NoOptions())
    assert str(paths[0]) in error(exc)


def test_idx_with_wrong_magic(tmp_path):
    paths = write_fashion_mnist(tmp_path, n_train=30, n_test=10)
    paths[0].write_bytes(paths[1].read_bytes())  # a label file where images belong
    with pytest.raises(DataError, match="magic number 0x00000801, expected 0x00000803"):
        load_fashion_mnist(DataStore(tmp_path, verify=False), NoOptions())


def test_garbage_and_truncated_pickles(tmp_path):
    paths = write_cifar10(tmp_path, n_per_batch=5)
    paths[2].write_bytes(b"this is not a pickle at all")
    with pytest.raises(DataError) as exc:
        load_cifar10(DataStore(tmp_path, verify=False), CifarOptions("subset"))
    assert str(paths[2]) in error(exc)
    write_cifar10(tmp_path, n_per_batch=5)
    paths[5].write_bytes(paths[5].read_bytes()[:500])
    with pytest.raises(DataError) as exc:
        load_cifar10(DataStore(tmp_path, verify=False), CifarOptions("subset"))
    assert str(paths[5]) in error(exc)


def test_pickle_cannot_run_code(tmp_path):
    paths = write_cifar10(tmp_path, n_per_batch=5)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    paths[0].write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(DataError, match="refusing to load the global posix.mkdir"):
        load_cifar10(DataStore(tmp_path, verify=False), CifarOptions("subset"))
    assert not marker.exists()


# -- downloads --------------------------------------------------------------------------------


def test_download_from_file_url(tmp_path, monkeypatch):
    source = write_mnist_npz(tmp_path / "upstream", n_train=10, n_test=5)
    monkeypatch.setitem(KNOWN_FILES, "mnist/mnist.npz", KnownFile("sha256", sha256(source), source.as_uri()))
    root = tmp_path / "data"
    d = load_mnist(DataStore(root, download=True), NoOptions())
    assert d.x_train.shape == (10, 28, 28, 1)
    assert (root / "mnist" / "mnist.npz").read_bytes() == source.read_bytes()
    assert os.listdir(root / "mnist") == ["mnist.npz"]  # no temp file left


def test_download_not_attempted_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setitem(KNOWN_FILES, "mnist/mnist.npz", KnownFile("sha256", "0" * 64, "http://127.0.0.1:9/never"))
    with pytest.raises(DataError, match="or allow dataset.download=true"):
        DataStore(tmp_path).file("mnist/mnist.npz")


def test_failed_download_leaves_nothing(tmp_path, monkeypatch):
    url = (tmp_path / "nowhere.npz").as_uri()
    monkeypatch.setitem(KNOWN_FILES, "mnist/mnist.npz", KnownFile("sha256", MNIST_SHA, url))
    root = tmp_path / "data"
    with pytest.raises(DataError) as exc:
        DataStore(root, download=True).file("mnist/mnist.npz")
    msg = error(exc)
    assert url in msg and "failed" in msg
    assert not any(p.is_file() for p in root.rglob("*"))


def test_download_with_bad_checksum_leaves_nothing(tmp_path, monkeypatch):
    source = write_mnist_npz(tmp_path / "upstream", n_train=10, n_test=5)
    monkeypatch.setitem(KNOWN_FILES, "mnist/mnist.npz", KnownFile("sha256", MNIST_SHA, source.as_uri()))
    root = tmp_path / "data"
    # Downloads are verified even when verify=False: a bad fresh copy is never saved.
    with pytest.raises(DataError) as exc:
        DataStore(root, verify=False, download=True).file("mnist/mnist.npz")
    msg = error(exc)
    assert source.as_uri() in msg and MNIST_SHA in msg and sha256(source) in msg
    assert not any(p.is_file() for p in root.rglob("*"))


def _fake_cifar_archive(tmp_path: Path, monkeypatch) -> Path:
    """A cifar-10-python.tar.gz of fake batches, registered in the table with its real digests."""
    staging = tmp_path / "staging"
    write_cifar10(staging, variant="full", n_per_batch=7)
    batches = staging / "cifar10" / "cifar-10-batches-py"
    archive = tmp_path / "upstream" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(batches, arcname="cifar-10-batches-py")
    for name in store_mod.CIFAR_BATCHES:
        md5 = hashlib.md5((batches / name).read_bytes()).hexdigest()
        entry = KnownFile("md5", md5, archive=store_mod.CIFAR_ARCHIVE)
        monkeypatch.setitem(KNOWN_FILES, f"cifar10/cifar-10-batches-py/{name}", entry)
    _serve_cifar_archive(archive, monkeypatch)
    return archive


def _serve_cifar_archive(archive: Path, monkeypatch) -> None:
    """Point the table's CIFAR archive entry at `archive` (a file:// URL, its real sha256)."""
    entry = dataclasses.replace(KNOWN_FILES[store_mod.CIFAR_ARCHIVE], digest=sha256(archive), url=archive.as_uri())
    monkeypatch.setitem(KNOWN_FILES, store_mod.CIFAR_ARCHIVE, entry)


def test_cifar_archive_download_and_unpack(tmp_path, monkeypatch):
    archive = _fake_cifar_archive(tmp_path, monkeypatch)
    root = tmp_path / "data"
    d = load_cifar10(DataStore(root, verify=True, download=True), CifarOptions("auto"))
    assert d.x_train.shape == (35, 32, 32, 3) and d.x_test.shape == (7, 32, 32, 3)
    assert sorted(os.listdir(root / "cifar10")) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    assert (root / "cifar10" / "cifar-10-python.tar.gz").read_bytes() == archive.read_bytes()
    # A lost batch is unpacked again from the local archive, even offline.
    (root / "cifar10" / "cifar-10-batches-py" / "data_batch_3").unlink()
    d2 = load_cifar10(DataStore(root, verify=True, download=False), CifarOptions("full"))
    np.testing.assert_array_equal(d.x_train, d2.x_train)


def test_unsafe_archive_member_is_refused(tmp_path, monkeypatch):
    archive = tmp_path / "upstream" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    _serve_cifar_archive(archive, monkeypatch)
    root = tmp_path / "data"
    with pytest.raises(DataError, match="cannot unpack"):
        load_cifar10(DataStore(root, download=True), CifarOptions("full"))
    assert not (root / "escaped").exists() and not (tmp_path / "data" / "cifar10" / "escaped").exists()
    assert [p.name for p in (root / "cifar10").iterdir()] == ["cifar-10-python.tar.gz"]


# -- CIFAR variant selection ------------------------------------------------------------------


def test_cifar_auto_prefers_full_then_subset(tmp_path):
    store = DataStore(tmp_path, verify=False)
    write_cifar10(tmp_path, variant="subset", n_per_batch=3)
    assert len(load_cifar10(store, CifarOptions("auto")).x_test) == 3
    write_cifar10(tmp_path, variant="full", n_per_batch=4)
    assert len(load_cifar10(store, CifarOptions("auto")).x_test) == 4
    assert len(load_cifar10(store, CifarOptions("subset")).x_test) == 3
    assert len(load_cifar10(store, CifarOptions("full")).x_test) == 4


def test_cifar_explicit_variant_missing(tmp_path):
    write_cifar10(tmp_path, variant="full", n_per_batch=3)
    expected = "cifar10/cifar-10-batches-py-subset/data_batch_1 not found .* cannot be downloaded"
    with pytest.raises(DataError, match=expected):
        load_cifar10(DataStore(tmp_path, verify=False), CifarOptions("subset"))


def test_cifar_auto_with_nothing_names_both_places(tmp_path):
    with pytest.raises(DataError) as exc:
        load_cifar10(DataStore(tmp_path), CifarOptions("auto"))
    msg = error(exc)
    assert "cifar10/cifar-10-batches-py/" in msg and "cifar10/cifar-10-batches-py-subset/" in msg
    assert str(tmp_path) in msg and "dataset.download=true" in msg


def test_cifar_bad_variant(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'subset'"):
        load_cifar10(DataStore(tmp_path), CifarOptions("subst"))


# -- the real files, when this checkout has them ----------------------------------------------


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/datasets is not available")
def test_real_datasets_verified():
    store = DataStore(SHARED, verify=True)
    mnist = load_mnist(store, NoOptions())
    check_splits(mnist, 60000, 10000, (28, 28, 1))
    assert np.bincount(mnist.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    fashion = load_fashion_mnist(store, NoOptions())
    check_splits(fashion, 60000, 10000, (28, 28, 1))
    assert np.bincount(fashion.y_train).tolist() == [6000] * 10
    cifar = load_cifar10(store, CifarOptions("auto"))  # only the subset is shared
    check_splits(cifar, 5000, 1000, (32, 32, 3))
    assert cifar.y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    # The README's first red values of batch 1 images 0 and 1 pin the channel-major reordering.
    assert cifar.x_train[0, 0, :3, 0].tolist() == [59, 43, 50]
    assert cifar.x_train[1, 0, :3, 0].tolist() == [154, 126, 105]
    assert np.bincount(cifar.y_test).tolist() == [103, 89, 100, 103, 90, 86, 112, 102, 106, 109]
