"""The notes' data preprocessing for images (N, C, H, W), statistics from the training split only:

    zero-centring, mean image:    x <- x - mean_n x_n             (one mean per pixel and channel; AlexNet)
    zero-centring, per channel:   x <- x - mean_{n,h,w} x_n[c]    (one mean per channel; VGG)
    std scaling:                  x <- x / std                    (per pixel or per channel, like the mean)

Compute the statistics on the training data and apply the same transform to validation and test
data (never the other way round). Augmentation for CIFAR-style training, a fresh random draw per
batch: ``random_crop`` (zero-pad by ``pad``, cut the original size at a random offset) and
``random_flip`` (left-right with probability 1/2); both live in ``vision.regularizers`` and are
re-exported here.

API::

    norm = fit_normalization(x_train, per="channel", scale=True)    # per: "image" | "channel"
    x_train, x_val = norm(x_train), norm(x_val)
    x = augment_batch(x, pad=4, flip=True, generator=g)             # training batches only
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from gymlab.vision.nn.regularizers import random_crop, random_flip

__all__ = ["Normalization", "fit_normalization", "augment_batch", "random_crop", "random_flip"]


@dataclass
class Normalization:
    """x -> (x - mean) / std with broadcastable ``mean`` and ``std`` of shape (C, H, W) or (C, 1, 1)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.device, x.dtype)) / self.std.to(x.device, x.dtype)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std.to(x.device, x.dtype) + self.mean.to(x.device, x.dtype)


def fit_normalization(x_train: torch.Tensor, per: str = "channel", scale: bool = True,
                      eps: float = 1e-8) -> Normalization:
    """Statistics of a training batch (N, C, H, W): ``per="image"`` (mean image) or ``"channel"``.

    ``scale=False``: zero-centring only (std 1). Standard deviations below ``eps`` (constant pixels,
    such as the digits' borders) are replaced by 1.
    """
    if x_train.dim() != 4:
        raise ValueError(f"fit_normalization expects images (N, C, H, W), got shape {tuple(x_train.shape)}")
    if per == "image":
        dims = (0,)
    elif per == "channel":
        dims = (0, 2, 3)
    else:
        raise ValueError(f"unknown per={per!r}; valid: image, channel")
    x = x_train.double()
    mean = x.mean(dim=dims, keepdim=True)[0]
    if scale:
        std = x.std(dim=dims, keepdim=True)[0]
        std = torch.where(std > eps, std, torch.ones_like(std))
    else:
        std = torch.ones_like(mean)
    return Normalization(mean.float(), std.float())


def augment_batch(x: torch.Tensor, pad: int = 0, flip: bool = False,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Random crop (``pad`` > 0) and left-right flip of a training batch (N, C, H, W)."""
    x = random_crop(x, pad, generator)
    return random_flip(x, generator) if flip else x
