"""`data=mnist` through the experiments beyond the classifiers (softmax, svm, fgsm, compress, the
understanding family), on tiny MNIST-format files written here (the real files are not needed)."""
import numpy as np
import pytest

from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import run
from gymlab.vision.data import datasets as D


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    def images(n):  # ink in a 16x12 block on a black frame, as MNIST centres its digits
        x = np.zeros((n, 28, 28), np.uint8)
        x[:, 6:22, 8:20] = rng.integers(0, 256, (n, 16, 12))
        return x

    for name, a in zip(D._IDX, [images(40), np.arange(40) % 10, images(10), np.arange(10) % 10]):
        D.write_idx(folder / name, a)
    monkeypatch.setitem(D.SOURCES, "mnist", D.Source("mnist", [], {n: D.md5sum(folder / n) for n in D._IDX}))
    return tmp_path / "data"


@pytest.mark.parametrize("name,extra", [
    ("softmax", ["steps=2"]), ("svm", ["steps=2"]),
    ("fgsm", ["steps=2", "width=4", "eval_batch=4"]),
    ("compress", ["width=4", "hidden=8", "dense_steps=2", "retrain_steps=1", "share_steps=1", "steps=6",
                  "eval_batch=4", "latency_batch=4"]),
    ("saliency", ["steps=2", "width=4", "n_train=20", "n_test=6", "n_show=2"]),
    ("class-visualization", ["steps=1", "width=4", "n_train=20", "n_test=6", "vis_steps=2"]),
])
def test_experiments_run_on_mnist_files(tiny_mnist, tmp_path, name, extra):
    s = run(name, ["logger.mode=disabled", "progress=false", f"run_dir={tmp_path / name}", "data=mnist",
                   f"data_root={tiny_mnist}", "eval_every=1000", *extra], quiet=True)
    assert 0.0 <= s["eval/accuracy"] <= 1.0
    if name == "saliency":
        assert 0.0 < s["eval/box_area_share"] < 1.0


def test_missing_mnist_is_one_line(tmp_path):
    with pytest.raises(GymlabError) as e:
        run("softmax", ["logger.mode=disabled", "progress=false", f"run_dir={tmp_path / 'r'}", "data=mnist",
                        f"data_root={tmp_path / 'empty'}"], quiet=True)
    assert "train-images-idx3-ubyte.gz" in str(e.value) and "\n" not in str(e.value)
