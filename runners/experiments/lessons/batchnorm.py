"""Lesson 5, ``batchnorm``: the same deep net with and without batch normalisation."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import matplotlib.pyplot as plt
import numpy as np
import torch

from gymlab.runners.config import RunConfig
from gymlab.runners.registry import register
from gymlab.vision.classify.mlp import ACTIVATIONS, INITS, MLP
from gymlab.runners.experiments.lessons.race import split_list, layer_stats, Race, raw_model


@dataclass
class BatchNormConfig(RunConfig):
    steps: int = 200
    eval_every: int = 50
    depth: int = 8
    width: int = 128
    activation: Literal[tuple(ACTIVATIONS)] = "tanh"
    inits: str = "xavier,small"  # each init with and without batch norm
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 64


@register("batchnorm", data="digits", select="eval/val_accuracy",
          description="the same deep net with and without batch normalisation, from a good and a bad init")
class BatchNorm(Race):
    """A deep MLP with and without batch norm (normalise each unit over the batch, then gamma, beta),
    for each initialisation. The notes: BN makes training less dependent on the initial scale and
    trains deep nets faster. ``eval/<variant>/act_std_last`` is the spread of the last hidden layer
    at initialisation."""

    Config = BatchNormConfig

    def build(self, cfg, ctx):
        inits = split_list(cfg.inits, "inits", valid=INITS)
        self.init_stats = {}
        for init in inits:
            for bn in (False, True):
                name = f"{init}{'+bn' if bn else ''}"
                torch.manual_seed(cfg.seed)
                net = MLP(64, (cfg.width,) * cfg.depth, 10, activation=cfg.activation, init=init, batchnorm=bn)
                net = ctx.prepare_model(net)
                raw = raw_model(net)
                snapshot = copy.deepcopy(raw.state_dict())  # the probe's BN statistics must not leak
                self.init_stats[name] = layer_stats(raw, self.data.xtr[:500], self.data.ytr[:500])
                raw.load_state_dict(snapshot)
                self.models[name] = net
                self.opts[name] = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)

    def extra_eval(self):
        out = {}
        for name, s in self.init_stats.items():
            out[f"eval/{name}/act_std_last"] = s["act_std"][-1]
            out[f"eval/{name}/grad_std_first"] = s["grad_std"][0]
        return out

    def media(self):
        fig, ax = plt.subplots(figsize=(5, 3))
        for name, s in self.init_stats.items():
            ax.plot(np.arange(1, len(s["act_std"]) + 1), np.maximum(s["act_std"], 1e-30), "o-", label=name)
        ax.set(yscale="log", xlabel="layer", ylabel="std of activations at init")
        ax.legend(fontsize=7)
        return {"act_std": fig, "loss": self.loss_figure("with and without batch norm"), "summary": self.table()}
