"""Adversarial examples by the fast gradient sign method (Goodfellow et al. 2015), and adversarial training.

A classifier that is nearly linear in its input can be fooled by many tiny changes that all push the
same way: with L the loss of the true label y,

    x_adv = clip(x + ε sign(∇_x L(f(x), y)), 0, 1)

moves every pixel by at most ε (an L∞ ball) in the direction that raises the loss most to first
order. Adversarial training fits the network on a mix of clean and adversarial inputs, made afresh
from the current weights at every step:

    L_adv = α L(f(x), y) + (1 - α) L(f(x_adv), y)          (α = 1/2 in the paper)
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, clip=(0.0, 1.0)) -> torch.Tensor:
    """FGSM adversarial examples of ``x`` (pixels in ``clip``) for labels ``y``; the model's mode is kept."""
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}")
    x = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    x_adv = x.detach() + epsilon * grad.sign()
    return x_adv.clamp(*clip) if clip is not None else x_adv


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean())


def accuracy_vs_epsilon(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilons) -> list[float]:
    """Accuracy on FGSM examples for each ε (the model in eval mode)."""
    was = model.training
    model.eval()
    out = [accuracy(model, fgsm(model, x, y, e) if e > 0 else x, y) for e in epsilons]
    model.train(was)
    return out


def adversarial_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float,
                     alpha: float = 0.5) -> torch.Tensor:
    """α L(x) + (1 - α) L(x_adv) with x_adv made by FGSM on the current model."""
    x_adv = fgsm(model, x, y, epsilon)
    return alpha * F.cross_entropy(model(x), y) + (1 - alpha) * F.cross_entropy(model(x_adv), y)


def accuracy_under_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float,
                          batch: int = 1000) -> float:
    """Accuracy on FGSM examples at ``epsilon`` (clean images when 0), ``batch`` images at a time."""
    hits = 0.0
    for xb, yb in zip(x.split(batch), y.split(batch)):
        hits += accuracy(model, fgsm(model, xb, yb, epsilon) if epsilon > 0 else xb, yb) * len(yb)
    return hits / len(y)


class AdversarialPair(nn.Module):
    """A classifier ``std`` and its copy ``adv`` (one initialisation), trained side by side on the same
    batches: ``forward(x, y)`` gives (L(std(x), y), L_adv of ``adv`` at ``epsilon``, ``alpha``), so one
    backward of their sum trains both (their parameters are disjoint), under DDP too."""

    def __init__(self, model: nn.Module, epsilon: float, alpha: float = 0.5):
        super().__init__()
        self.std, self.adv = model, copy.deepcopy(model)
        self.epsilon, self.alpha = epsilon, alpha

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.cross_entropy(self.std(x), y), adversarial_loss(self.adv, x, y, self.epsilon, self.alpha)
