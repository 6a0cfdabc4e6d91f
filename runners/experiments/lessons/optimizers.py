"""Lesson 3, ``optimizers``: SGD, momentum, Nesterov, AdaGrad, RMSProp and Adam racing on the same
model and minibatches."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from gymlab.runners.config import RunConfig
from gymlab.runners.registry import register
from gymlab.vision.classify.mlp import MLP
from gymlab.vision.nn.optim import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler
from gymlab.runners.experiments.lessons.race import split_list, Race


@dataclass
class OptimizersConfig(RunConfig):
    steps: int = 300
    eval_every: int = 100
    depth: int = 2
    width: int = 100
    optimizers: str = "sgd,momentum,nesterov,adagrad,rmsprop,adam"
    lr_sgd: float = 0.01  # sgd, momentum and nesterov share it
    lr_adagrad: float = 0.01
    lr_rmsprop: float = 0.001
    lr_adam: float = 0.001
    momentum: float = 0.9
    schedule: Literal[tuple(SCHEDULES)] = "none"  # none | step | plateau (stepped every steps_per_epoch steps)
    step_size: int = 5  # epochs, for schedule=step
    batch_size: int = 64


@register("optimizers", data="digits", select="eval/val_accuracy",
          description="SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam racing from the same weights and batches")
class Optimizers(Race):
    """The notes' update rules (vision.optim) on one two-layer ReLU net: identical initial weights,
    identical minibatches; the loss curves on one plot."""

    Config = OptimizersConfig

    def build(self, cfg, ctx):
        names = split_list(cfg.optimizers, "optimizers", valid=OPTIMIZERS)
        torch.manual_seed(cfg.seed)
        base = MLP(64, (cfg.width,) * cfg.depth, 10, activation="relu", init="he")
        lrs = {"sgd": cfg.lr_sgd, "momentum": cfg.lr_sgd, "nesterov": cfg.lr_sgd, "adagrad": cfg.lr_adagrad,
               "rmsprop": cfg.lr_rmsprop, "adam": cfg.lr_adam}
        self.scheds = {}
        for name in names:
            net = ctx.prepare_model(copy.deepcopy(base))
            self.models[name] = net
            self.opts[name] = make_optimizer(net.parameters(), name, lr=lrs[name], momentum=cfg.momentum)
            self.scheds[name] = make_scheduler(self.opts[name], cfg.schedule, step_size=cfg.step_size)

    def after_step(self, name, model):
        sched = self.scheds[name]
        if sched is None or (self.step + 1) % self.steps_per_epoch:
            return
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(float(np.mean(self.history[name][-self.steps_per_epoch:] or [0.0])))
        else:
            sched.step()

    def extra_eval(self):
        return {f"eval/{n}/lr": o.param_groups[0]["lr"] for n, o in self.opts.items()}

    def extra_state(self):
        return {"scheds": {n: s.state_dict() for n, s in self.scheds.items() if s is not None}}

    def load_extra_state(self, state):
        for n, s in state.get("scheds", {}).items():
            self.scheds[n].load_state_dict(s)

    def media(self):
        return {"loss": self.loss_figure("optimizers on the same net and minibatches"), "summary": self.table()}
