"""The lessons' data (vision/data/flat_digits.py): subsets keep the class shares, noisy labels are
wrong, crops shift the raw images; any image set flattens (MNIST-sized rows, per-channel statistics)."""
import pytest
import torch
import torch.nn.functional as F

from gymlab.vision.data.datasets import Dataset, Split, load_digits_split
from gymlab.vision.data.flat_digits import digits, flat_images, noisy_labels, stratified_subset


def test_stratified_subset_keeps_the_class_shares():
    y = torch.arange(10).repeat_interleave(torch.arange(10, 110, 10))  # class c has 10 (c + 1) examples
    idx = stratified_subset(y, 110, seed=0)
    counts = torch.bincount(y[idx], minlength=10)
    assert torch.equal(counts, torch.arange(2, 22, 2)) and len(set(idx.tolist())) == len(idx)
    with pytest.raises(ValueError, match="train_size"):
        stratified_subset(y, 5, seed=0)


def test_noisy_labels_change_exactly_the_fraction_to_other_classes():
    y = torch.arange(10).repeat(20)
    noisy = noisy_labels(y, 0.3, seed=0)
    assert (noisy != y).sum().item() == 60 and noisy.min() >= 0 and noisy.max() <= 9
    with pytest.raises(ValueError, match="label_noise"):
        noisy_labels(y, 1.0, seed=0)


def test_digits_subset_and_crop_augmentation_shifts_the_raw_images():
    d = digits(0, "cpu", train_size=200, label_noise=0.1)
    assert d.xtr.shape[1] == 64 and abs(len(d.ytr) - 200) <= 10
    torch.manual_seed(0)
    x = d.xtr[:16]
    out = d.augment(x, 1)
    raw = (x * d.std + d.mean).view(-1, 1, 8, 8)
    got = (out * d.std + d.mean).view(-1, 1, 8, 8)
    padded = F.pad(raw, (1, 1, 1, 1))
    for i in range(16):
        assert any(torch.allclose(got[i], padded[i, :, a:a + 8, b:b + 8], atol=1e-5) for a in range(3) for b in range(3))


def _images(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 8:20] = torch.rand(n, 1, 16, 12, generator=g)  # ink in the middle, a constant frame
    return Split(x, torch.arange(n) % 10)


def test_flat_images_of_a_28x28_set_per_channel():
    ds = Dataset(_images(200, 0), _images(30, 1), _images(30, 2), num_classes=10, name="mnist")
    d = flat_images(ds, 0, max_train=120, per="channel")
    assert d.features == 784 and d.shape == (1, 28, 28) and d.classes == 10 and len(d.ytr) == 120
    assert torch.equal(d.ytr, ds.train.y[:120])  # max_train: the first rows
    raw = ds.train.x[:120]
    assert torch.allclose(d.mean, raw.mean().expand(784)) and torch.allclose(d.std, raw.std().expand(784))
    assert d.xtr.mean().abs() < 1e-4 and abs(d.xtr.std().item() - 1) < 1e-3  # one mean and std for all pixels
    assert d.xva[:, 0].unique().numel() == 1  # the frame stays constant (no division by a tiny std)
    out = d.augment(d.xtr[:4], 2)
    assert out.shape == (4, 784) and torch.allclose((out * d.std + d.mean).view(-1, 1, 28, 28)[:, :, :4].sum(), torch.tensor(0.0))


def test_flat_images_per_image_is_the_digits_preprocessing():
    a, b = digits(3, train_size=300, label_noise=0.2), flat_images(load_digits_split(3), 3, train_size=300, label_noise=0.2)
    assert all(torch.equal(getattr(a, k), getattr(b, k)) for k in ("xtr", "ytr", "xva", "xte", "mean", "std"))
    assert a.features == 64 and a.shape == (1, 8, 8) and a.xtr.mean(0).abs().max() < 1e-5  # each pixel centred
    with pytest.raises(ValueError, match="preprocess"):
        flat_images(load_digits_split(0), per="pixel")
