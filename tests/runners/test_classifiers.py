"""The classifiers of issue 5 on digits at their default budgets (fixed seed), and their plumbing."""
import numpy as np
import pytest
import torch

from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import resume, run

BASE = ["logger.mode=disabled", "progress=false"]


def _run(name, tmp_path, *extra):
    return run(name, BASE + [f"run_dir={tmp_path / name}", *extra], quiet=True)


def test_knn_digits_accuracy_and_cross_validated_k(tmp_path):
    s = _run("knn", tmp_path)
    assert s["eval/accuracy"] >= 0.97
    from gymlab.vision.data.datasets import load_digits_split
    from gymlab.vision.classify.knn import cross_validate_k

    ds = load_digits_split(0)
    k, _ = cross_validate_k(ds.train.x, ds.train.y, [1, 3, 5, 8, 10, 12, 15, 20, 50, 100], 5, "l2", seed=0)
    assert s["eval/k"] == k
    assert (tmp_path / "knn" / "media" / "cross_validation.png").exists()


@pytest.mark.parametrize("name", ["softmax", "svm"])
def test_linear_digits_accuracy(name, tmp_path):
    assert _run(name, tmp_path)["eval/accuracy"] >= 0.94


def test_l1_regularisation_gives_sparser_weights(tmp_path):
    from gymlab.runners.checkpoint import load

    def weights(reg_type):
        _run("softmax", tmp_path / reg_type, f"reg_type={reg_type}", "reg=0.01")
        W = load(tmp_path / reg_type / "softmax" / "checkpoints" / "latest.pt")["state"]["W"][:-1]  # no bias row
        return (W.abs() < 0.01 * W.abs().max()).float().mean()  # the fraction of (near-)zero weights

    assert weights("l1") > 2 * weights("l2")  # subgradient steps leave L1's zeros jittering by ~lr * reg
    with pytest.raises(GymlabError, match="valid: l2, l1, elastic"):
        _run("svm", tmp_path, "reg_type=l0")


def test_mlp_digits_accuracy(tmp_path):
    assert _run("mlp", tmp_path)["eval/accuracy"] >= 0.96


@pytest.mark.parametrize("name", ["alexnet", "vgg", "googlenet", "resnet"])
def test_cnn_digits_accuracy(name, tmp_path):
    # one evaluation, at the end of the default budget (under 1000 steps): the summary is the last evaluation,
    # and evaluations never touch the training stream, so the figures are the default run's
    s = _run(name, tmp_path, "eval_every=1000")
    assert s["eval/accuracy"] >= 0.98
    assert (tmp_path / name / "media" / "confusion.png").exists()


def test_resumed_training_equals_uninterrupted(tmp_path):
    extra = ["hidden=[32]", "epochs=null", "eval_every=5", "schedule=step", "step_size=1", "crop_pad=1"]
    full = _run("mlp", tmp_path / "full", "steps=40", *extra)
    _run("mlp", tmp_path / "part", "steps=20", *extra)
    resumed = resume(tmp_path / "part" / "mlp", ["steps=40"], quiet=True)
    assert resumed["eval/accuracy"] == full["eval/accuracy"]
    assert resumed["eval/val_loss"] == pytest.approx(full["eval/val_loss"], abs=1e-7)


def test_onecycle_resumed_equals_uninterrupted(tmp_path, monkeypatch):
    import os
    import signal

    from gymlab.runners.loop import RunInterrupted
    from gymlab.runners.templates.supervised import Supervised

    extra = ["hidden=[32]", "epochs=null", "eval_every=5", "schedule=onecycle", "optim=momentum", "lr=0.1"]
    full = _run("mlp", tmp_path / "full", "steps=30", *extra)
    train_step = Supervised.train_step

    def sigterm_at_13(self):  # SIGTERM mid-run: the loop checkpoints and stops
        out = train_step(self)
        if self.step == 13:
            os.kill(os.getpid(), signal.SIGTERM)
        return out

    monkeypatch.setattr(Supervised, "train_step", sigterm_at_13)
    with pytest.raises(RunInterrupted, match="interrupted at step 13; checkpoint saved"):
        _run("mlp", tmp_path / "part", "steps=30", *extra)
    monkeypatch.setattr(Supervised, "train_step", train_step)
    resumed = resume(tmp_path / "part" / "mlp", [], quiet=True)
    assert resumed["eval/val_loss"] == pytest.approx(full["eval/val_loss"], abs=1e-7)


def test_standard_datasets_through_the_runner(tmp_path, monkeypatch):
    from gymlab.vision.data import datasets as D

    monkeypatch.setenv("GYMLAB_DATA", str(tmp_path / "empty"))
    with pytest.raises(GymlabError, match="train-images-idx3-ubyte.gz"):
        _run("resnet", tmp_path, "data=mnist", "data_root=" + str(tmp_path / "empty"), "steps=1")
    # tiny files in the MNIST format: 28x28 inputs flow through every model
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    for name, a in zip(D._IDX, [rng.integers(0, 256, (40, 28, 28)), np.arange(40) % 10,
                                rng.integers(0, 256, (10, 28, 28)), np.arange(10) % 10]):
        D.write_idx(folder / name, a)
    monkeypatch.setitem(D.SOURCES, "mnist", D.Source("mnist", [], {n: D.md5sum(folder / n) for n in D._IDX}))
    for name in ["knn", "mlp", "resnet"]:
        s = _run(name, tmp_path / "m", "data=mnist", f"data_root={tmp_path / 'data'}", "steps=2", "epochs=null") \
            if name != "knn" else _run(name, tmp_path / "m", "data=mnist", f"data_root={tmp_path / 'data'}", "ks=[1,3]")
        assert 0.0 <= s["eval/accuracy"] <= 1.0
    with pytest.raises(GymlabError, match="valid: digits, mnist, fashion-mnist, cifar10"):
        _run("vgg", tmp_path, "data=svhn")
    with pytest.raises(GymlabError, match="valid: sgd, momentum"):
        _run("vgg", tmp_path / "x", "optimizer=lbfgs")


def test_knn_state_round_trip(tmp_path):
    from gymlab.runners.loop import evaluate_run

    s = _run("knn", tmp_path, "k=3", "distance=l1")
    again = evaluate_run(tmp_path / "knn")
    assert again["eval/accuracy"] == s["eval/accuracy"] and s["eval/k"] == 3
    torch.manual_seed(0)
