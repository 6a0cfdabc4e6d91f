"""Linear classifiers s = x W (bias folded into W by appending a constant 1 to x) with the
notes' two losses, their analytic gradients written out, and minibatch SGD.

Softmax (cross-entropy):  L_i = -log( e^{s_{y_i}} / sum_j e^{s_j} )
    dL/ds = P - Y            (P: softmax probabilities, Y: one-hot labels)
Multiclass SVM (hinge):   L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + delta)
    dL/ds_j = 1[margin_j > 0],  dL/ds_{y_i} = -sum_j 1[margin_j > 0]
Both averaged over the batch, plus reg * R(W) with R = sum W^2 (L2), its gradient 2 reg W.
"""
from __future__ import annotations

import torch


def add_bias(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], dim=1)


def softmax_loss(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float = 0.0):
    """Mean softmax cross-entropy and its gradient dL/dW (X already has its bias column)."""
    n = len(y)
    s = X @ W
    s = s - s.max(dim=1, keepdim=True).values  # numerical stability: softmax is shift-invariant
    logp = s - torch.logsumexp(s, dim=1, keepdim=True)
    loss = -logp[torch.arange(n), y].mean() + reg * (W * W).sum()
    dS = logp.exp()
    dS[torch.arange(n), y] -= 1
    dW = X.T @ dS / n + 2 * reg * W
    return loss, dW


def svm_loss(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float = 0.0, delta: float = 1.0):
    """Mean multiclass hinge loss and its gradient dL/dW (X already has its bias column)."""
    n = len(y)
    s = X @ W
    correct = s[torch.arange(n), y].unsqueeze(1)
    margins = (s - correct + delta).clamp(min=0)
    margins[torch.arange(n), y] = 0
    loss = margins.sum(1).mean() + reg * (W * W).sum()
    dS = (margins > 0).to(X.dtype)
    dS[torch.arange(n), y] = -dS.sum(1)
    dW = X.T @ dS / n + 2 * reg * W
    return loss, dW


LOSSES = {"softmax": softmax_loss, "svm": svm_loss}


def init_weights(dim: int, num_classes: int, generator: torch.Generator, scale: float = 1e-3,
                 dtype=torch.float32) -> torch.Tensor:
    """Small random weights (the notes' W = 0.001 * randn)."""
    return scale * torch.randn(dim + 1, num_classes, generator=generator, dtype=dtype)


def predict(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    return (add_bias(X) @ W).argmax(dim=1)
