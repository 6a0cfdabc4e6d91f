"""The notes' update rules and learning-rate schedules, by name, from torch.optim.

    sgd       x -= lr * dx
    momentum  v = mu * v + dx;  x -= lr * v                            (mu = momentum, 0.9)
    nesterov  the gradient taken at the look-ahead point x - lr * mu * v
    adagrad   cache += dx^2;  x -= lr * dx / (sqrt(cache) + eps)
    rmsprop   cache = decay * cache + (1 - decay) dx^2;  x -= lr * dx / (sqrt(cache) + eps)   (decay 0.99)
    adam      m = b1 m + (1 - b1) dx;  v = b2 v + (1 - b2) dx^2;  bias-corrected m, v;
              x -= lr * m / (sqrt(v) + eps)                        (b1 0.9, b2 0.999)

``weight_decay`` adds the L2 penalty's gradient (weight_decay * x) to dx.

Schedules: ``none``; ``step``: lr *= gamma (0.1) every ``step_size`` epochs; ``plateau``: lr /= 10
when the validation loss has not improved for ``patience`` epochs (``scheduler.step(val_loss)``);
``onecycle`` (Smith & Topin 2019), stepped every minibatch over the whole budget of ``total_steps``:
lr rises from lr/25 to lr over the first 15% (cosine), then anneals to lr/25e4 (cosine), while
SGD's momentum moves the other way (0.95 -> 0.85 -> 0.95).

    opt = make_optimizer(model.parameters(), "adam", lr=1e-3)
    sched = make_scheduler(opt, "step", step_size=10)     # None for "none"
"""
from __future__ import annotations

from typing import Iterable, Optional

import torch

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
SCHEDULES = ("none", "step", "plateau", "onecycle")


def make_optimizer(params: Iterable, name: str, lr: float, weight_decay: float = 0.0,
                   momentum: float = 0.9, eps: Optional[float] = None, fused: bool = False) -> torch.optim.Optimizer:
    """The torch.optim optimiser for an update-rule name (see the module docstring).

    ``params``: parameters or parameter groups (dicts, as torch.optim takes them). ``eps``: the
    denominator's epsilon of adagrad, rmsprop and adam (None: torch's default; the RL agents use SB3's
    1e-5). ``fused=True`` runs the update as fused/multi-tensor kernels (Adam fused into one kernel on
    CPU and CUDA, the others ``foreach``): the same rule, fewer kernel launches for many small tensors."""
    params = list(params)
    kw = {"eps": eps} if eps is not None and name in ("adagrad", "rmsprop", "adam") else {}
    if fused and name == "adam":
        first = params[0]["params"][0] if params and isinstance(params[0], dict) else params[0] if params else None
        kw["fused"] = first is not None and first.device.type in ("cpu", "cuda")
    elif fused:
        kw["foreach"] = True
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, **kw)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **kw)
    if name == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay, **kw)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay, **kw)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.99, weight_decay=weight_decay, **kw)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **kw)
    raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")


def make_scheduler(optimizer: torch.optim.Optimizer, name: str = "none", step_size: int = 10,
                   gamma: float = 0.1, patience: int = 2, total_steps: int = 0) -> Optional[object]:
    """A learning-rate schedule stepped once per epoch (``plateau``: step(val_loss); ``onecycle``: once
    per minibatch, ``total_steps`` in all); None for ``none``."""
    if name == "none":
        return None
    if name == "step":
        if step_size < 1:
            raise ValueError(f"step_size must be at least 1 epoch, got {step_size}")
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=patience)
    if name == "onecycle":
        if total_steps < 2:
            raise ValueError(f"schedule=onecycle needs a budget of at least 2 steps, got {total_steps}")
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, optimizer.param_groups[0]["lr"], total_steps=total_steps,
                                                   pct_start=0.15, cycle_momentum="momentum" in optimizer.defaults
                                                   and optimizer.defaults["momentum"] > 0)
    raise ValueError(f"unknown schedule {name!r}; valid: {', '.join(SCHEDULES)}")
