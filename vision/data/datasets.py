"""Datasets as tensors: the embedded ``digits`` with fixed stratified splits by seed.

``load_digits_split(seed)`` returns train/val/test splits of scikit-learn's 8x8 digits
(1,797 images, 16 grey levels) as float tensors in [0, 1] of shape (N, 1, 8, 8) and int64 labels.
The split is stratified and depends only on the seed: 60% train, 20% validation, 20% test.

MNIST, Fashion-MNIST and CIFAR-10 from their standard files, without torchvision.

Files live in a cache folder, ``<root>/<name>/`` with ``root`` = the ``root=`` argument, else
``$GYMLAB_DATA``, else ``~/.cache/gymlab/data``. Missing files are downloaded (urllib) from the
first mirror that answers and checked against their published MD5, or, for MNIST, against the
SHA-256 of the official decompressed IDX bytes (so a re-compressed mirror verifies); a corrupt file
fails with one ValueError that names it. Offline with no files,
``FileNotFoundError`` names the files and the folder to put them in.

Formats:
  IDX (MNIST, Fashion-MNIST; optionally gzipped): a 4-byte magic 0x00 0x00 <type> <ndim>, then ndim
      big-endian uint32 sizes, then the data in C order (type 0x08: uint8).
  CIFAR-10 python batches: pickles of a dict with b"data" (N, 3072) uint8 (1024 red, 1024 green,
      1024 blue, each 32x32 row-major) and b"labels" (N ints); shipped in cifar-10-python.tar.gz.

``load(name, seed)`` returns any of them as a ``Dataset`` (train/val/test ``Split``s of float
tensors in [0, 1], shape (N, C, H, W), and int64 labels).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from gymlab.vision.data.splits import load_digits, train_test_split

from gymlab.vision.data.safe_load import load_pickle


@dataclass
class Split:
    x: torch.Tensor  # (N, C, H, W) float32
    y: torch.Tensor  # (N,) int64

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    train: Split
    val: Split
    test: Split
    num_classes: int
    name: str

    @property
    def shape(self) -> tuple:
        return tuple(self.train.x.shape[1:])


def load_digits_split(seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2) -> Dataset:
    images, target = load_digits()
    x = (images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8) in [0, 1]
    return stratified_splits(x, target.astype(np.int64), seed, "digits", 10, val_fraction, test_fraction)


def stratified_splits(x: np.ndarray, y: np.ndarray, seed: int, name: str, num_classes: int,
                      val_fraction: float = 0.2, test_fraction: float = 0.2) -> Dataset:
    """Train/val/test splits of one labelled set (float32 images in [0, 1], int64 labels), stratified by
    class and fixed by the seed: the test split first, then the validation split from the rest."""
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_fraction, stratify=y, seed=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), stratify=y[rest], seed=seed)

    def split(i):
        return Split(torch.from_numpy(x[i]), torch.from_numpy(y[i]))

    return Dataset(split(train), split(val), split(test), num_classes=num_classes, name=name)


def standardize(train: torch.Tensor, *others: torch.Tensor, eps: float = 1e-8):
    """The notes' preprocessing on flattened features: subtract the training mean, divide by its std.

    Statistics come from the training split only and are applied to every split.
    """
    flat = train.reshape(len(train), -1)
    mean, std = flat.mean(0), flat.std(0)
    std = torch.where(std > eps, std, torch.ones_like(std))
    out = [(t.reshape(len(t), -1) - mean) / std for t in (train, *others)]
    return out[0] if not others else tuple(out)


# ----------------------------------------------------------------------------- standard files
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10")


@dataclass
class Source:
    """Where a dataset's files come from: mirrors (URL prefixes) and each file's MD5.

    ``archive``: a tar.gz to download instead of the files, which are then extracted from it into
    ``<folder>/<subdir>``.
    """

    name: str
    mirrors: list
    files: dict  # file name -> md5 (of the file as published: the .gz for IDX files)
    archive: Optional[tuple] = None  # (file name, md5)
    subdir: str = ""
    content: dict = field(default_factory=dict)  # .gz file name -> sha256 of its decompressed bytes


_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz")
SOURCES = {
    "mnist": Source("mnist", ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                              "http://yann.lecun.com/exdb/mnist/"],
                    dict(zip(_IDX, ["f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                                    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"])),
                    # SHA-256 of the official decompressed IDX bytes: a re-compressed mirror verifies too
                    content=dict(zip(_IDX, [
                        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"]))),
    "fashion-mnist": Source("fashion-mnist", ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                                              "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
                            dict(zip(_IDX, ["8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                                            "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"]))),
    "cifar10": Source("cifar10", ["https://www.cs.toronto.edu/~kriz/"],
                      {"data_batch_1": "c99cafc152244af753f735de768cd75f",
                       "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
                       "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
                       "data_batch_4": "634d18415352ddfa80567beed471001a",
                       "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
                       "test_batch": "40351d587109b95175f43aff81a1287e",
                       "batches.meta": "5ff9c542aee3614f3951f8cda6e48888"},
                      archive=("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),
                      subdir="cifar-10-batches-py"),
}


def data_root(root=None) -> Path:
    """The cache folder: ``root``, else $GYMLAB_DATA, else ~/.cache/gymlab/data."""
    if root is not None:
        return Path(root).expanduser()
    return Path(os.environ.get("GYMLAB_DATA", "~/.cache/gymlab/data")).expanduser()


def md5sum(path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def check_md5(path, expected: str) -> None:
    """ValueError when the file's MD5 is not ``expected`` (a truncated or wrong download)."""
    got = md5sum(path)
    if got != expected:
        raise ValueError(f"checksum mismatch for {path}: md5 {got}, expected {expected}; delete it and retry")


