"""Two baselines every likelihood model must beat.

- ``IndependentPixels``: every sub-pixel independent, p(x) = prod_i p_i(x_i), with p_i the training
  frequencies (add-alpha smoothed). For binary images it is the independent-Bernoulli model, whose
  maximum-likelihood fit is p_i = mean of pixel i over the training set.
- ``FVSBN``: the fully visible sigmoid belief network, a logistic autoregressive model
  p(x_i = 1 | x_<i) = sigma(b_i + sum_{j<i} W_ij x_j)  (W strictly lower triangular in raster order;
  for L levels, a softmax over L logits that are linear in x_<i).

Both return (B, C, levels, H, W) logits like the PixelCNN family, so ``sampling`` works on them too.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gymlab.generative.data import to_targets


class IndependentPixels(nn.Module):
    def __init__(self, shape: tuple[int, int, int], levels: int = 2):
        super().__init__()
        self.shape, self.levels, self.data_channels = tuple(shape), levels, shape[0]
        c, h, w = shape
        self.register_buffer("log_probs", torch.full((c, levels, h, w), -torch.log(torch.tensor(float(levels)))))

    @torch.no_grad()
    def fit(self, x: torch.Tensor, alpha: float = 1.0) -> "IndependentPixels":
        """Closed-form fit: p_i(k) = (count_i(k) + alpha) / (N + levels * alpha)."""
        t = to_targets(x, self.levels)  # (N, C, H, W)
        counts = F.one_hot(t, self.levels).sum(0).permute(0, 3, 1, 2).float()  # (C, L, H, W)
        self.log_probs.copy_(torch.log((counts + alpha) / (len(x) + self.levels * alpha)))
        return self

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.log_probs.unsqueeze(0).expand(len(x), *self.log_probs.shape)


def IndependentBernoulli(shape: tuple[int, int, int]) -> IndependentPixels:
    """The independent-Bernoulli baseline of binary images (``IndependentPixels`` with levels=2)."""
    return IndependentPixels(shape, levels=2)


class FVSBN(nn.Module):
    def __init__(self, shape: tuple[int, int, int], levels: int = 2):
        super().__init__()
        c, h, w = self.shape = tuple(shape)
        self.levels, self.data_channels = levels, c
        d = c * h * w
        # raster order: rows, then columns, then channels (R, G, B of a pixel in turn)
        order = torch.arange(d).view(h, w, c).permute(2, 0, 1).reshape(d)  # raster index of (c, i, j)
        mask = (order[None, :] < order[:, None]).float()  # out (c,i,j) sees in (c',i',j') earlier
        self.register_buffer("mask", mask.repeat(levels, 1))  # (levels * d, d)
        self.linear = nn.Linear(d, levels * d)
        nn.init.zeros_(self.linear.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        b = len(x)
        c, h, w = self.shape
        out = F.linear(x.reshape(b, -1) * 2 - 1, self.linear.weight * self.mask, self.linear.bias)
        return out.view(b, self.levels, c, h, w).transpose(1, 2)
