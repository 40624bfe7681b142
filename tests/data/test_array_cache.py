"""The memory-mapped array cache: keyed by content, rebuilt when broken, never required, never shared writes;
MNIST, Fashion-MNIST and CIFAR-10 load through it with the same arrays as uncached."""

from __future__ import annotations

import numpy as np
import pytest

from adl_runner.data import array_cache
from adl_runner.data.array_cache import cached_folder, npz_arrays
from adl_runner.data.splits import NoOptions
from adl_runner.data.store import DataStore
from adl_runner.data.synthetic import write_cifar10, write_fashion_mnist, write_mnist_npz
from adl_runner.data.vision import CifarOptions, load_cifar10, load_fashion_mnist, load_mnist
from adl_runner.kernel.errors import DataError

NAMES = ("x_train", "y_train", "x_test", "y_test")


def _plain(path):
    with np.load(path) as z:
        return {n: z[n] for n in NAMES}


def test_second_load_maps_the_cached_copies(tmp_path):
    path = write_mnist_npz(tmp_path / "data", n_train=20, n_test=5, seed=1)
    first = npz_arrays(path, NAMES, tmp_path / "cache")
    assert sorted(p.name for p in cached_folder(path, tmp_path / "cache").iterdir()) == sorted(f"{n}.npy" for n in NAMES)
    second = npz_arrays(path, NAMES, tmp_path / "cache")
    expected = _plain(path)
    for n in NAMES:
        assert not isinstance(first[n], np.memmap) and isinstance(second[n], np.memmap)
        np.testing.assert_array_equal(second[n], expected[n])
        assert second[n].dtype == expected[n].dtype


def test_a_changed_file_never_meets_the_old_copy(tmp_path):
    path = write_mnist_npz(tmp_path / "data", n_train=20, n_test=5, seed=1)
    npz_arrays(path, NAMES, tmp_path / "cache")
    write_mnist_npz(tmp_path / "data", n_train=20, n_test=5, seed=2)  # same name, other content
    got = npz_arrays(path, NAMES, tmp_path / "cache")
    np.testing.assert_array_equal(got["x_train"], _plain(path)["x_train"])
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_edits_stay_private_to_the_caller(tmp_path):
    path = write_mnist_npz(tmp_path / "data", n_train=20, n_test=5)
    npz_arrays(path, NAMES, tmp_path / "cache")
    mapped = npz_arrays(path, NAMES, tmp_path / "cache")["x_train"]
    mapped[:] = 7
    np.testing.assert_array_equal(npz_arrays(path, NAMES, tmp_path / "cache")["x_train"], _plain(path)["x_train"])


def test_a_broken_copy_is_rebuilt(tmp_path):
    path = write_mnist_npz(tmp_path / "data", n_train=20, n_test=5)
    npz_arrays(path, NAMES, tmp_path / "cache")
    copy = cached_folder(path, tmp_path / "cache") / "x_train.npy"
    copy.write_bytes(copy.read_bytes()[:200])  # truncated
    np.testing.assert_array_equal(npz_arrays(path, NAMES, tmp_path / "cache")["x_train"], _plain(path)["x_train"])
    assert isinstance(npz_arrays(path, NAMES, tmp_path / "cache")["x_train"], np.memmap)


def test_an_unwritable_cache_only_costs_the_speed_up(tmp_path, caplog):
    path = write_mnist_npz(tmp_path / "data", n_train=20, n_test=5)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder would go")
    got = npz_arrays(path, NAMES, blocker)
    np.testing.assert_array_equal(got["y_test"], _plain(path)["y_test"])
    assert "cannot cache the arrays" in caplog.text


def test_load_mnist_goes_through_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(array_cache, "user_cache_dir", lambda: tmp_path / "user")
    write_mnist_npz(tmp_path / "data", n_train=30, n_test=10)
    store = DataStore(tmp_path / "data", verify=False)
    load_mnist(store, NoOptions())
    again = load_mnist(store, NoOptions())
    assert isinstance(again.x_train, np.memmap) and again.x_train.shape == (30, 28, 28, 1)
    assert list((tmp_path / "user" / "arrays").iterdir())[0].name.startswith("mnist-")


def test_a_corrupt_npz_is_still_an_error_naming_it(tmp_path):
    path = write_mnist_npz(tmp_path / "data", n_train=30, n_test=10)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=f"{path} is not a valid MNIST .npz"):
        load_mnist(DataStore(tmp_path / "data", verify=False), NoOptions())


@pytest.mark.parametrize(
    "write, load, opts, stems",
    [
        (write_fashion_mnist, load_fashion_mnist, NoOptions(), {"train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}),
        (write_cifar10, load_cifar10, CifarOptions(), {"data_batch_1", "test_batch"}),
    ],
    ids=["fashion_mnist", "cifar10"],
)
def test_other_decoded_sets_map_the_same_arrays(tmp_path, monkeypatch, write, load, opts, stems):
    write(tmp_path / "data")
    store = DataStore(tmp_path / "data", verify=False)
    monkeypatch.setattr(array_cache, "user_cache_dir", lambda: tmp_path / "user")
    first = load(store, opts)
    again = load(store, opts)
    cached = {p.name.rsplit("-", 1)[0] for p in (tmp_path / "user" / "arrays").iterdir()}
    assert stems <= cached
    for split in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(again, split), getattr(first, split))
        assert getattr(again, split).dtype == getattr(first, split).dtype
    assert isinstance(again.x_test, np.memmap)


def test_a_corrupt_source_is_reported_not_served_from_an_old_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(array_cache, "user_cache_dir", lambda: tmp_path / "user")
    paths = write_fashion_mnist(tmp_path / "data")
    store = DataStore(tmp_path / "data", verify=False)
    load_fashion_mnist(store, NoOptions())
    labels = next(p for p in paths if p.name.startswith("t10k-labels"))
    labels.write_bytes(labels.read_bytes()[:20])  # truncated gzip: a new digest, so decoded again
    with pytest.raises(DataError, match=f"{labels} is not a valid gzipped idx file"):
        load_fashion_mnist(store, NoOptions())
