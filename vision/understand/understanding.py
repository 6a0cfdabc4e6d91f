"""Visualising and understanding a trained classifier (S_c(x): the score of class c for image x).

- Saliency (Simonyan et al. 2014): the gradient of the class score with respect to the pixels,
  M_ij = max over channels |∂S_c / ∂x_cij|: which pixels would change the score most.
- Class visualization: the image that a class likes best, by gradient ascent on the input with L2
  regularisation,  x* = argmax_x S_c(x) - λ ||x||²,  x ← x + η (∇_x S_c(x) - 2 λ x).
- Occlusion sensitivity (Zeiler & Fergus 2014): slide a grey/black patch over the image and record
  how much the class score drops, D_ij = S_c(x) - S_c(x with the patch at (i, j)).
- Nearest neighbours in pixel space against feature space: Euclidean distance on raw pixels finds
  images that look alike pixel by pixel (same place, same brightness), not images of the same class;
  distances between a network's features do.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def saliency(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, H, W) saliency maps: max over channels of |∂S_target / ∂x| (scores, not probabilities)."""
    x = x.detach().clone().requires_grad_(True)
    scores = model(x)
    picked = scores.gather(1, target.view(-1, 1)).sum()  # images are independent: one backward for all
    (grad,) = torch.autograd.grad(picked, x)
    return grad.abs().amax(1)


def class_visualization(model: nn.Module, target: int, shape, steps: int = 200, lr: float = 0.1,
                        l2: float = 0.01, clamp=None, init: torch.Tensor | None = None) -> torch.Tensor:
    """An image (``shape`` = (C, H, W)) that maximises S_target(x) - l2 ||x||² by gradient ascent.

    ``clamp``: optional (lo, hi) pixel range enforced after each step; ``init``: start image (zeros).
    """
    x = (init.clone() if init is not None else torch.zeros(1, *shape)).requires_grad_(True)
    if x.dim() == len(shape):
        x = x[None].detach().requires_grad_(True)
    for _ in range(steps):
        score = model(x)[0, target]
        (grad,) = torch.autograd.grad(score, x)
        with torch.no_grad():
            x += lr * (grad - 2 * l2 * x)
            if clamp is not None:
                x.clamp_(*clamp)
    return x.detach()[0]


@torch.no_grad()
def occlusion(model: nn.Module, x: torch.Tensor, target: int, patch: int = 8, stride: int = 2,
              fill: float = 0.0, batch_size: int = 256) -> torch.Tensor:
    """Score drop map for one image ``x`` (C, H, W): entry (i, j) has the patch's top-left corner at
    (i stride, j stride). Returns (rows, cols) = ((H - patch) // stride + 1, (W - patch) // stride + 1)."""
    c, h, w = x.shape
    rows, cols = (h - patch) // stride + 1, (w - patch) // stride + 1
    base = model(x[None])[0, target]
    occluded = x[None].repeat(rows * cols, 1, 1, 1)
    for k in range(rows * cols):
        i, j = divmod(k, cols)
        occluded[k, :, i * stride:i * stride + patch, j * stride:j * stride + patch] = fill
    scores = torch.cat([model(chunk)[:, target] for chunk in torch.split(occluded, batch_size)])
    return (base - scores).view(rows, cols)


def nearest_neighbours(queries: torch.Tensor, bank: torch.Tensor, k: int = 1) -> torch.Tensor:
    """Indices (Q, k) of the ``k`` rows of ``bank`` closest to each query (Euclidean, inputs flattened)."""
    d = torch.cdist(queries.flatten(1).double(), bank.flatten(1).double())
    return d.topk(k, dim=1, largest=False).indices


def neighbour_accuracy(queries, query_labels, bank, bank_labels, k: int = 1) -> float:
    """How often the nearest neighbour (majority of k) has the query's label."""
    idx = nearest_neighbours(queries, bank, k)
    votes = bank_labels[idx]
    pred = torch.mode(votes, dim=1).values if k > 1 else votes[:, 0]
    return float((pred == query_labels).float().mean())
