import gzip

import numpy as np
import pytest
import torch

from gymlab.vision.data import datasets as D


def _write_idx_set(folder, n_train=30, n_test=10, seed=0):
    """Tiny MNIST-format files (every class at least twice) and their MD5s."""
    rng = np.random.default_rng(seed)
    arrays = {D._IDX[0]: rng.integers(0, 256, (n_train, 28, 28)), D._IDX[1]: np.arange(n_train) % 10,
              D._IDX[2]: rng.integers(0, 256, (n_test, 28, 28)), D._IDX[3]: np.arange(n_test) % 10}
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        D.write_idx(folder / name, a)
    return arrays, {name: D.md5sum(folder / name) for name in arrays}


def test_idx_round_trip_and_header(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    D.write_idx(tmp_path / "x-idx3-ubyte", a)
    raw = (tmp_path / "x-idx3-ubyte").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3]) and raw[4:8] == (2).to_bytes(4, "big") and len(raw) == 16 + 24
    np.testing.assert_array_equal(D.read_idx(tmp_path / "x-idx3-ubyte"), a)
    D.write_idx(tmp_path / "y-idx1-ubyte.gz", np.array([7, 1, 9]))
    with gzip.open(tmp_path / "y-idx1-ubyte.gz") as f:
        assert f.read()[:4] == bytes([0, 0, 8, 1])
    np.testing.assert_array_equal(D.read_idx(tmp_path / "y-idx1-ubyte.gz"), [7, 1, 9])
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        D.read_idx(tmp_path / "bad")


def test_cifar_batch_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5, 3, 32, 32), dtype=np.uint8)
    D.write_cifar_batch(tmp_path / "data_batch_1", x, [0, 1, 2, 3, 9])
    xr, yr = D.read_cifar_batch(tmp_path / "data_batch_1")
    np.testing.assert_array_equal(xr, x)
    assert yr.tolist() == [0, 1, 2, 3, 9]
    # the layout of the real files: row-major red plane, then green, then blue
    import pickle

    d = pickle.load(open(tmp_path / "data_batch_1", "rb"), encoding="bytes")
    assert d[b"data"][0, 1024 + 33] == x[0, 1, 1, 1]


