"""Lesson 2, ``activations``: the same net trained with each activation (dead ReLUs, sigmoid
saturation, zero-centred against not)."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.runners.registry import register
from gymlab.vision.classify.mlp import ACTIVATIONS, MLP
from gymlab.runners.experiments.lessons.race import split_list, layer_stats, Race, raw_model


@dataclass
class ActivationsConfig(RunConfig):
    steps: int = 300
    eval_every: int = 100
    depth: int = 5
    width: int = 128
    activations: str = "sigmoid,tanh,relu,leaky_relu,elu,maxout"
    lr: float = 0.01
    momentum: float = 0.9
    kick_lr: float = 3.0  # an extra ReLU net whose first update uses this (far too high) rate; 0 to skip
    batch_size: int = 64


@register("activations", data="digits", select="eval/val_accuracy",
          description="the same net with each activation: dead ReLUs, sigmoid saturation, zero-centred or not")
class Activations(Race):
    """The same net (Xavier init for sigmoid, tanh and maxout, He for the ReLU family) trained with each activation.

    Measured at initialisation on the validation set: the mean activation (zero-centred or not), the
    ratio of the gradient's std at the first hidden layer to the last (a sigmoid passes at most 1/4
    of it back per layer), and the fraction of per-example weight-gradient rows of layer 2 whose
    entries all share one sign (always, when every input to the layer is positive: the zig-zag of
    non-zero-centred activations). After training: accuracy and the fraction of dead units (output
    exactly zero for every validation example). ``relu_kicked`` is the ReLU net whose first update
    is taken at ``kick_lr`` (one too-large step, as with a too-high learning rate) and the rest at
    ``lr``: the units it knocks out get no gradient and stay dead.
    """

    Config = ActivationsConfig

    def build(self, cfg, ctx):
        self.acts = split_list(cfg.activations, "activations", valid=ACTIVATIONS)
        variants = [(a, a, cfg.lr) for a in self.acts]
        if cfg.kick_lr > 0:
            variants.append(("relu_kicked", "relu", cfg.kick_lr))
        self.init_stats = {}
        d = self.data
        for name, act, lr in variants:
            torch.manual_seed(cfg.seed)
            init = "xavier" if act in ("sigmoid", "tanh", "maxout") else "he"
            net = ctx.prepare_model(MLP(64, (cfg.width,) * cfg.depth, 10, activation=act, init=init))
            raw = raw_model(net)
            s = layer_stats(raw, d.xva, d.yva)
            s["same_sign_rows"] = self._same_sign_rows(raw, d.xva[:32], d.yva[:32])
            self.init_stats[name] = s
            self.models[name] = net
            self.opts[name] = torch.optim.SGD(net.parameters(), lr=lr, momentum=cfg.momentum)

    def after_step(self, name, model):
        if name == "relu_kicked" and self.step == 0:  # the kick is over: back to the normal rate
            for group in self.opts[name].param_groups:
                group["lr"] = self.cfg.lr

    @staticmethod
    def _same_sign_rows(model: MLP, x, y) -> float:
        """Fraction of rows of dL/dW (layer 2, one example at a time, rows with a non-zero gradient)
        whose entries all have one sign."""
        lin = model.layers[1].linear
        W = lin.weight if hasattr(lin, "weight") else lin.linear.weight
        fractions = []
        for i in range(len(y)):
            model.zero_grad()
            F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
            g = W.grad
            nz = g.abs().sum(1) > 0
            if nz.any():
                rows = g[nz]
                same = ((rows >= 0).all(1) | (rows <= 0).all(1)).float().mean().item()
                fractions.append(same)
        model.zero_grad()
        return float(np.mean(fractions)) if fractions else float("nan")

    @torch.no_grad()
    def _dead_fraction(self, model) -> float:
        raw = raw_model(model)
        was = raw.training
        raw.eval()
        _, acts = raw(self.data.xva, return_activations=True)
        raw.train(was)
        dead = torch.cat([(a == 0).all(dim=0) for a in acts]).float()
        return dead.mean().item()

    def extra_eval(self):
        out = {}
        for name, s in self.init_stats.items():
            out[f"eval/{name}/act_mean"] = float(np.mean(s["act_mean"]))
            out[f"eval/{name}/grad_ratio"] = s["grad_std"][0] / max(s["grad_std"][-1], 1e-30)
            out[f"eval/{name}/same_sign_rows"] = s["same_sign_rows"]
            if not self.diverged[name]:
                out[f"eval/{name}/dead_fraction"] = self._dead_fraction(self.models[name])
        return out

    def media(self):
        names = list(self.init_stats)
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
        x = np.arange(len(names))
        axes[0].bar(x, [np.mean(self.init_stats[n]["act_mean"]) for n in names])
        axes[0].set(title="mean activation at init (0 = zero-centred)")
        axes[1].bar(x, [self.init_stats[n]["grad_std"][0] / max(self.init_stats[n]["grad_std"][-1], 1e-30)
                        for n in names], log=True)
        axes[1].set(title="grad std, first / last hidden layer")
        axes[2].bar(x, [self._dead_fraction(self.models[n]) if not self.diverged[n] else np.nan for n in names])
        axes[2].set(title="dead units after training")
        for ax in axes:
            ax.set_xticks(x, names, rotation=45, fontsize=7, ha="right")
        fig.tight_layout()
        return {"activation_stats": fig, "loss": self.loss_figure("the same net, each activation"),
                "summary": self.table()}
