"""The lessons' digits (vision/data/flat_digits.py): subsets keep the class shares, noisy labels are
wrong, crops shift the raw images."""
import pytest
import torch
import torch.nn.functional as F

from gymlab.vision.data.flat_digits import digits, noisy_labels, stratified_subset


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
