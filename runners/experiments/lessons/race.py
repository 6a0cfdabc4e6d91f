"""Shared parts of the lessons: the digits data, small helpers, and ``Race``, which trains several
models side by side on the same minibatches."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Optional

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gymlab.runners.errors import GymlabError
from gymlab.vision.data.batching import batch_indices
from gymlab.runners.experiment import Experiment
from gymlab.vision.data.datasets import load_digits_split, standardize
from gymlab.vision.nn.layers import inference
from gymlab.vision.classify.mlp import MLP
from gymlab.vision.nn.regularizers import random_crop




@dataclass
class Digits:
    xtr: torch.Tensor
    ytr: torch.Tensor
    xva: torch.Tensor
    yva: torch.Tensor
    xte: torch.Tensor
    yte: torch.Tensor
    mean: Optional[torch.Tensor] = None  # the training statistics of the standardisation (64,)
    std: Optional[torch.Tensor] = None

    def augment(self, x: torch.Tensor, pad: int) -> torch.Tensor:
        """Random crops (zero-pad ``pad`` blank pixels, cut 8x8 back) of standardised rows: undo the
        standardisation, shift the images, redo it."""
        raw = (x * self.std + self.mean).view(-1, 1, 8, 8)
        return (random_crop(raw, pad).flatten(1) - self.mean) / self.std


def digits(seed: int, device, train_size: Optional[int] = None, label_noise: float = 0.0) -> Digits:
    """Standardised, flattened digits (N, 64); ``train_size`` keeps a stratified-by-seed subset of train;
    ``label_noise`` replaces that fraction of the training labels by random other classes (fixed by seed)."""
    ds = load_digits_split(seed)
    xtr, ytr = ds.train.x, ds.train.y
    if train_size is not None and train_size < len(ytr):
        if train_size < 10:
            raise GymlabError(f"bad value for 'train_size': {train_size}; it must be at least 10")
        g = torch.Generator().manual_seed(seed)
        keep = torch.cat([torch.nonzero(ytr == c).flatten()[torch.randperm(int((ytr == c).sum()), generator=g)]
                          [: max(1, round(train_size * float((ytr == c).float().mean())))] for c in range(10)])
        xtr, ytr = xtr[keep], ytr[keep]
    if label_noise > 0:
        if not label_noise < 1:
            raise GymlabError(f"bad value for 'label_noise': {label_noise}; it must be in [0, 1)")
        g = torch.Generator().manual_seed(seed + 7)
        flip = torch.randperm(len(ytr), generator=g)[: round(label_noise * len(ytr))]
        ytr = ytr.clone()
        ytr[flip] = (ytr[flip] + torch.randint(1, 10, (len(flip),), generator=g)) % 10
    flat = xtr.reshape(len(xtr), -1)
    mean, std = flat.mean(0), flat.std(0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))  # as vision.datasets.standardize
    xtr, xva, xte = standardize(xtr, ds.val.x, ds.test.x)
    return Digits(*(t.to(device) for t in (xtr, ytr, xva, ds.val.y, xte, ds.test.y, mean, std)))


def split_list(text: str, key: str, cast=str, valid=None) -> list:
    """'a,b,c' -> [a, b, c], each cast and checked against ``valid``."""
    try:
        items = [cast(s.strip()) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise GymlabError(f"bad value for {key!r}: {text!r} is not a comma-separated list of {cast.__name__}") from None
    if not items:
        raise GymlabError(f"bad value for {key!r}: the list is empty")
    if valid is not None:
        bad = [s for s in items if s not in valid]
        if bad:
            raise GymlabError(f"bad value for {key!r}: {', '.join(map(str, bad))}; valid: {', '.join(valid)}")
    return items


def weight_params(model: nn.Module) -> list:
    """The weight matrices (not biases, not BN parameters): what L2 regularisation penalises."""
    return [p for n, p in model.named_parameters() if p.dim() > 1]


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with inference(model):
        return (model(x).argmax(1) == y).float().mean().item()


def data_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean cross-entropy in eval mode (no regularisation term)."""
    with inference(model):
        return F.cross_entropy(model(x), y).item()


def layer_stats(model: MLP, x: torch.Tensor, y: torch.Tensor, samples: int = 2000) -> dict:
    """Per hidden layer: mean and std of the activations h, the fraction saturated (|h| > 0.99 for
    tanh), the std of the upstream gradient dL/dh and the norm of dL/dW, from one forward/backward
    pass of cross-entropy on (x, y) in the model's current mode; plus a sample of h for histograms."""
    model.zero_grad()
    logits, acts = model(x, return_activations=True)
    for a in acts:
        a.retain_grad()
    F.cross_entropy(logits, y).backward()

    def weight(layer):
        lin = layer.linear
        return lin.weight if hasattr(lin, "weight") else lin.linear.weight

    out = {
        "act_mean": [a.mean().item() for a in acts],
        "act_std": [a.std().item() for a in acts],
        "saturated": [(a.abs() > 0.99).float().mean().item() for a in acts],
        "grad_std": [a.grad.std().item() for a in acts],
        "wgrad_norm": [weight(layer).grad.norm().item() for layer in model.layers],
        "samples": [a.detach().flatten()[:samples].cpu().numpy() for a in acts],
    }
    model.zero_grad()
    return out


