"""Fooling images: an image of class A, changed a little, that the network calls class B with high
confidence (Szegedy et al. 2014; Nguyen et al. 2015).

Gradient ascent on the target class's score S_B, with steps of fixed L2 length η along the
normalised gradient (so that the step does not depend on the gradient's scale), the pixels clipped
to their range after each step, stopping as soon as the network is confident:

    x_0 = x_A,     g_t = ∇_x S_B(x_t),     x_{t+1} = clip(x_t + η g_t / ||g_t||_2, lo, hi)
    stop at the first t with  softmax(S(x_t))_B >= q   (q: the confidence asked for)

The perturbation δ = x_t - x_A is reported by its L2 and L∞ norms and by ||δ||_2 / ||x_A||_2. Taking
the first confident image keeps δ small: each step moves x by at most η, so ||δ||_2 <= t η. A network
that is close to linear in its input gains a lot of score from a small step that agrees in sign with
many weights at once, which is why a small δ is enough (Goodfellow et al. 2015).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Fooled:
    images: torch.Tensor  # (N, C, H, W) the last iterate of each ascent
    success: torch.Tensor  # (N,) bool: reached the confidence
    steps: torch.Tensor  # (N,) long: steps taken (max_steps where it failed)
    confidence: torch.Tensor  # (N,) softmax probability of the target at the end
    l2: torch.Tensor  # (N,) ||δ||_2
    linf: torch.Tensor  # (N,) ||δ||_∞
    relative: torch.Tensor  # (N,) ||δ||_2 / ||x_A||_2


def fooling_images(model: nn.Module, x: torch.Tensor, target: torch.Tensor, confidence: float = 0.9,
                   step: float = 0.05, max_steps: int = 500, clamp=(0.0, 1.0)) -> Fooled:
    """Fool ``model`` into ``target`` (N,) for every image of ``x`` (N, C, H, W) at once, each image
    stopping at its own first confident step (see the module docstring). The model's mode is kept
    (call ``model.eval()`` first for BatchNorm and dropout networks)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x0 = x.detach()
    cur = x0.clone()
    done = torch.zeros(len(x0), dtype=torch.bool, device=x0.device)
    steps = torch.full((len(x0),), max_steps, dtype=torch.long, device=x0.device)
    rows = torch.arange(len(x0), device=x0.device)
    for t in range(max_steps + 1):
        xt = cur.clone().requires_grad_(True)
        scores = model(xt)
        with torch.no_grad():
            p = torch.softmax(scores.float(), 1)[rows, target]
            newly = (p >= confidence) & ~done
            steps[newly] = t
            done |= newly
        if bool(done.all()) or t == max_steps:
            break
        (g,) = torch.autograd.grad(scores[rows, target].sum(), xt)  # samples are independent
        with torch.no_grad():
            norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x0.dim() - 1)))
            moved = cur + step * g / norm
            if clamp is not None:
                moved = moved.clamp(*clamp)
            cur = torch.where(done.view(-1, *([1] * (x0.dim() - 1))), cur, moved)
    with torch.no_grad():
        conf = torch.softmax(model(cur).float(), 1)[rows, target]
        d = (cur - x0).flatten(1)
        return Fooled(cur, done, steps, conf, d.norm(dim=1), d.abs().amax(1),
                      d.norm(dim=1) / x0.flatten(1).norm(dim=1).clamp_min(1e-12))
