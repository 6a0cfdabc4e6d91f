"""The notes' gradient check: compare an analytic gradient with the centred difference

    df/dx_i  ~=  (f(x + h e_i) - f(x - h e_i)) / (2 h)

using the relative error  |a - n| / max(|a|, |n|)  per entry (1e-7 and below is excellent in
float64; above 1e-2 the gradient is almost certainly wrong). Work in float64 and keep h ~ 1e-5.
Kinks (ReLU, hinge) may give a few large errors when x + h crosses them.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor | float], x: torch.Tensor, h: float = 1e-5,
                       indices: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Centred-difference gradient of the scalar ``f`` at ``x`` (x is modified in place and restored).

    ``indices``: flat positions to check (default: all); the other entries of the result are 0.
    """
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    positions = range(flat.numel()) if indices is None else indices.tolist()
    for i in positions:
        old = flat[i].item()
        flat[i] = old + h
        fp = float(f(x))
        flat[i] = old - h
        fm = float(f(x))
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def relative_error(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Entry-wise |a - b| / max(|a|, |b|) (0 where both are 0)."""
    return (a - b).abs() / torch.clamp(torch.maximum(a.abs(), b.abs()), min=eps)


def gradcheck(f: Callable[[torch.Tensor], torch.Tensor | float], x: torch.Tensor, analytic: torch.Tensor,
              h: float = 1e-5, num_checks: Optional[int] = None, generator: Optional[torch.Generator] = None) -> float:
    """Largest relative error between ``analytic`` and the numerical gradient of ``f`` at ``x``.

    ``num_checks``: check that many random entries instead of all (the notes' 'grad_check_sparse').
    """
    if x.dtype != torch.float64:
        raise TypeError(f"gradcheck needs float64 inputs for meaningful errors, got {x.dtype}")
    if analytic.shape != x.shape:
        raise ValueError(f"analytic gradient shape {tuple(analytic.shape)} differs from x's {tuple(x.shape)}")
    idx = None
    if num_checks is not None and num_checks < x.numel():
        idx = torch.randperm(x.numel(), generator=generator)[:num_checks]
    num = numerical_gradient(f, x, h, idx)
    a, n = analytic.reshape(-1), num.reshape(-1)
    if idx is not None:
        a, n = a[idx], n[idx]
    return relative_error(a, n).max().item()