def content_sha256(path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a gzipped file's decompressed bytes; ValueError (one line, with the path) when it
    does not decompress."""
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(chunk), b""):
                h.update(block)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise ValueError(f"{path} does not decompress ({type(e).__name__}: {e}); delete it and retry") from None
    return h.hexdigest()


def verify_file(path, md5: str, sha256: Optional[str] = None) -> None:
    """Accept ``path`` when its MD5 is the published ``md5`` or, for a gzipped file with a known
    ``sha256`` of its decompressed bytes, when those bytes are the published content (a mirror that
    re-compressed the same data). Else one ValueError naming the path."""
    got = md5sum(path)
    if got == md5:
        return
    if sha256 is None:
        raise ValueError(f"checksum mismatch for {path}: md5 {got}, expected {md5}; delete it and retry")
    content = content_sha256(path)
    if content != sha256:
        raise ValueError(f"checksum mismatch for {path}: md5 {got} (expected {md5}) and decompressed sha256 "
                         f"{content} (expected {sha256}); delete it and retry")


def _download(url: str, dest: Path, timeout: float = 60.0) -> None:
    part = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=timeout) as r, open(part, "wb") as f:
        while block := r.read(1 << 20):
            f.write(block)
    part.replace(dest)


def _fetch_file(name: str, md5: str, folder: Path, mirrors: list, sha256: Optional[str] = None) -> Optional[str]:
    """Download ``name`` into ``folder`` from the first mirror that works; return the last error or None."""
    error = None
    for mirror in mirrors:
        dest = folder / name
        try:
            _download(mirror + name, dest)
        except OSError as e:  # URLError, HTTPError, timeouts and file errors are all OSErrors
            error = f"{mirror + name}: {e}"
            continue
        try:
            verify_file(dest, md5, sha256)
        except ValueError:
            dest.unlink()
            error = f"{mirror + name}: checksum mismatch"
            continue
        return None
    return error


def fetch(source: Source, root=None, download: bool = True, verify: bool = True) -> Path:
    """Make sure ``source``'s files are in ``<root>/<name>/[subdir]``; return that folder.

    Present files are checked against their MD5 (``verify``); absent ones downloaded when
    ``download``; otherwise, or when every mirror fails, one FileNotFoundError that names the
    missing files, the folder and where to get them.
    """
    folder = data_root(root) / source.name
    target = folder / source.subdir if source.subdir else folder
    missing = [n for n in source.files if not (target / n).exists()]
    error = None
    if missing and download:
        folder.mkdir(parents=True, exist_ok=True)
        if source.archive is not None:
            arch, arch_md5 = source.archive
            if not (folder / arch).exists():
                error = _fetch_file(arch, arch_md5, folder, source.mirrors)
            if error is None:
                check_md5(folder / arch, arch_md5)
                with tarfile.open(folder / arch, "r:gz") as tar:
                    tar.extractall(folder, filter="data")
        else:
            for n in missing:
                error = _fetch_file(n, source.files[n], folder, source.mirrors, source.content.get(n)) or error
        missing = [n for n in source.files if not (target / n).exists()]
    if missing:
        what = (f"{source.archive[0]} (or its {source.subdir}/ folder)" if source.archive
                else ", ".join(missing))
        why = f"download failed ({error})" if error else "download=False" if not download else "not in the archive"
        raise FileNotFoundError(
            f"{source.name}: missing {', '.join(missing)} in {target}; {why}. Put {what} from "
            f"{source.mirrors[0]} into {folder}, or point root= / $GYMLAB_DATA at a folder that has them")
    if verify:
        for n, md5 in source.files.items():
            verify_file(target / n, md5, source.content.get(n))
    return target


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped when its name ends in .gz) into a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:  # a truncated or damaged download
        raise ValueError(f"{path} is truncated or not valid gzip ({type(e).__name__}); delete it and fetch it "
                         f"again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    types = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in types:
        raise ValueError(f"{path}: unknown IDX data type 0x{raw[2]:02x}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=types[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {data.size} values")
    return data.reshape(shape)


def write_idx(path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def read_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images (N, 3, 32, 32) uint8 and labels (N,) int64.

    The batch is a pickle, read by ``safe_load.load_pickle``: only builtins and NumPy arrays are built,
    so a planted file cannot run code, whether or not its MD5 was checked (``verify=False``). A file
    that is not such a batch raises ValueError naming it."""
    try:
        with open(path, "rb") as f:
            d = load_pickle(f, encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        y = np.asarray(d[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise ValueError(f"{path} is not a CIFAR-10 python batch ({type(e).__name__}: {e})") from None
    if len(x) != len(y):
        raise ValueError(f"{path} is not a CIFAR-10 python batch: {len(x)} images but {len(y)} labels")
    return x, y


def write_cifar_batch(path, images: np.ndarray, labels) -> None:
    """Write (N, 3, 32, 32) uint8 images and labels in the CIFAR-10 python batch format."""
    data = np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), -1)
    with open(path, "wb") as f:
        pickle.dump({b"batch_label": b"gymlab", b"labels": [int(v) for v in labels], b"data": data,
                     b"filenames": [b"%d.png" % i for i in range(len(data))]}, f)


def _holdout(x: np.ndarray, y: np.ndarray, xte: np.ndarray, yte: np.ndarray, seed: int, val_fraction: float,
             name: str, num_classes: int) -> Dataset:
    """A stratified validation split (by seed) from the official training set; the test set as published."""
    idx = np.arange(len(y))
    try:
        tr, va = train_test_split(idx, test_size=val_fraction, stratify=y, seed=seed)
    except ValueError:  # too few images per class to stratify (tiny test files): a plain random split
        tr, va = train_test_split(idx, test_size=val_fraction, seed=seed)

    def split(xs, ys):
        return Split(torch.from_numpy(xs.astype(np.float32) / 255.0), torch.from_numpy(ys.astype(np.int64)))

    return Dataset(split(x[tr], y[tr]), split(x[va], y[va]), split(xte, yte), num_classes, name)


def load_idx_dataset(name: str, seed: int = 0, root=None, download: bool = True, verify: bool = True,
                     val_fraction: float = 1 / 12) -> Dataset:
    """MNIST or Fashion-MNIST: (N, 1, 28, 28) floats in [0, 1]; 55,000 / 5,000 / 10,000 by default."""
    folder = fetch(SOURCES[name], root, download, verify)
    x, y = read_idx(folder / _IDX[0]), read_idx(folder / _IDX[1])
    xte, yte = read_idx(folder / _IDX[2]), read_idx(folder / _IDX[3])
    return _holdout(x[:, None], y, xte[:, None], yte, seed, val_fraction, name, 10)


def load_cifar10(seed: int = 0, root=None, download: bool = True, verify: bool = True,
                 val_fraction: float = 0.1) -> Dataset:
    """CIFAR-10: (N, 3, 32, 32) floats in [0, 1]; 45,000 / 5,000 / 10,000 by default."""
    folder = fetch(SOURCES["cifar10"], root, download, verify)
    parts = [read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    xte, yte = read_cifar_batch(folder / "test_batch")
    return _holdout(x, y, xte, yte, seed, val_fraction, "cifar10", 10)


def load(name: str, seed: int = 0, root=None, download: bool = True, verify: bool = True) -> Dataset:
    """Any dataset by name: digits | mnist | fashion-mnist | cifar10."""
    if name == "digits":
        return load_digits_split(seed)
    if name in ("mnist", "fashion-mnist"):
        return load_idx_dataset(name, seed, root, download, verify)
    if name == "cifar10":
        return load_cifar10(seed, root, download, verify)
    raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
