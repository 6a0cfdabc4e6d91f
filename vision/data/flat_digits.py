"""The lessons' data: an image set standardised and flattened to (N, C*H*W) rows: the 8x8 digits
(``digits``: 64 features) or any ``vision.data.datasets.Dataset`` (``flat_images``: MNIST gives 784),
optionally with fewer training images, a smaller stratified training set and wrong labels (what it
takes to overfit a set this easy).

    standardise  per="image": each pixel by its own training mean and std (the notes'; digits);
                 per="channel": one mean and std per channel (MNIST: its border pixels are nearly
                 constant, and dividing them by a tiny std blows up the rare stroke that reaches them)
    max_train    the first N training images (0: all)
    subset       per class c, the first round(size * share_c) (at least 1) of a seeded permutation
    label noise  a ``fraction`` of the training labels set to (y + k) mod 10, k ~ U{1..9}: always wrong
    crops        undo the standardisation, shift the C x H x W image (zero-pad, cut back), redo it
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from gymlab.vision.data.datasets import Dataset, load_digits_split, standardize
from gymlab.vision.nn.regularizers import random_crop


@dataclass
class FlatDigits:
    xtr: torch.Tensor
    ytr: torch.Tensor
    xva: torch.Tensor
    yva: torch.Tensor
    xte: torch.Tensor
    yte: torch.Tensor
    mean: torch.Tensor  # the training statistics of the standardisation (C*H*W,)
    std: torch.Tensor
    shape: tuple = (1, 8, 8)  # (C, H, W) of the images the rows flatten
    classes: int = 10

    @property
    def features(self) -> int:
        """The width of a row: a model's input size (64 for digits, 784 for MNIST)."""
        return self.xtr.shape[1]

    def augment(self, x: torch.Tensor, pad: int) -> torch.Tensor:
        """Random crops of standardised rows, shifted up to ``pad`` pixels."""
        raw = (x * self.std + self.mean).view(-1, *self.shape)
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


def flat_images(ds: Dataset, seed: int = 0, device="cpu", train_size: Optional[int] = None,
                label_noise: float = 0.0, max_train: int = 0, per: str = "image") -> FlatDigits:
    """A loaded image set standardised (``per``: "image" or "channel") and flattened: ``max_train`` keeps
    the first N training images (0: all), ``train_size`` a stratified subset of those, and
    ``label_noise`` makes that fraction of its labels wrong; the statistics come from the training rows kept."""
    if per not in ("image", "channel"):
        raise ValueError(f"bad value for 'preprocess': {per!r}; valid: image, channel")
    xtr, ytr = ds.train.x, ds.train.y
    if max_train:
        xtr, ytr = xtr[:max_train], ytr[:max_train]
    if train_size is not None and train_size < len(ytr):
        keep = stratified_subset(ytr, train_size, seed, ds.num_classes)
        xtr, ytr = xtr[keep], ytr[keep]
    if label_noise > 0:
        ytr = noisy_labels(ytr, label_noise, seed + 7, ds.num_classes)
    if per == "image":
        flat = xtr.reshape(len(xtr), -1)
        mean, std = flat.mean(0), flat.std(0)
        std = torch.where(std > 1e-8, std, torch.ones_like(std))  # as standardize does
        xtr, xva, xte = standardize(xtr, ds.val.x, ds.test.x)
    else:
        pixels = xtr[0, 0].numel()
        mean, std = (s.float().repeat_interleave(pixels) for s in (xtr.double().mean((0, 2, 3)), xtr.double().std((0, 2, 3))))
        std = torch.where(std > 1e-8, std, torch.ones_like(std))
        xtr, xva, xte = ((x.reshape(len(x), -1) - mean) / std for x in (xtr, ds.val.x, ds.test.x))
    return FlatDigits(*(t.to(device) for t in (xtr, ytr, xva, ds.val.y, xte, ds.test.y, mean, std)),
                      shape=tuple(ds.shape), classes=ds.num_classes)


def digits(seed: int = 0, device="cpu", train_size: Optional[int] = None, label_noise: float = 0.0) -> FlatDigits:
    """The standardised digits split by seed (``flat_images`` of ``load_digits_split(seed)``)."""
    return flat_images(load_digits_split(seed), seed, device, train_size, label_noise)
