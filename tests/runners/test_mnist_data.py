"""`data=mnist` through the experiments beyond the classifiers (softmax, svm, fgsm, compress, the
understanding family, the training lessons), on tiny MNIST-format files written here (the real files
are not needed)."""
import numpy as np
import pytest

from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import run
from gymlab.vision.data import datasets as D
from gymlab.vision.data.safe_load import load_checkpoint


def write_mnist(root, monkeypatch, n_train: int, n_test: int):
    """MNIST-format files of ``n_train`` + ``n_test`` random 28x28 images in ``root``/mnist, accepted by their MD5s."""
    rng = np.random.default_rng(0)
    folder = root / "mnist"
    folder.mkdir(parents=True)
    def images(n):  # ink in a 16x12 block on a black frame, as MNIST centres its digits
        x = np.zeros((n, 28, 28), np.uint8)
        x[:, 6:22, 8:20] = rng.integers(0, 256, (n, 16, 12))
        return x

    for name, a in zip(D._IDX, [images(n_train), np.arange(n_train) % 10, images(n_test), np.arange(n_test) % 10]):
        D.write_idx(folder / name, a)
    monkeypatch.setitem(D.SOURCES, "mnist", D.Source("mnist", [], {n: D.md5sum(folder / n) for n in D._IDX}))
    return root


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    return write_mnist(tmp_path / "data", monkeypatch, 40, 10)


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


@pytest.fixture
def lesson_mnist(tmp_path, monkeypatch):
    return write_mnist(tmp_path / "data", monkeypatch, 300, 60)


LESSONS = {  # lesson -> (small settings, a key of its own that must be there for every variant)
    "init-activations": (["width=8", "depth=3", "probe_size=50"], "act_std_first"),
    "activations": (["width=8", "depth=2", "kick_lr=0.1"], "dead_fraction"),
    "optimizers": (["width=8"], "lr"),
    "regularization": (["width=8", "train_size=100", "l2=0,0.01"], "gap"),  # crop=1: crops of the 28x28 image
    "batchnorm": (["width=8", "depth=2"], "act_std_first"),
}


@pytest.mark.parametrize("name", list(LESSONS))
def test_lessons_train_on_mnist_rows(lesson_mnist, tmp_path, name):
    extra, own = LESSONS[name]
    s = run(name, ["logger.mode=disabled", "progress=false", f"run_dir={tmp_path / 'r'}", "data=mnist",
                   f"data_root={lesson_mnist}", "steps=2", "eval_every=1000", *extra], quiet=True)
    models = load_checkpoint(tmp_path / "r" / "checkpoints" / "latest.pt")["state"]["models"]
    assert len(models) >= 2
    for variant, state in models.items():
        first = next(v for v in state.values() if v.dim() == 2)  # the first layer's weights
        assert first.shape[1] == 784, variant  # the model took 28 * 28 pixels a row
        for key in ("accuracy", "val_accuracy", "train_accuracy", "train_loss", own):
            assert np.isfinite(s[f"eval/{variant}/{key}"]), (variant, key)
    assert 0.0 <= s["eval/accuracy"] <= 1.0


def test_lessons_read_gymlab_data_and_max_train(tmp_path, monkeypatch):
    monkeypatch.setenv("GYMLAB_DATA", str(write_mnist(tmp_path / "data", monkeypatch, 300, 60)))
    s = run("optimizers", ["logger.mode=disabled", "progress=false", f"run_dir={tmp_path / 'r'}", "data.name=mnist",
                           "data.max_train=100", "optimizers=sgd,adam", "width=8", "steps=2", "eval_every=1000",
                           "schedule=step", "step_size=1"], quiet=True)
    assert s["eval/sgd/lr"] == pytest.approx(0.01 * 0.1)  # 100 rows, 64 a batch: an epoch (a decay) in two steps
    state = load_checkpoint(tmp_path / "r" / "checkpoints" / "latest.pt")["state"]
    assert state["models"]["adam"]["layers.0.linear.weight"].shape[1] == 784


def test_lessons_bad_data_is_one_line(tmp_path):
    for name in LESSONS:
        with pytest.raises(GymlabError) as e:
            run(name, ["logger.mode=disabled", "progress=false", f"run_dir={tmp_path / name}", "data=mnst"], quiet=True)
        assert str(e.value).startswith("bad value for 'data': 'mnst'; valid: digits, mnist") and "\n" not in str(e.value)


def test_hparam_search_trials_take_mnist_rows(lesson_mnist, tmp_path):
    s = run("hparam-search", ["logger.mode=disabled", "progress=false", f"run_dir={tmp_path / 'r'}", "data=mnist",
                              f"data_root={lesson_mnist}", "n_coarse=2", "n_fine=1", "coarse_epochs=0.2",
                              "fine_epochs=0.2", "width=8", "steps=3", "eval_every=1000"], quiet=True)
    assert 0.0 <= s["eval/coarse_best"] <= 1.0 and np.isfinite(s["eval/best_lr"])
    from gymlab.vision.data.flat_digits import flat_images
    from gymlab.vision.data.datasets import load
    from gymlab.vision.nn.hparam_search import train_trial

    rows = flat_images(load("mnist", root=lesson_mnist), per="channel")
    t = train_trial(0.01, 1e-4, 0.5, data=rows, width=8)  # a 784-wide net: it would fail on a 64-wide one
    assert not t["diverged"] and 0.0 <= t["val_accuracy"] <= 1.0
