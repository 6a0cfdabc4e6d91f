"""The race template: several models trained side by side on the same minibatches (the lessons).

What a lesson gives:

    variants(cfg)                 -> {name: spec}: what differs between the models; a dict spec may
                                     name its own ``optimizer`` rule and ``lr``           (abstract)
    build(cfg, name, spec)        -> nn.Module; torch is seeded with cfg.seed before each, so that
                                     models of one architecture start from the same weights  (abstract)
    optimizer(cfg, name, spec, params) -> Optimizer (default: the rule, lr, momentum and weight decay
                                     of cfg.optim, or the spec's rule and lr; vision.nn.optim)
    loss(name, model, x, y)       -> scalar loss (default: cross-entropy)
    probe(name, model)            -> statistics at initialisation, measured on the unwrapped model: a dict
                                     kept in ``self.stats[name]``, whose numbers are logged as
                                     ``eval/<variant>/<key>`` (default none)
    after_step(name, model)       after each update: constraints, a changed learning rate (default none)
    extra_eval()                  -> more eval/<variant>/<metric> keys (default none)
    title                         the loss plot's title (media: ``loss`` and the ``summary`` table)

What the template does with them:
- ``setup``: the image set ``cfg.data`` names (``data=digits``, the default, or ``data=mnist``,
  ``data.root``, ``data.max_train``; runners.templates.supervised.load_images) standardised and
  flattened (vision.data.flat_digits: ``self.data``, ``self.data.features`` inputs a row; ``train_size``
  and ``label_noise`` when the config has them; ``preprocess=auto``: per pixel for digits, per channel
  for the others), then per variant the model (``ctx.prepare_model``), its optimiser and the schedule
  ``cfg.optim.schedule`` names.
- ``train_step``: minibatch ``step`` of the seeded shuffle (vision.data.batching: fixed by (seed,
  epoch), so a resumed run sees the same batches), one update of every variant on it; at the end of an
  epoch a schedule step (``plateau``: on the epoch's mean training loss). A variant whose loss turns
  non-finite stops training; it reports ``eval/<variant>/diverged = 1`` instead of ending the run.
- ``evaluate``: ``eval/<variant>/{accuracy, val_accuracy, train_accuracy, train_loss}`` (test,
  validation, training set: its first ``eval_train_limit`` rows; train_loss: the mean of the last 20
  minibatch losses), and
  ``eval/accuracy``, ``eval/val_accuracy`` of the variant with the best validation accuracy.
- ``media``: ``loss`` (the loss curves on one plot, ``loss_figure``) and ``summary`` (``table``: one
  row per variant).
- ``sanity_model``: the first variant (``sanity=true``).
- Checkpoints: models, optimisers, schedules, loss histories, divergence and step.
"""
from __future__ import annotations

import abc
import copy
import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gymlab.runners.config import DataConfig, OptimConfig, RunConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.templates.supervised import load_images
from gymlab.vision.data.batching import batch_indices
from gymlab.vision.data.flat_digits import flat_images
from gymlab.vision.nn import optim
from gymlab.vision.nn.curves import loss_curves_figure
from gymlab.vision.nn.layers import inference


@dataclass
class RaceConfig(RunConfig):
    batch_size: int = 64  # examples per minibatch, the same minibatches for every variant
    data: DataConfig = group(DataConfig)  # digits (8x8: 64 inputs) or mnist (28x28: 784), flattened
    preprocess: Literal["auto", "image", "channel"] = "auto"  # standardise per pixel (image) or channel; auto: image for digits, else channel
    optim: OptimConfig = group(OptimConfig, name="momentum", lr=0.05)


