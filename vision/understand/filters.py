"""A network's first layer as one picture: conv filters (K, C, h, w), or the first weights of an MLP
reshaped to the input image (one template per hidden unit), tiled on a grid.

Each filter is min-max scaled on its own, (w - min) / (max - min); C = 3 is drawn as colour, any other
C as its channel 0."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import nn


def first_layer_filters(model: nn.Module, image_shape: tuple) -> Optional[torch.Tensor]:
    """(K, C, h, w) weights of the first Conv2d or Linear layer; None when a Linear layer's inputs
    are not the image's C*H*W pixels (or there is no such layer)."""
    first = next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))), None)
    if first is None:
        return None
    w = first.weight.detach().cpu()
    if isinstance(first, nn.Linear):
        c, h, wd = image_shape
        return w.reshape(-1, c, h, wd) if w.shape[1] == c * h * wd else None
    return w


def filter_grid(w: torch.Tensor) -> np.ndarray:
    """(K, C, h, w) filters as one image (H, W) or (H, W, 3) in [0, 1], one pixel of white between them."""
    k = len(w)
    w = w[:, :3] if w.shape[1] == 3 else w[:, :1]
    lo = w.flatten(1).min(1).values.view(-1, 1, 1, 1)
    hi = w.flatten(1).max(1).values.view(-1, 1, 1, 1)
    w = (w - lo) / (hi - lo).clamp(min=1e-8)
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    c, h, wd = w.shape[1:]
    grid = torch.ones(c, rows * (h + 1) + 1, cols * (wd + 1) + 1)
    for i in range(k):
        r, q = divmod(i, cols)
        grid[:, 1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (wd + 1):1 + q * (wd + 1) + wd] = w[i]
    img = grid.permute(1, 2, 0).numpy()
    return img[..., 0] if c == 1 else img
