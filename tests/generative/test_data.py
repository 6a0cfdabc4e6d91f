"""The data options: MNIST (static and dynamic binarization) and CIFAR-10 through vision's readers,
faked here with tiny in-memory datasets (the real files are not shipped)."""
import pytest
import torch

import gymlab.generative.data as gdata
from gymlab.runners.loop import run
from gymlab.vision.data.datasets import Dataset, Split


def fake(name, seed=0, **kw):
    g = torch.Generator().manual_seed(7)
    c, s = (3, 8) if name == "cifar10" else (1, 8)  # tiny stand-ins (the real ones are 28x28 and 32x32)

    def split(n):
        return Split(torch.randint(0, 256, (n, c, s, s), generator=g).float() / 255, torch.arange(n) % 10)

    return Dataset(split(60), split(20), split(20), 10, name)


@pytest.fixture
def fake_files(monkeypatch):
    monkeypatch.setattr(gdata, "vision_load", fake)


def test_mnist_binarizations_and_cifar_levels(fake_files):
    static = gdata.load("mnist", seed=0, size=8)
    assert static.levels == 2 and not static.dynamic
    assert set(static.data.train.x.unique().tolist()) == {0.0, 1.0}
    dyn = gdata.load("mnist-dynamic", seed=0, size=8)
    assert dyn.dynamic and len(dyn.data.train.x.unique()) > 2  # grey: sampled at every batch
    assert set(dyn.data.test.x.unique().tolist()) == {0.0, 1.0}  # evaluation bits fixed by the seed
    assert torch.equal(dyn.data.test.x, gdata.load("mnist-dynamic", seed=0, size=8).data.test.x)
    # the test bits are fixed whatever the run's seed (one draw of Bernoulli(x): its mean follows x)
    other = gdata.load("mnist-dynamic", seed=3, size=8)
    assert torch.equal(dyn.data.test.x, other.data.test.x) and not torch.equal(dyn.data.val.x, other.data.val.x)
    grey = gdata.resize(fake("mnist").test.x, 8)
    assert abs(dyn.data.test.x.mean().item() - grey.mean().item()) < 0.05
    assert torch.equal(dyn.data.test.x, torch.bernoulli(grey, generator=torch.Generator().manual_seed(
        gdata.TEST_BINARIZATION_SEED)))
    cifar = gdata.load("cifar10", seed=0, size=8)
    assert cifar.levels == 256 and cifar.shape == (3, 8, 8)
    assert torch.equal(gdata.to_targets(cifar.data.test.x, 256).float() / 255, cifar.data.test.x)


@pytest.mark.parametrize("name,data", [("pixelcnn", "cifar10"), ("gated-pixelcnn", "cifar10"),
                                       ("pixelrnn", "cifar10"), ("vae", "mnist-dynamic"), ("gan", "cifar10")])
def test_experiments_run_on_rgb_256_levels_and_dynamic_mnist(fake_files, tmp_path, name, data):
    s = run(name, ["logger.mode=disabled", "progress=false", f"out={tmp_path}", f"data={data}", "size=8",
                   "steps=2", "fid_samples=4", "fid_classifier_steps=2", "batch_size=8",
                   *(["sample_images=4"] if "pixel" in name else [])], quiet=True)
    if name == "gan":
        assert s["eval/fid"] > 0
        return
    dims = 3 * 64 if data == "cifar10" else 64
    levels = 256 if data == "cifar10" else 2
    # two steps from a near-uniform start: close to log2(levels) bits per dimension, and finite
    assert 0.5 * torch.log2(torch.tensor(float(levels))) < s["eval/bits_per_dim"] < 1.5 * torch.log2(torch.tensor(float(levels)))
    assert s["eval/nll_nats"] == pytest.approx(s["eval/bits_per_dim"] * dims * 0.6931471805599453)