def names(text: str, key: str, cast=str, valid=None, empty: bool = False) -> list:
    """A comma-separated config value as a list ('a,b' -> [a, b]), each cast and checked against ``valid``
    (``empty``: an empty list is allowed)."""
    try:
        items = [cast(s.strip()) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise GymlabError(f"bad value for {key!r}: {text!r} is not a comma-separated list of {cast.__name__}") from None
    bad = [s for s in items if valid is not None and s not in valid]
    if bad or not (items or empty):
        raise GymlabError(f"bad value for {key!r}: {', '.join(map(str, bad)) or 'an empty list'}"
                          + (f"; valid: {', '.join(valid)}" if valid else ""))
    return items


def raw_model(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel / compiled wrapper."""
    return getattr(model, "module", getattr(model, "_orig_mod", model))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with inference(model):
        return (model(x).argmax(1) == y).float().mean().item()


def data_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean cross-entropy in eval mode (no regularisation term)."""
    with inference(model):
        return F.cross_entropy(model(x), y).item()


class Race(Experiment):
    """Give ``variants`` and ``build`` (and the hooks above); the template races them."""

    Config: ClassVar[type] = RaceConfig
    title: ClassVar[str] = "the variants on the same minibatches"
    eval_train_limit: ClassVar[int] = 5000  # training rows behind train_accuracy (all of digits' 1,078)

    # ------------------------------------------------------------------ what the lesson gives
    @abc.abstractmethod
    def variants(self, cfg) -> dict:
        """name -> spec of each variant the lesson races."""

    @abc.abstractmethod
    def build(self, cfg, name: str, spec) -> nn.Module:
        """The model of one variant."""

    def optimizer(self, cfg, name: str, spec, params) -> torch.optim.Optimizer:
        o, own = cfg.optim, spec if isinstance(spec, dict) else {}
        return optim.make_optimizer(params, own.get("optimizer", o.name), own.get("lr", o.lr), o.weight_decay, o.momentum)

    def loss(self, name: str, model: nn.Module, x, y):
        return F.cross_entropy(model(x), y)

    def probe(self, name: str, model: nn.Module):
        return None

    def after_step(self, name: str, model: nn.Module) -> None:
        pass

    def extra_eval(self) -> dict:
        return {}

    # ------------------------------------------------------------------ what the template does
    def setup(self, cfg, ctx):
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        try:
            per = cfg.preprocess if cfg.preprocess != "auto" else "image" if cfg.data.name == "digits" else "channel"
            self.data = flat_images(load_images(cfg.data, cfg.seed), cfg.seed, ctx.device, getattr(cfg, "train_size", None),
                                    getattr(cfg, "label_noise", 0.0), cfg.data.max_train, per)
            self.specs = self.variants(cfg)
            self.models, self.opts, self.scheds, self.stats = {}, {}, {}, {}
            for name, spec in self.specs.items():
                torch.manual_seed(cfg.seed)
                self.models[name] = model = ctx.prepare_model(self.build(cfg, name, spec))
                stats = self.probe(name, raw_model(model))
                if stats is not None:
                    self.stats[name] = stats
                self.opts[name] = self.optimizer(cfg, name, spec, model.parameters())
                o = cfg.optim
                self.scheds[name] = optim.make_scheduler(self.opts[name], o.schedule, o.step_size, o.gamma, o.patience)
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.history = {name: [] for name in self.models}
        self.diverged = {name: False for name in self.models}
        self.steps_per_epoch = math.ceil(len(self.data.ytr) / cfg.batch_size)
        self.step = 0

    def train_step(self):
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, len(self.data.ytr), self.cfg.batch_size))
        x, y = self.data.xtr[idx.to(self.device)], self.data.ytr[idx.to(self.device)]
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
        if self.step % self.steps_per_epoch == 0:  # the end of an epoch
            for name, sched in self.scheds.items():
                if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    sched.step(float(np.mean(self.history[name][-self.steps_per_epoch:] or [0.0])))
                elif sched is not None:
                    sched.step()
        out["train/epoch"] = self.step / self.steps_per_epoch
        return out

    def train_rows(self) -> tuple:
        """The training rows (x, y) that train accuracies are measured on (the first ``eval_train_limit``)."""
        n = self.eval_train_limit
        return self.data.xtr[:n], self.data.ytr[:n]

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
            out[f"eval/{name}/train_accuracy"] = accuracy(model, *self.train_rows())
            out[f"eval/{name}/train_loss"] = self.recent_loss(name)
            if best is None or val > out[f"eval/{best}/val_accuracy"]:
                best = name
        if best is not None:
            out["eval/accuracy"] = out[f"eval/{best}/accuracy"]
            out["eval/val_accuracy"] = out[f"eval/{best}/val_accuracy"]
        out.update({f"eval/{n}/{k}": v for n, s in self.stats.items() for k, v in s.items() if isinstance(v, (int, float))})
        out.update(self.extra_eval())
        return out

    def loss_figure(self):
        return loss_curves_figure(self.history, self.title, marked=[n for n, d in self.diverged.items() if d])

    def media(self):
        return {"loss": self.loss_figure(), "summary": self.table()}

    def table(self) -> list:
        """One row per variant: its eval/<variant>/<metric> values."""
        ev = self.evaluate()
        return [{"variant": name, **{k.split("/")[-1]: v for k, v in ev.items() if k.startswith(f"eval/{name}/")}}
                for name in self.models]

    def sanity_model(self):
        """The runner's sanity=true checks (runners/sanity.py) on the first variant."""
        from gymlab.runners.sanity import SanityModel

        first = next(iter(self.models.values()))
        return SanityModel(first, lambda m, x, y: F.cross_entropy(m(x), y), self.data.xtr, self.data.ytr,
                           "softmax", num_classes=self.data.classes)

    def state_dict(self):
        return {"models": {n: m.state_dict() for n, m in self.models.items()},
                "opts": {n: o.state_dict() for n, o in self.opts.items()},
                "scheds": {n: s.state_dict() for n, s in self.scheds.items() if s is not None},
                "history": copy.deepcopy(self.history), "diverged": dict(self.diverged), "step": self.step}

    def load_state_dict(self, state):
        for n, m in self.models.items():
            m.load_state_dict(state["models"][n])
            self.opts[n].load_state_dict(state["opts"][n])
        for n, s in state.get("scheds", {}).items():
            self.scheds[n].load_state_dict(s)
        self.history = copy.deepcopy(state["history"])
        self.diverged = dict(state["diverged"])
        self.step = state["step"]
