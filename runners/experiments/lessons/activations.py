"""Lesson 2, ``activations``: the same net (Xavier init for sigmoid, tanh, maxout; He for the ReLU
family) with each activation. At init, on the validation set (vision.nn.layer_stats): ``act_mean``
(zero-centred or not), ``grad_ratio`` (gradient std, first hidden layer over last: a sigmoid passes at
most 1/4 back a layer), ``same_sign_rows``. After training: ``dead_fraction``. ``relu_kicked`` takes
its first update at ``kick_lr`` (one too-large step), then ``lr``: the units it knocks out stay dead.
``data=mnist`` runs it on MNIST's 784-pixel rows (runners.templates.race)."""
from dataclasses import dataclass

import numpy as np

from gymlab.runners.config import OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.race import Race, RaceConfig, names, raw_model
from gymlab.vision.classify.mlp import ACTIVATIONS, MLP
from gymlab.vision.nn.curves import bars_figure
from gymlab.vision.nn.layer_stats import dead_fraction, layer_stats, same_sign_rows


@dataclass
class ActivationsConfig(RaceConfig):
    steps: int = 300
    eval_every: int = 100
    depth: int = 5  # hidden layers
    width: int = 128  # units per hidden layer
    activations: str = "sigmoid,tanh,relu,leaky_relu,elu,maxout"  # one net each (vision.classify.mlp)
    kick_lr: float = 3.0  # an extra ReLU net whose first update uses this (far too high) rate; 0 to skip
    optim: OptimConfig = group(OptimConfig, name="momentum", lr=0.01)


@register("activations", data="digits", select="eval/val_accuracy",
          description="the same net with each activation: dead ReLUs, sigmoid saturation, zero-centred or not")
class Activations(Race):
    Config = ActivationsConfig
    title = "the same net, each activation"

    def variants(self, cfg):
        v = {a: {"act": a} for a in names(cfg.activations, "activations", valid=ACTIVATIONS)}
        return {**v, "relu_kicked": {"act": "relu", "lr": cfg.kick_lr}} if cfg.kick_lr > 0 else v

    def build(self, cfg, name, spec):
        init = "xavier" if spec["act"] in ("sigmoid", "tanh", "maxout") else "he"
        return MLP(self.data.features, (cfg.width,) * cfg.depth, self.data.classes, activation=spec["act"], init=init)

    def probe(self, name, model):
        x, y = self.data.xva, self.data.yva
        s = layer_stats(model, x, y)
        return {**s, "act_mean": float(np.mean(s["act_mean"])), "same_sign_rows": same_sign_rows(model, x[:32], y[:32]),
                "grad_ratio": s["grad_std_first"] / max(s["grad_std_last"], 1e-30)}

    def after_step(self, name, model):
        if name == "relu_kicked" and self.step == 0:  # the kick is over: back to the normal rate
            for g in self.opts[name].param_groups:
                g["lr"] = self.cfg.optim.lr

    def extra_eval(self):
        return {f"eval/{n}/dead_fraction": dead_fraction(raw_model(m), self.data.xva)
                for n, m in self.models.items() if not self.diverged[n]}

    def media(self):
        dead, ns, ratio = self.extra_eval(), list(self.stats), "grad std, first / last hidden layer"
        values = {"mean activation at init (0 = zero-centred)": [self.stats[n]["act_mean"] for n in ns],
                  ratio: [self.stats[n]["grad_ratio"] for n in ns],
                  "dead units after training": [dead.get(f"eval/{n}/dead_fraction", np.nan) for n in ns]}
        return {"activation_stats": bars_figure(ns, values, log=(ratio,)), **super().media()}
