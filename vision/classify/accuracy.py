"""Top-1 accuracy of a classifier over many images: mean over i of [argmax_c model(x_i)_c = y_i], in eval
mode without gradients, in chunks (so that a large test split fits in memory)."""
from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """``batch`` images at a time, each chunk moved to the model's device (the CPU for a model without parameters)."""
    model.eval()
    params = list(model.parameters())
    dev = params[0].device if params else torch.device("cpu")
    hits = sum(int((model(xb.to(dev)).argmax(1).cpu() == yb.cpu()).sum()) for xb, yb in zip(x.split(batch), y.split(batch)))
    return hits / len(y)
