"""Babysitting the learning process (``gymlab run NAME sanity=true``): the notes' three checks
before a long run, done on a *copy* of the experiment's model so that the real run is unchanged.

1. Loss at initialisation against its expected value, with regularisation off:
       softmax over C classes:  L = -log(1/C) = log C      (all scores about equal)
       multiclass SVM:          L = (C - 1) * delta        (all margins about delta)
       untrained binary model:  L = log 2 nats = 1 bit per dimension  (p = 1/2 everywhere)
2. Overfit a tiny subset (20 examples) to near-zero loss: if the model cannot, something is broken.
3. A short learning-rate probe on a fixed batch: the loss barely moves -> "too low"; it shoots up
   (above 1.5x its start) or turns NaN -> "too high"; it falls -> "ok". The probe is run at the
   experiment's ``lr`` and at every decade from 1e-5 to 10; the decade with the lowest final loss is
   suggested.

The protocol an experiment offers (optional; the runner calls it when ``sanity=true``)::

    def sanity_model(self):
        return model, loss_fn, x_train, y_train, kind

- ``model``: an ``nn.Module`` or a tensor of weights (or a list/tuple/dict of tensors), left untouched:
  the checks copy it (``copy.deepcopy`` of the module, ``detach().clone()`` of tensors).
- ``loss_fn(model, x, y) -> scalar tensor``: the mean data loss *without* regularisation, differentiable
  by autograd in the model's parameters; it receives the copy. ``y`` may be ``None`` for density models.
- ``x_train``, ``y_train``: tensors on the model's device (the first axis indexes examples).
- ``kind``: what the loss at initialisation should be, in the units of ``loss_fn``:
  ``"softmax"`` (log C), ``"svm"`` (C - 1), ``"binary"`` (log 2 nats per dimension), ``"bits"`` (1 bit per
  dimension), or a number (the expected value itself). C is ``int(y_train.max()) + 1``.

A :class:`SanityModel` may be returned instead of the tuple to set ``num_classes`` or an ``optimizer``
factory ``(params, lr) -> torch.optim.Optimizer`` (default plain SGD, the update rule whose ``lr`` is
probed). :func:`check` runs the three checks on a plain model + data + loss, without any runner.

Examples (the method an experiment adds)::

    # a weight matrix trained by SGD on its analytic gradient (softmax / svm): autograd differentiates the loss
    def sanity_model(self):
        return self.W, lambda W, x, y: linear.softmax_loss(W, x, y)[0], self.xtr, self.ytr, "softmax"

    # a network trained with Adam: probe the same update rule
    def sanity_model(self):
        return SanityModel(self.model, lambda m, x, y: F.cross_entropy(m(x), y), self.xtr, self.ytr, "softmax",
                           optimizer=lambda params, lr: torch.optim.Adam(params, lr=lr))
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch

from gymlab.runners.checkpoint import rng_state, set_rng_state
from gymlab.runners.errors import GymlabError

KINDS = ("softmax", "svm", "binary", "bits")


@dataclass
class SanityModel:
    model: Any  # nn.Module | Tensor | list/tuple/dict of tensors
    loss_fn: Callable  # (model, x, y) -> scalar tensor, mean data loss without regularisation
    x: torch.Tensor
    y: Optional[torch.Tensor]
    kind: Any = "softmax"  # "softmax" | "svm" | "binary" | "bits" | expected initial loss (float)
    num_classes: Optional[int] = None
    optimizer: Callable = field(default=lambda params, lr: torch.optim.SGD(params, lr=lr))


@dataclass
class Settings:
    init_rtol: float = 0.1  # |L0 - expected| <= init_rtol * expected
    init_examples: int = 2048  # examples used to measure the initial loss
    overfit_examples: int = 20
    overfit_steps: int = 300
    overfit_lr: float = 1e-2  # Adam: the check asks "can it memorise", not "with which lr"
    overfit_target: float = 0.01  # near zero: final loss <= overfit_target * initial loss
    probe_examples: int = 256
    probe_steps: int = 25
    flat_rtol: float = 0.01  # relative decrease below 1%: "too low"
    explode_factor: float = 1.5  # loss above 1.5x the initial one at any step (or non-finite): "too high"
    decades: tuple = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
    seed: int = 0


def as_sanity_model(obj) -> SanityModel:
    """Accept a SanityModel or the tuple ``(model, loss_fn, x_train, y_train, kind)``."""
    if isinstance(obj, SanityModel):
        return obj
    if isinstance(obj, (tuple, list)) and len(obj) == 5:
        return SanityModel(*obj)
    raise TypeError("sanity_model() must return (model, loss_fn, x_train, y_train, kind) or a SanityModel, "
                    f"got {type(obj).__name__}")


def expected_initial_loss(sm: SanityModel) -> float:
    """The value the loss should take at initialisation (see the module docstring)."""
    if isinstance(sm.kind, (int, float)) and not isinstance(sm.kind, bool):
        return float(sm.kind)
    if sm.kind in ("binary", "bits"):
        return math.log(2.0) if sm.kind == "binary" else 1.0
    if sm.kind in ("softmax", "svm"):
        if sm.num_classes is not None:
            c = sm.num_classes
        elif sm.y is not None:
            c = int(sm.y.max().item()) + 1
        else:
            raise ValueError(f"kind {sm.kind!r} needs labels y or num_classes")
        return math.log(c) if sm.kind == "softmax" else float(c - 1)
    raise ValueError(f"unknown sanity kind {sm.kind!r}; valid: {', '.join(KINDS)} or a number")


# ------------------------------------------------------------------------ copies of the model
def _unwrap(model):
    """The plain module under torch.compile (._orig_mod) and DistributedDataParallel (.module)."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def fresh_copy(model):
    """A trainable copy and the list of its parameters; the original is never touched."""
    if isinstance(model, torch.nn.Module):
        m = copy.deepcopy(_unwrap(model))
        params = [p for p in m.parameters() if p.requires_grad]
        return m, params
    if isinstance(model, torch.Tensor):
        m = model.detach().clone().requires_grad_(True)
        return m, [m]
    if isinstance(model, (list, tuple)):
        m = [t.detach().clone().requires_grad_(True) for t in model]
        return type(model)(m), list(m)
    if isinstance(model, dict):
        m = {k: t.detach().clone().requires_grad_(True) for k, t in model.items()}
        return m, list(m.values())
    raise TypeError(f"sanity model must be an nn.Module, a tensor, or a list/tuple/dict of tensors, "
                    f"got {type(model).__name__}")


