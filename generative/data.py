"""Data for the generative models: binarized digits (the embedded default), resized copies, and
MNIST / CIFAR-10 when their files are present.

Every loader returns ``vision.datasets.Dataset`` splits whose images are float tensors in [0, 1]
holding exactly ``levels`` values k / (levels - 1); ``to_targets`` turns them into the integer
classes 0..levels-1 that the per-pixel softmax predicts.

- ``digits``: scikit-learn's 8x8 digits on the fixed split of ``vision.datasets.load_digits_split``,
  binarized as pixel >= 8 (of 16) -> 1; ``size=16`` or ``28`` resizes (bilinear) before thresholding.
- ``digits-gray``: the same digits with their grey levels kept, stored on 256 levels (x * 255 rounded).
- ``mnist`` (statically binarized at 0.5), ``mnist-dynamic`` (binarized MNIST as the likelihood
  literature uses it: training images re-sampled as Bernoulli(x) at every batch, which the experiment
  does; the 10,000 test images binarized once by a draw fixed by ``TEST_BINARIZATION_SEED``, the same
  bits for every run and model; the validation images by a draw fixed by the run's seed),
  ``cifar10`` (256 levels, 3 channels):
  read by ``vision.datasets.load`` (its cache folder, $GYMLAB_DATA; downloaded when the network is
  there); absent and offline, its FileNotFoundError names the files and the folder.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gymlab.vision.data.datasets import Dataset, Split, load_digits_split
from gymlab.vision.data.datasets import load as vision_load

DATA = ("digits", "digits-gray", "mnist", "mnist-dynamic", "cifar10")
TEST_BINARIZATION_SEED = 0  # the fixed binarization of the MNIST test set (mnist-dynamic)


@dataclass
class GenData:
    data: Dataset
    levels: int  # 2 for binary images, 256 for 8-bit images
    dynamic: bool = False  # re-binarize training batches as Bernoulli(x) (dynamically binarized MNIST)

    @property
    def shape(self) -> tuple:
        return self.data.shape


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of (N, C, H, W) images in [0, 1] to size x size."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)


def binarize(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """x >= threshold -> 1.0 else 0.0 (for digits, 0.5 is 'pixel >= 8 of 16')."""
    return (x >= threshold).float()


def quantize(x: torch.Tensor, levels: int) -> torch.Tensor:
    """Round images in [0, 1] onto ``levels`` evenly spaced values."""
    return torch.round(x * (levels - 1)) / (levels - 1)


def to_targets(x: torch.Tensor, levels: int) -> torch.Tensor:
    """Images in [0, 1] on ``levels`` values -> integer classes 0..levels-1 (int64)."""
    return torch.round(x * (levels - 1)).long().clamp_(0, levels - 1)


def _map(ds: Dataset, fn, name: str) -> Dataset:
    return Dataset(*(Split(fn(s.x), s.y) for s in (ds.train, ds.val, ds.test)), num_classes=ds.num_classes, name=name)


def load(data: str = "digits", seed: int = 0, size: int | None = None, root=None) -> GenData:
    """Load one of ``DATA`` (see the module docstring); ``size`` resizes square images (None: native);
    ``root``: the cache folder of MNIST and CIFAR-10 (None: $GYMLAB_DATA)."""
    if data not in DATA:
        raise ValueError(f"unknown data {data!r}; valid: {', '.join(DATA)}")
    if size is not None and size < 4:
        raise ValueError(f"size must be at least 4 (or None for the native size), got {size}")
    if data in ("digits", "digits-gray"):
        ds = load_digits_split(seed)
        if data == "digits":
            return GenData(_map(ds, lambda x: binarize(resize(x, size or 8)), "digits-binary"), levels=2)
        return GenData(_map(ds, lambda x: quantize(resize(x, size or 8), 256), "digits-gray"), levels=256)
    if data in ("mnist", "mnist-dynamic"):
        ds = vision_load("mnist", seed, root=root)
        if data == "mnist":
            return GenData(_map(ds, lambda x: binarize(resize(x, size or 28)), "mnist-binary"), levels=2)
        ds = _map(ds, lambda x: resize(x, size or 28), "mnist-dynamic")
        # training images stay grey (the experiment samples them at every batch); evaluation splits are
        # binarized once: the test set by a fixed draw (every run and model is scored on the same bits),
        # the validation split (which depends on the seed) by a draw fixed by the seed
        ds.val.x = torch.bernoulli(ds.val.x, generator=torch.Generator().manual_seed(seed))
        ds.test.x = torch.bernoulli(ds.test.x, generator=torch.Generator().manual_seed(TEST_BINARIZATION_SEED))
        return GenData(ds, levels=2, dynamic=True)
    ds = vision_load("cifar10", seed, root=root)
    return GenData(_map(ds, lambda x: quantize(resize(x, size or 32), 256), "cifar10"), levels=256)
