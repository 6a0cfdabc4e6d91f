"""Datasets as tensors: the embedded ``digits`` with fixed stratified splits by seed.

``load_digits_split(seed)`` returns train/val/test splits of scikit-learn's 8x8 digits
(1,797 images, 16 grey levels) as float tensors in [0, 1] of shape (N, 1, 8, 8) and int64 labels.
The split is stratified and depends only on the seed: 60% train, 20% validation, 20% test.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


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
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8) in [0, 1]
    y = d.target.astype(np.int64)
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), stratify=y[rest],
                                  random_state=seed)

    def split(i):
        return Split(torch.from_numpy(x[i]), torch.from_numpy(y[i]))

    return Dataset(split(train), split(val), split(test), num_classes=10, name="digits")


def standardize(train: torch.Tensor, *others: torch.Tensor, eps: float = 1e-8):
    """The notes' preprocessing on flattened features: subtract the training mean, divide by its std.

    Statistics come from the training split only and are applied to every split.
    """
    flat = train.reshape(len(train), -1)
    mean, std = flat.mean(0), flat.std(0)
    std = torch.where(std > eps, std, torch.ones_like(std))
    out = [(t.reshape(len(t), -1) - mean) / std for t in (train, *others)]
    return out[0] if not others else tuple(out)
