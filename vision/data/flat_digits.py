"""The lessons' data: the 8x8 digits standardised and flattened to (N, 64), optionally with a smaller
training set and wrong labels (what it takes to overfit a set this easy).

    subset       per class c, the first round(size * share_c) (at least 1) of a seeded permutation
    label noise  a ``fraction`` of the training labels set to (y + k) mod 10, k ~ U{1..9}: always wrong
    crops        undo the standardisation, shift the 8x8 image (zero-pad, cut back), redo it
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from gymlab.vision.data.datasets import load_digits_split, standardize
from gymlab.vision.nn.regularizers import random_crop


@dataclass
class FlatDigits:
    xtr: torch.Tensor
    ytr: torch.Tensor
    xva: torch.Tensor
    yva: torch.Tensor
    xte: torch.Tensor
    yte: torch.Tensor
    mean: torch.Tensor  # the training statistics of the standardisation (64,)
    std: torch.Tensor

    def augment(self, x: torch.Tensor, pad: int) -> torch.Tensor:
        """Random crops of standardised rows, shifted up to ``pad`` pixels."""
        raw = (x * self.std + self.mean).view(-1, 1, 8, 8)
        return (random_crop(raw, pad).flatten(1) - self.mean) / self.std


def stratified_subset(y: torch.Tensor, size: int, seed: int, classes: int = 10) -> torch.Tensor:
    """Indices of about ``size`` examples with the class shares of ``y``, chosen by seed."""
    if size < classes:
        raise ValueError(f"bad value for 'train_size': {size}; it must be at least {classes}")
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.nonzero(y == c).flatten()[torch.randperm(int((y == c).sum()), generator=g)]
                      [: max(1, round(size * float((y == c).float().mean())))] for c in range(classes)])


def noisy_labels(y: torch.Tensor, fraction: float, seed: int, classes: int = 10) -> torch.Tensor:
    """A copy of ``y`` with ``fraction`` of the labels replaced by random other classes (fixed by seed)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"bad value for 'label_noise': {fraction}; it must be in [0, 1)")
    g = torch.Generator().manual_seed(seed)
    flip = torch.randperm(len(y), generator=g)[: round(fraction * len(y))]
    y = y.clone()
    y[flip] = (y[flip] + torch.randint(1, classes, (len(flip),), generator=g)) % classes
    return y


def digits(seed: int = 0, device="cpu", train_size: Optional[int] = None, label_noise: float = 0.0) -> FlatDigits:
    """The standardised digits split by seed; ``train_size`` keeps a stratified subset of the training set
    and ``label_noise`` makes that fraction of its labels wrong."""
    ds = load_digits_split(seed)
    xtr, ytr = ds.train.x, ds.train.y
    if train_size is not None and train_size < len(ytr):
        keep = stratified_subset(ytr, train_size, seed)
        xtr, ytr = xtr[keep], ytr[keep]
    if label_noise > 0:
        ytr = noisy_labels(ytr, label_noise, seed + 7)
    flat = xtr.reshape(len(xtr), -1)
    mean, std = flat.mean(0), flat.std(0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))  # as standardize does
    xtr, xva, xte = standardize(xtr, ds.val.x, ds.test.x)
    return FlatDigits(*(t.to(device) for t in (xtr, ytr, xva, ds.val.y, xte, ds.test.y, mean, std)))
