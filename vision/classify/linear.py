"""Linear classifiers s = x W (bias folded into W by appending a constant 1 to x) with the
notes' two losses, their analytic gradients written out, and minibatch SGD.

Softmax (cross-entropy):  L_i = -log( e^{s_{y_i}} / sum_j e^{s_j} )
    dL/ds = P - Y            (P: softmax probabilities, Y: one-hot labels)
Multiclass SVM (hinge):   L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + delta)
    dL/ds_j = 1[margin_j > 0],  dL/ds_{y_i} = -sum_j 1[margin_j > 0]
Both averaged over the batch, plus reg * R(W) with

    L2:           R = sum W^2                          dR/dW = 2 W
    L1:           R = sum |W|                          dR/dW = sign(W)
    elastic net:  R = sum (l1_ratio |W| + (1 - l1_ratio) W^2)
                                                       dR/dW = l1_ratio sign(W) + 2 (1 - l1_ratio) W
"""
from __future__ import annotations

import torch

REGULARIZERS = ("l2", "l1", "elastic")


def add_bias(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], dim=1)


def regularization(W: torch.Tensor, reg: float, reg_type: str = "l2", l1_ratio: float = 0.5):
    """reg * R(W) and its gradient for R in l2 | l1 | elastic (see the module docstring)."""
    if reg_type == "l2":
        return reg * (W * W).sum(), 2 * reg * W
    if reg_type == "l1":
        return reg * W.abs().sum(), reg * torch.sign(W)
    if reg_type == "elastic":
        if not 0.0 <= l1_ratio <= 1.0:
            raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio}")
        value = reg * (l1_ratio * W.abs().sum() + (1 - l1_ratio) * (W * W).sum())
        return value, reg * (l1_ratio * torch.sign(W) + 2 * (1 - l1_ratio) * W)
    raise ValueError(f"unknown reg_type {reg_type!r}; valid: {', '.join(REGULARIZERS)}")


def softmax_loss(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float = 0.0, reg_type: str = "l2",
                 l1_ratio: float = 0.5):
    """Mean softmax cross-entropy plus reg * R(W), and its gradient dL/dW (X already has its bias column)."""
    n = len(y)
    s = X @ W
    s = s - s.max(dim=1, keepdim=True).values  # numerical stability: softmax is shift-invariant
    logp = s - torch.logsumexp(s, dim=1, keepdim=True)
    r, dr = regularization(W, reg, reg_type, l1_ratio)
    loss = -logp[torch.arange(n), y].mean() + r
    dS = logp.exp()
    dS[torch.arange(n), y] -= 1
    dW = X.T @ dS / n + dr
    return loss, dW


def svm_loss(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float = 0.0, reg_type: str = "l2",
             l1_ratio: float = 0.5, delta: float = 1.0):
    """Mean multiclass hinge loss plus reg * R(W), and its gradient dL/dW (X already has its bias column)."""
    n = len(y)
    s = X @ W
    correct = s[torch.arange(n), y].unsqueeze(1)
    margins = (s - correct + delta).clamp(min=0)
    margins[torch.arange(n), y] = 0
    r, dr = regularization(W, reg, reg_type, l1_ratio)
    loss = margins.sum(1).mean() + r
    dS = (margins > 0).to(X.dtype)
    dS[torch.arange(n), y] = -dS.sum(1)
    dW = X.T @ dS / n + dr
    return loss, dW


LOSSES = {"softmax": softmax_loss, "svm": svm_loss}


def init_weights(dim: int, num_classes: int, generator: torch.Generator, scale: float = 1e-3,
                 dtype=torch.float32) -> torch.Tensor:
    """Small random weights (the notes' W = 0.001 * randn)."""
    return scale * torch.randn(dim + 1, num_classes, generator=generator, dtype=dtype)


def predict(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    return (add_bias(X) @ W).argmax(dim=1)


def as_module(W: torch.Tensor) -> torch.nn.Module:
    """``x W`` as an nn.Module on images (N, ...): Flatten, then Linear with the weights W[:-1] and bias W[-1]."""
    W = W.detach().cpu()
    head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(W.shape[0] - 1, W.shape[1]))
    with torch.no_grad():
        head[1].weight.copy_(W[:-1].T)
        head[1].bias.copy_(W[-1])
    return head