class Race(Experiment):
    """Several models trained side by side on the same minibatches (a permutation fixed by seed and
    epoch, so that a resumed run sees the same data). Subclasses fill ``self.models`` and
    ``self.opts`` in ``build(cfg, ctx)``; they may override ``loss``, ``after_step`` and ``extra_eval``."""

    def setup(self, cfg, ctx):
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        if cfg.batch_size < 1:
            raise GymlabError(f"bad value for 'batch_size': {cfg.batch_size}; it must be at least 1")
        self.data = digits(cfg.seed, ctx.device, getattr(cfg, "train_size", None), getattr(cfg, "label_noise", 0.0))
        self.models: dict[str, nn.Module] = {}
        self.opts: dict[str, torch.optim.Optimizer] = {}
        self.build(cfg, ctx)
        self.history = {name: [] for name in self.models}
        self.diverged = {name: False for name in self.models}
        self.steps_per_epoch = math.ceil(len(self.data.ytr) / cfg.batch_size)
        self.step = 0

    def build(self, cfg, ctx):
        raise TypeError(f"{type(self).__name__} must define build(cfg, ctx): the models it races")

    def _batch(self):
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, len(self.data.ytr), self.cfg.batch_size))
        idx = idx.to(self.device)
        return self.data.xtr[idx], self.data.ytr[idx]

    def loss(self, name: str, model: nn.Module, x, y):
        return F.cross_entropy(model(x), y)

    def after_step(self, name: str, model: nn.Module) -> None:
        pass

    def train_step(self):
        x, y = self._batch()
        out = {}
        for name, model in self.models.items():
            if self.diverged[name]:
                continue
            model.train()
            with self.ctx.autocast():
                loss = self.loss(name, model, x, y)
            if not torch.isfinite(loss):
                self.diverged[name] = True
                continue
            self.opts[name].zero_grad()
            loss.backward()
            self.opts[name].step()
            self.after_step(name, model)
            self.history[name].append(loss.item())
            out[f"train/{name}/loss"] = loss.item()
        self.step += 1
        out["train/epoch"] = self.step / self.steps_per_epoch
        return out

    def recent_loss(self, name: str, window: int = 20) -> float:
        h = self.history[name]
        return float(np.mean(h[-window:])) if h else float("nan")

    def evaluate(self):
        d, out, best = self.data, {}, None
        for name, model in self.models.items():
            if self.diverged[name]:
                out[f"eval/{name}/diverged"] = 1.0
                continue
            val = accuracy(model, d.xva, d.yva)
            out[f"eval/{name}/accuracy"] = accuracy(model, d.xte, d.yte)
            out[f"eval/{name}/val_accuracy"] = val
            out[f"eval/{name}/train_accuracy"] = accuracy(model, d.xtr, d.ytr)
            out[f"eval/{name}/train_loss"] = self.recent_loss(name)
            if best is None or val > out[f"eval/{best}/val_accuracy"]:
                best = name
        if best is not None:
            out["eval/accuracy"] = out[f"eval/{best}/accuracy"]
            out["eval/val_accuracy"] = out[f"eval/{best}/val_accuracy"]
        out.update(self.extra_eval())
        return out

    def extra_eval(self) -> dict:
        return {}

    def sanity_model(self):
        """The runner's sanity=true checks (runners/sanity.py) on the first variant."""
        from gymlab.runners.sanity import SanityModel

        first = next(iter(self.models.values()))
        return SanityModel(first, lambda m, x, y: F.cross_entropy(m(x), y), self.data.xtr, self.data.ytr,
                           "softmax", num_classes=10)

    def loss_figure(self, title: str, smooth: int = 10):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for name, h in self.history.items():
            if h:
                k = min(smooth, len(h))
                ax.plot(np.convolve(h, np.ones(k) / k, mode="valid"), label=name + (" (diverged)" if self.diverged[name] else ""))
        ax.set(xlabel="step", ylabel="training loss (moving average)", title=title, yscale="log")
        ax.legend(fontsize=7)
        return fig

    def table(self) -> list:
        ev = self.evaluate()
        rows = []
        for name in self.models:
            rows.append({"variant": name, **{k.split("/")[-1]: v for k, v in ev.items() if k.startswith(f"eval/{name}/")}})
        return rows

    def state_dict(self):
        return {"models": {n: m.state_dict() for n, m in self.models.items()},
                "opts": {n: o.state_dict() for n, o in self.opts.items()},
                "history": copy.deepcopy(self.history), "diverged": dict(self.diverged), "step": self.step,
                "extra": self.extra_state()}

    def load_state_dict(self, state):
        for n, m in self.models.items():
            m.load_state_dict(state["models"][n])
            self.opts[n].load_state_dict(state["opts"][n])
        self.history = copy.deepcopy(state["history"])
        self.diverged = dict(state["diverged"])
        self.step = state["step"]
        self.load_extra_state(state.get("extra", {}))

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass


def raw_model(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel / compiled wrapper."""
    return getattr(model, "module", getattr(model, "_orig_mod", model))