def _subset(sm: SanityModel, n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(sm.x), generator=g)[:n].to(sm.x.device)
    return sm.x[idx], (None if sm.y is None else sm.y[idx])


def _loss(sm, m, x, y) -> float:
    with torch.no_grad():
        return float(sm.loss_fn(m, x, y))


def _train(sm, make_opt, x, y, steps: int, stop_below: float = -math.inf):
    """Full-batch descent on (x, y) from a fresh copy; the loss before each step and after the last."""
    m, params = fresh_copy(sm.model)
    opt = make_opt(params)
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = sm.loss_fn(m, x, y)
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]) or losses[-1] <= stop_below:
            return losses
        loss.backward()
        opt.step()
    losses.append(_loss(sm, m, x, y))
    return losses


# ------------------------------------------------------------------------ the three checks
def check_initial_loss(sm: SanityModel, s: Settings = Settings()) -> dict:
    x, y = _subset(sm, s.init_examples, s.seed)
    m, _ = fresh_copy(sm.model)
    got, want = _loss(sm, m, x, y), expected_initial_loss(sm)
    return {"init_loss": got, "init_expected": want, "init_ok": abs(got - want) <= s.init_rtol * abs(want)}


def check_overfit(sm: SanityModel, s: Settings = Settings()) -> dict:
    x, y = _subset(sm, s.overfit_examples, s.seed + 1)
    start = _loss(sm, fresh_copy(sm.model)[0], x, y)
    target = s.overfit_target * abs(start)
    losses = _train(sm, lambda p: torch.optim.Adam(p, lr=s.overfit_lr), x, y, s.overfit_steps, stop_below=target)
    final = losses[-1]
    return {"overfit_examples": len(x), "overfit_loss": final, "overfit_steps": len(losses) - 1,
            "overfit_ok": math.isfinite(final) and final <= target}


def lr_verdict(losses: list, flat_rtol: float = 0.01, explode_factor: float = 1.5) -> str:
    """'too high' if the loss turned non-finite or rose above explode_factor x its start at any step,
    'too low' if it fell by less than flat_rtol of its start, else 'ok'."""
    first, last = losses[0], losses[-1]
    if not all(math.isfinite(v) for v in losses) or max(losses) > explode_factor * abs(first):
        return "too high"
    if first - last < flat_rtol * abs(first):
        return "too low"
    return "ok"


def probe_lr(sm: SanityModel, lr: float, s: Settings = Settings()) -> tuple[str, list]:
    """A few steps of the experiment's update rule at ``lr`` on a fixed batch: (verdict, losses)."""
    x, y = _subset(sm, s.probe_examples, s.seed + 2)
    losses = _train(sm, lambda p: sm.optimizer(p, lr), x, y, s.probe_steps)
    return lr_verdict(losses, s.flat_rtol, s.explode_factor), losses


def check(sm, lr: Optional[float] = None, settings: Settings = Settings()) -> dict:
    """All three checks on a SanityModel (or the 5-tuple); returns the report dict."""
    sm = as_sanity_model(sm)
    saved = rng_state()  # the checks must not shift the real run's random stream
    try:
        report = {**check_initial_loss(sm, settings), **check_overfit(sm, settings)}
        finals = {}
        for d in settings.decades:
            verdict, losses = probe_lr(sm, d, settings)
            report[f"lr_{d:g}"] = verdict
            if verdict == "ok":
                finals[d] = losses[-1]
        report["lr_suggest"] = min(finals, key=finals.get) if finals else float("nan")
        if lr is not None:
            verdict, losses = probe_lr(sm, lr, settings)
            report.update({"lr": lr, "lr_verdict": verdict, "lr_probe_start": losses[0], "lr_probe_end": losses[-1]})
    finally:
        set_rng_state(saved)
    return report


def run_sanity(exp, cfg) -> dict:
    """The runner's entry point: the checks on ``exp.sanity_model()`` at the config's learning rate
    (``lr``, or ``optim.lr``, when it has one)."""
    if not hasattr(exp, "sanity_model"):
        raise GymlabError(f"sanity=true needs the experiment {type(exp).__name__} to offer sanity_model() "
                          "-> (model, loss_fn, x_train, y_train, kind); see runners/sanity.py")
    try:
        sm = as_sanity_model(exp.sanity_model())
        lr = getattr(cfg, "lr", None) if hasattr(cfg, "lr") else getattr(getattr(cfg, "optim", None), "lr", None)
        return check(sm, lr=float(lr) if isinstance(lr, (int, float)) else None,
                     settings=Settings(seed=int(getattr(cfg, "seed", 0))))
    except (TypeError, ValueError) as e:
        raise GymlabError(f"sanity checks of {type(exp).__name__}: {e}") from None