def test_download_from_mirror_checks_md5_and_loads(tmp_path, monkeypatch):
    arrays, md5 = _write_idx_set(tmp_path / "mirror")
    src = D.Source("mnist", ["file:///nonexistent-mirror/", (tmp_path / "mirror").as_uri() + "/"], md5)
    monkeypatch.setitem(D.SOURCES, "mnist", src)
    ds = D.load("mnist", seed=0, root=tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == sorted(md5)
    assert ds.shape == (1, 28, 28) and len(ds.train) + len(ds.val) == 30 and len(ds.test) == 10
    assert ds.train.x.dtype == torch.float32 and 0.0 <= ds.train.x.min() and ds.train.x.max() <= 1.0
    np.testing.assert_allclose(ds.test.x[:, 0].numpy() * 255, arrays[D._IDX[2]], atol=1e-3)
    # the same seed gives the same split; labels stay attached to their images
    again = D.load("mnist", seed=0, root=tmp_path / "cache", download=False)
    assert torch.equal(ds.val.x, again.val.x)
    train_imgs = {tuple((arrays[D._IDX[0]][i]).ravel()[:20]): arrays[D._IDX[1]][i] for i in range(30)}
    for x, y in zip(ds.val.x, ds.val.y):
        assert train_imgs[tuple(np.rint(x[0].numpy().ravel()[:20] * 255).astype(int))] == y.item()
    # a corrupted file fails the check
    (tmp_path / "cache" / "mnist" / D._IDX[3]).write_bytes(b"junk")
    with pytest.raises(ValueError, match="checksum mismatch"):
        D.load("mnist", root=tmp_path / "cache", download=False)


def test_bad_download_is_rejected(tmp_path, monkeypatch):
    _, md5 = _write_idx_set(tmp_path / "mirror")
    md5[D._IDX[0]] = "0" * 32
    src = D.Source("fashion-mnist", [(tmp_path / "mirror").as_uri() + "/"], md5)
    monkeypatch.setitem(D.SOURCES, "fashion-mnist", src)
    with pytest.raises(FileNotFoundError, match="checksum mismatch"):
        D.load("fashion-mnist", root=tmp_path / "cache")
    assert not (tmp_path / "cache" / "fashion-mnist" / D._IDX[0]).exists()


def test_offline_error_names_files_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GYMLAB_DATA", str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError) as e:
        D.load("mnist", download=False)
    msg = str(e.value)
    assert str(tmp_path / "data" / "mnist") in msg and all(n in msg for n in D._IDX) and "\n" not in msg
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
        D.load("cifar10", download=False)
    with pytest.raises(ValueError, match="valid: digits, mnist, fashion-mnist, cifar10"):
        D.load("imagenet")


def test_cifar10_from_archive(tmp_path, monkeypatch):
    import tarfile

    rng = np.random.default_rng(1)
    batches = tmp_path / "build" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        D.write_cifar_batch(batches / name, rng.integers(0, 256, (10, 3, 32, 32)), np.arange(10))
    import pickle

    pickle.dump({b"label_names": [b"airplane"] * 10}, open(batches / "batches.meta", "wb"))
    md5 = {p.name: D.md5sum(p) for p in batches.iterdir()}
    (tmp_path / "mirror").mkdir()
    with tarfile.open(tmp_path / "mirror" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(batches, arcname="cifar-10-batches-py")
    src = D.Source("cifar10", [(tmp_path / "mirror").as_uri() + "/"], md5,
                   archive=("cifar-10-python.tar.gz", D.md5sum(tmp_path / "mirror" / "cifar-10-python.tar.gz")),
                   subdir="cifar-10-batches-py")
    monkeypatch.setitem(D.SOURCES, "cifar10", src)
    ds = D.load("cifar10", root=tmp_path / "cache")
    assert ds.shape == (3, 32, 32) and len(ds.train) + len(ds.val) == 50 and len(ds.test) == 10
    assert len(ds.val) == 5 and ds.test.y.tolist() == list(range(10))


def test_digits_split_is_stratified_and_fixed_by_seed():
    a, b, c = D.load_digits_split(0), D.load_digits_split(0), D.load_digits_split(1)
    assert torch.equal(a.test.y, b.test.y) and not torch.equal(a.test.y, c.test.y)
    assert len(a.train) + len(a.val) + len(a.test) == 1797
    counts = a.test.y.bincount()
    assert counts.max() - counts.min() <= 2


def test_recompressed_file_verifies_by_decompressed_sha256(tmp_path, monkeypatch):
    """A mirror that re-gzipped the official bytes: its .gz MD5 differs, the decompressed SHA-256 matches."""
    import hashlib

    arrays, md5 = _write_idx_set(tmp_path / "official")
    content = {n: hashlib.sha256(gzip.decompress((tmp_path / "official" / n).read_bytes())).hexdigest() for n in md5}
    mirror = tmp_path / "cache" / "mnist"
    mirror.mkdir(parents=True)
    for n in md5:  # same IDX bytes, another compression level and timestamp: another .gz
        raw = gzip.decompress((tmp_path / "official" / n).read_bytes())
        (mirror / n).write_bytes(gzip.compress(raw, compresslevel=1, mtime=12345))
        assert D.md5sum(mirror / n) != md5[n]
    monkeypatch.setitem(D.SOURCES, "mnist", D.Source("mnist", [], md5, content=content))
    ds = D.load("mnist", root=tmp_path / "cache", download=False)
    np.testing.assert_allclose(ds.test.x[:, 0].numpy() * 255, arrays[D._IDX[2]], atol=1e-3)
    # without the content hash, the MD5 alone rejects the re-compressed file
    monkeypatch.setitem(D.SOURCES, "mnist", D.Source("mnist", [], md5))
    with pytest.raises(ValueError, match="checksum mismatch"):
        D.load("mnist", root=tmp_path / "cache", download=False)
    monkeypatch.setitem(D.SOURCES, "mnist", D.Source("mnist", [], md5, content=content))
    # other decompressed bytes (one pixel changed), a truncated gzip, junk: one line naming the file
    raw = bytearray(gzip.decompress((mirror / D._IDX[2]).read_bytes()))
    raw[-1] ^= 1
    (mirror / D._IDX[2]).write_bytes(gzip.compress(bytes(raw)))
    for bad in (None, (tmp_path / "official" / D._IDX[2]).read_bytes()[:-20], b"junk"):
        if bad is not None:
            (mirror / D._IDX[2]).write_bytes(bad)
        with pytest.raises(ValueError) as e:
            D.load("mnist", root=tmp_path / "cache", download=False)
        assert str(mirror / D._IDX[2]) in str(e.value) and "\n" not in str(e.value)
