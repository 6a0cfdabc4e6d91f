"""Your data: a folder of class subfolders (read with pillow, as torchvision's ImageFolder) and .npz arrays
load as the built-in sets do (same splits, [0, 1] floats, (N, C, H, W)) and train through ``data=``."""
import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import run
from gymlab.vision.data.datasets import load_digits_split
from gymlab.vision.data.folders import load_image_folder, load_npz, load_user_data

COMMON = ["logger.mode=disabled", "progress=false"]


def digits_arrays():
    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target


def write_digits_folder(root):
    """Digits as 8-bit grey PNGs, one subfolder per class; pixel 255 v / 16 rounded (v in 0..16)."""
    x, y = digits_arrays()
    for i, (img, label) in enumerate(zip(x, y)):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.uint8(np.round(img * 255))).save(root / str(label) / f"{i:04d}.png")
    return root


def test_npz_of_digits_is_the_builtin_digits_split_exactly(tmp_path):
    x, y = digits_arrays()
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    ours, ref = load_npz(tmp_path / "digits.npz", seed=3), load_digits_split(seed=3)
    for a, b in ((ours.train, ref.train), (ours.val, ref.val), (ours.test, ref.test)):
        torch.testing.assert_close(a.x, b.x, rtol=0, atol=0)
        torch.testing.assert_close(a.y, b.y, rtol=0, atol=0)
    assert ours.num_classes == 10 and ours.shape == (1, 8, 8)


def test_folder_of_digit_pngs_reads_like_imagefolder(tmp_path):
    root = write_digits_folder(tmp_path / "digits")
    (root / "notes.txt").write_text("not a class")  # files beside the class folders are ignored
    (root / "3" / "readme.md").write_text("not an image")  # non-images in a class folder too
    ds = load_image_folder(root, seed=0)
    ref = load_digits_split(seed=0)
    assert ds.shape == (1, 8, 8) and ds.num_classes == 10 and ds.name == "digits"
    for a, b in ((ds.train, ref.train), (ds.val, ref.val), (ds.test, ref.test)):  # same stratified sizes
        assert len(a) == len(b) and torch.equal(torch.bincount(a.y), torch.bincount(b.y))
    # every image comes back as written (8 bits): the folder holds the digits, sorted by class
    x, y = digits_arrays()
    order = np.argsort(y, kind="stable")
    got = torch.cat([ds.train.x, ds.val.x, ds.test.x]).numpy()
    want = np.round(x[order] * 255)[:, None] / 255
    assert np.abs(np.sort(got.reshape(len(got), -1), 0) - np.sort(want.reshape(len(want), -1), 0)).max() < 1e-6


def test_mixed_modes_and_sizes_become_one_rgb_size(tmp_path):
    rng = np.random.default_rng(0)
    for c, name in enumerate(["bird", "ant"]):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
        Image.fromarray(rng.integers(0, 255, (20, 16), dtype=np.uint8)).save(tmp_path / name / "grey.JPG")
        Image.fromarray(rng.integers(0, 255, (12, 12, 4), dtype=np.uint8), "RGBA").save(tmp_path / name / "a.png")
    ds = load_user_data(tmp_path, seed=0)
    assert ds.shape == (3, 12, 12) and ds.num_classes == 2  # the most common size; RGB since not all are grey
    labels = torch.cat([ds.train.y, ds.val.y, ds.test.y])
    assert torch.bincount(labels).tolist() == [6, 6]  # "ant" is class 0 (sorted names), 6 images each
    assert load_image_folder(tmp_path, size=5).shape == (3, 5, 5)


def test_npz_layouts_labels_and_test_split(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 6, 6, 3), dtype=np.uint8)  # channels last
    y = np.repeat([7, 42, 3], 10)  # any integers: renumbered 3 -> 0, 7 -> 1, 42 -> 2
    np.savez(tmp_path / "a.npz", x=x, y=y, x_test=x[:6], y_test=y[:6])
    ds = load_npz(tmp_path / "a.npz", seed=0)
    assert ds.shape == (3, 6, 6) and ds.num_classes == 3
    torch.testing.assert_close(ds.test.x, torch.from_numpy(x[:6].transpose(0, 3, 1, 2) / 255.0).float())
    assert ds.test.y.tolist() == [1] * 6 and len(ds.train) + len(ds.val) == 30 and len(ds.val) == 6
    for bad, match in ((dict(x=x), "needs x .images. and y"), (dict(x=x * 2.0, y=y), r"floats in \[0, 1\]"),
                       (dict(x=x, y=y[:5]), "give 30 integer labels"),
                       (dict(x=x[:, :, :, :2], y=y), r"shape \(30, 6, 6, 2\)")):
        np.savez(tmp_path / "bad.npz", **bad)
        with pytest.raises(ValueError, match=match):
            load_npz(tmp_path / "bad.npz")


def test_folder_with_train_and_test_keeps_the_test_split(tmp_path):
    for part, n in (("train", 5), ("test", 2)):
        for name in ("a", "b"):
            (tmp_path / part / name).mkdir(parents=True)
            for i in range(n):
                Image.new("L", (4, 4), 40 * i).save(tmp_path / part / name / f"{i}.png")
    ds = load_user_data(tmp_path)
    assert len(ds.test) == 4 and len(ds.train) + len(ds.val) == 10 and ds.shape == (1, 4, 4)


def test_user_data_trains_through_data_like_the_builtin_set(tmp_path):
    x, y = digits_arrays()
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    folder = write_digits_folder(tmp_path / "pngs")
    mlp = ["epochs=2", "eval_every=1000"] + COMMON
    builtin = run("mlp", mlp + [f"out={tmp_path / 'a'}"], quiet=True)
    npz = run("mlp", mlp + [f"data={tmp_path / 'digits.npz'}", f"out={tmp_path / 'b'}"], quiet=True)
    assert npz["eval/accuracy"] == builtin["eval/accuracy"] and npz["eval/loss"] == builtin["eval/loss"]
    knn = ["k=1"] + COMMON
    ref = run("knn", knn + [f"out={tmp_path / 'c'}"], quiet=True)
    own = run("knn", knn + [f"data={folder}", f"out={tmp_path / 'd'}"], quiet=True)
    assert abs(own["eval/accuracy"] - ref["eval/accuracy"]) < 0.02 and own["eval/accuracy"] > 0.95


def test_bad_data_is_one_line(tmp_path):
    with pytest.raises(GymlabError, match="bad value for 'data': '.*nowhere' does not exist; give a folder"):
        run("mlp", COMMON + [f"data={tmp_path / 'nowhere'}", f"out={tmp_path}"], quiet=True)
    (tmp_path / "one" / "only").mkdir(parents=True)
    Image.new("L", (4, 4)).save(tmp_path / "one" / "only" / "0.png")
    with pytest.raises(GymlabError, match="has 1 class subfolder"):
        run("knn", COMMON + [f"data={tmp_path / 'one'}", f"out={tmp_path}"], quiet=True)
    with pytest.raises(GymlabError, match="valid: digits, .*a folder"):
        run("knn", COMMON + ["data=imagenet", f"out={tmp_path}"], quiet=True)
