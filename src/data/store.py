"""Offline-first access to dataset files under a data root laid out like shared/datasets.

Every file the loaders read goes through `DataStore.file`, which checks it against a table of
known checksums and, only when allowed, downloads what is missing. Files on disk are never
deleted or overwritten: a corrupt file is reported and kept, so that nothing the user put there
(or paid bandwidth for) disappears behind their back.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from adl_runner.kernel.errors import DataError
from adl_runner.kernel.files import write_atomic

log = logging.getLogger(__name__)

KERAS_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_ARCHIVE = "cifar10/cifar-10-python.tar.gz"
CIFAR_FULL_DIR = "cifar10/cifar-10-batches-py"
CIFAR_SUBSET_DIR = "cifar10/cifar-10-batches-py-subset"
CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"
SVHN_FILES = {"train": "svhn/train_32x32.mat", "test": "svhn/test_32x32.mat"}
DRINKS_DIR = "drinks"
DRINKS_LABELS = {"train": f"{DRINKS_DIR}/labels_train.csv", "test": f"{DRINKS_DIR}/labels_test.csv"}
DRINKS_POLYGONS = {"train": f"{DRINKS_DIR}/segmentation_train.json", "test": f"{DRINKS_DIR}/segmentation_test.json"}
DRINKS_MANUAL = (
    "the drinks dataset cannot be downloaded automatically (the book's copy is on Google Drive): get drinks.tar.gz "
    "from https://bit.ly/adl2-ssd and unpack it in {root}, so that {root}/drinks/ holds its jpgs and CSVs"
)

_CHUNK = 1 << 20
_DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class KnownFile:
    """What we know about one file: its checksum and where it can be fetched from.

    `archive` names (by relpath) a known archive that contains this file; `extract_to` is the
    folder (relpath) an archive is unpacked into once it is present.
    """

    algo: str  # "sha256" or "md5" (md5 only where upstream publishes nothing better)
    digest: str
    url: str | None = None
    archive: str | None = None
    extract_to: str | None = None
    manual: str | None = None
    """How to get the file by hand where nothing can fetch it ("{root}": the data root)."""


# Digests are from shared/datasets/README.md (sha256 where known, else the upstream md5).
_FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
# The subset (first 1000 images of each upstream batch) exists only locally: no URL.
_CIFAR_SUBSET_SHA256 = {
    "data_batch_1": "149ef1434e5dda65042dd1ef190ae188f53196571abda3f5a36f6f363d3de459",
    "data_batch_2": "ee90b5c2fb24a1b2dd01c23c7803323b9f46b3914e77475cccce003269126b8b",
    "data_batch_3": "7cd09359d91382ed37af81f38415a97579c1ba134e33e39d460bc2bbc3d2bb46",
    "data_batch_4": "b4c20010dc4202497a05d2a4b1f901cfd5d74fcfe58c5ec91600abfe31efc7f1",
    "data_batch_5": "f940a1576e4cd90d10d3747b5f0c284f34adc5df72a1613ef3c2ead6e520dcf7",
    "test_batch": "58adba95d598c42d22b58fddeca750ad201561661e0f50e61afc4a638016c49e",
    "batches.meta": "f962466ef690d46b226450fb9aadc74ba4bc64a76aa526b5827fe4bc5c7125cb",
    "readme.html": "4d1c3fb199d6a183ae03f5162b469d7bc04edf2fad9547bd5f224271d52f98e5",
}
# The full batches come out of the archive; upstream publishes only md5s for them.
_CIFAR_FULL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
_CIFAR_ARCHIVE_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
# SVHN cropped digits: upstream publishes no digests; these md5s are the ones torchvision checks
# (datasets/svhn.py) and shared/datasets/README.md records (182,040,794 B and 64,275,384 B).
_SVHN_MD5 = {
    SVHN_FILES["train"]: "e26dedcc434d2e4c54c9b2d4a06d8373",
    SVHN_FILES["test"]: "eb5a983be6a315427106f1b164d9cef3",
}
_DRINKS_SHA256 = {
    DRINKS_LABELS["train"]: "093960a081a16c024980b91ec5c398ac2e7fb7e2b336dd53d78ed95b3f46812d",
    DRINKS_LABELS["test"]: "b43916e0b977e31870a452c32fd6e3538101313155b262496bccbd3a975b2587",
    DRINKS_POLYGONS["train"]: "924f6aff8c8519b044bc677f14aeae6cefb82d3ba49474a5e60e7e6cda35f7b5",
    DRINKS_POLYGONS["test"]: "60d6ac0760b5d6d32ec51044d7add99fd99047e8ca377bef02d7cb30c05a0017",
}

# Keyed by path relative to the data root.
KNOWN_FILES: dict[str, KnownFile] = {
    "mnist/mnist.npz": KnownFile(
        "sha256", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", KERAS_BASE + "mnist.npz"
    ),
    **{f"fashion-mnist/{n}": KnownFile("sha256", d, KERAS_BASE + n) for n, d in _FASHION_SHA256.items()},
    **{f"{CIFAR_SUBSET_DIR}/{n}": KnownFile("sha256", d) for n, d in _CIFAR_SUBSET_SHA256.items()},
    **{f"{CIFAR_FULL_DIR}/{n}": KnownFile("md5", d, archive=CIFAR_ARCHIVE) for n, d in _CIFAR_FULL_MD5.items()},
    CIFAR_ARCHIVE: KnownFile("sha256", _CIFAR_ARCHIVE_SHA256, CIFAR_URL, extract_to="cifar10"),
    **{rel: KnownFile("md5", d, SVHN_URL + Path(rel).name) for rel, d in _SVHN_MD5.items()},
    **{rel: KnownFile("sha256", d, manual=DRINKS_MANUAL) for rel, d in _DRINKS_SHA256.items()},
}

# (absolute path, algo) -> (size, mtime_ns, digest). Hashing is the slow part, and a run loads the
# same files several times; size+mtime notice a file replaced while the process runs.
_DIGESTS: dict[tuple[str, str], tuple[int, int, str]] = {}


def one_line(text: object) -> str:
    """`text` with all whitespace runs (newlines included) collapsed: CLI errors are one line."""
    return " ".join(str(text).split())


def file_digest(path: Path, algo: str) -> str:
    """The hex digest of `path`, cached per process while its size and mtime do not change."""
    st = path.stat()
    key = (str(path.resolve()), algo)
    cached = _DIGESTS.get(key)
    if cached and cached[:2] == (st.st_size, st.st_mtime_ns):
        return cached[2]
    h = hashlib.new(algo)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    _DIGESTS[key] = (st.st_size, st.st_mtime_ns, h.hexdigest())
    return h.hexdigest()


class DataStore:
    """Resolves dataset files under `root`, verifying and (if allowed) downloading them."""

    def __init__(self, root: Path | str, verify: bool = True, download: bool = False) -> None:
        self.root = Path(root).expanduser()
        self.verify = verify
        self.download = download

    def exists(self, relpath: str) -> bool:
        return (self.root / relpath).is_file()

    def file(self, relpath: str) -> Path:
        """The verified path of `relpath`, fetched first when missing and allowed; else DataError."""
        path = self.root / relpath
        known = KNOWN_FILES.get(relpath)
        if not path.is_file() and known is not None:
            self._fetch(relpath, known)
        if not path.is_file():
            raise DataError(self._missing_message(relpath, known))
        if self.verify and known is not None:
            self._check(path, known)
        return path

    # -- missing files -------------------------------------------------------------------------

    def _fetch(self, relpath: str, known: KnownFile) -> None:
        """Try to make `relpath` exist: download it, or unpack it from its archive."""
        if known.url is not None and self.download:
            self._download(relpath, known)
        elif known.archive is not None:
            archive = KNOWN_FILES[known.archive]
            # A local archive is unpacked even offline: that needs no network.
            if (self.root / known.archive).is_file() or (self.download and archive.url):
                self._extract(self.file(known.archive), archive)

    def _missing_message(self, relpath: str, known: KnownFile | None) -> str:
        where = f"{relpath} not found in {self.root}"
        hint = "set RUNNER_DATA_DIR or paths.data_dir to a folder laid out like shared/datasets"
        downloadable = known is not None and (known.url is not None or known.archive is not None)
        if known is not None and known.manual is not None and not downloadable:
            return f"{where}; {known.manual.format(root=self.root)} ({hint})"
        if not downloadable:
            return f"{where} and it cannot be downloaded (no public URL for it; {hint})"
        if self.download:  # only reached when the archive did not contain it
            return f"{where}, not even after unpacking {known.archive} ({hint})"
        return f"{where} ({hint}, or allow dataset.download=true)"

    def _download(self, relpath: str, known: KnownFile) -> None:
        """Download into a temp file next to the target, verify, then rename it into place.

        Downloads are always verified, whatever `verify` says: a fresh copy that does not match
        is a broken transfer or a changed upstream, and keeping it would plant a bad file.
        """
        assert known.url is not None
        path = self.root / relpath
        digest = hashlib.new(known.algo)

        def fetch(tmp: Path) -> None:
            log.info("downloading %s to %s", known.url, path)
            try:
                with tmp.open("wb") as out, urllib.request.urlopen(known.url, timeout=_DOWNLOAD_TIMEOUT_S) as resp:
                    while chunk := resp.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            except Exception as exc:  # URLError, HTTPError, timeouts, bad URLs, disk full...
                msg = f"download of {known.url} failed: {exc}; nothing was saved to {path}"
                raise DataError(one_line(msg)) from None
            if digest.hexdigest() != known.digest:
                raise DataError(
                    one_line(
                        f"download of {known.url} does not match its checksum: expected {known.algo} {known.digest}, "
                        f"got {digest.hexdigest()}; nothing was saved to {path}"
                    )
                )

        try:
            write_atomic(path, fetch)
        except OSError as exc:
            raise DataError(one_line(f"cannot save the download of {known.url} as {path}: {exc}")) from None
        st = path.stat()  # the fresh copy was just hashed: spare the verify step a second pass
        _DIGESTS[(str(path.resolve()), known.algo)] = (st.st_size, st.st_mtime_ns, digest.hexdigest())

    def _extract(self, archive_path: Path, archive: KnownFile) -> None:
        """Unpack into a temp folder next to the target, then rename whatever is missing into place.

        Nothing that already exists is overwritten, so a half-present folder is completed, never
        clobbered, and an interrupted unpack leaves no half-written file under a real name.
        """
        dest = self.root / (archive.extract_to or ".")
        try:
            tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
        except OSError as exc:
            raise DataError(one_line(f"cannot unpack {archive_path} into {dest}: {exc}")) from None
        try:
            log.info("unpacking %s into %s", archive_path, dest)
            try:
                with tarfile.open(archive_path) as tar:
                    _safe_extractall(tar, tmp)
            except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
                raise DataError(one_line(f"cannot unpack {archive_path}: {exc}; the archive was kept")) from None
            try:
                _move_missing(tmp, dest)
            except OSError as exc:
                msg = f"cannot move the files unpacked from {archive_path} into {dest}: {exc}"
                raise DataError(one_line(msg)) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # -- existing files ------------------------------------------------------------------------

    def _check(self, path: Path, known: KnownFile) -> None:
        actual = file_digest(path, known.algo)
        if actual != known.digest:
            raise DataError(
                one_line(
                    f"checksum mismatch for {path}: expected {known.algo} {known.digest}, got {actual}; "
                    "the file was kept as it is: replace it with a good copy, "
                    "or set dataset.verify_checksums=false to use it anyway"
                )
            )


def _move_missing(src: Path, dst: Path) -> None:
    """Rename each entry of `src` into `dst` unless `dst` already has it; recurse into folders."""
    for entry in src.iterdir():
        target = dst / entry.name
        if not target.exists():
            try:
                os.rename(entry, target)
                continue
            except OSError:
                if not target.exists():  # else another process unpacked it first: merge below
                    raise
        if entry.is_dir() and target.is_dir():
            _move_missing(entry, target)


def _safe_extractall(tar: tarfile.TarFile, dest: Path) -> None:
    """extractall that refuses links, devices and paths escaping `dest` (a downloaded archive)."""
    if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 does exactly this
        tar.extractall(dest, filter="data")
        return
    for member in tar.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"refusing to unpack member {member.name!r}")
    tar.extractall(dest)
