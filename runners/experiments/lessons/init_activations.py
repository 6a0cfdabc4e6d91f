"""Lesson 1, ``init-activations``: a 10-layer tanh net with each initialisation; activation and
gradient histograms per layer."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.vision.classify.mlp import INITS, MLP
from gymlab.runners.experiments.lessons.race import split_list, layer_stats, Race, raw_model


@dataclass
class InitConfig(RunConfig):
    steps: int = 150
    eval_every: int = 50
    depth: int = 10
    width: int = 256
    inits: str = "small,xavier,he,big"  # names of vision.mlp inits, plus 'big' (std = big_scale)
    big_scale: float = 1.0
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 64
    probe_size: int = 500  # training examples used for the per-layer statistics


@register("init-activations", data="digits", select="eval/val_accuracy",
          description="10-layer tanh net: small init collapses, big init saturates, Xavier/He stay healthy")
class InitActivations(Race):
    """The notes' experiment: a deep tanh net's activations and gradients layer by layer at
    initialisation, for each weight scale, and how well each then trains.

    What the numbers show (``eval/<init>/...``, measured at initialisation): ``small`` (0.01 randn)
    shrinks the activations by about 0.01 sqrt(width) per layer, so the last layer's std is ~1e-9 and
    the gradient reaching the first layer is as small (it never learns); ``big`` (randn) saturates
    most units (|h| > 0.99: ``saturated_last``), whose local gradient 1 - h^2 is ~0; the weight
    gradient then comes from the few unsaturated paths times large weights and is huge and noisy,
    and training stalls too; ``xavier`` (randn / sqrt(fan_in)) keeps a spread of ~0.2-0.6 in every
    layer; ``he`` (sqrt 2 larger, meant for ReLU) a little wider."""

    Config = InitConfig

    def build(self, cfg, ctx):
        self.inits = split_list(cfg.inits, "inits", valid=(*INITS, "big"))
        if cfg.depth < 2 or cfg.width < 1:
            raise GymlabError("bad value for 'depth' or 'width': depth must be at least 2 and width at least 1")
        self.init_stats = {}
        probe = slice(0, cfg.probe_size)
        for name in self.inits:
            torch.manual_seed(cfg.seed)
            net = MLP(64, (cfg.width,) * cfg.depth, 10, activation="tanh",
                      init=cfg.big_scale if name == "big" else name)
            net = ctx.prepare_model(net)
            self.init_stats[name] = layer_stats(raw_model(net), self.data.xtr[probe], self.data.ytr[probe])
            self.models[name] = net
            self.opts[name] = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)

    def extra_eval(self):
        out = {}
        for name, s in self.init_stats.items():
            out[f"eval/{name}/act_std_first"] = s["act_std"][0]
            out[f"eval/{name}/act_std_last"] = s["act_std"][-1]
            out[f"eval/{name}/saturated_last"] = s["saturated"][-1]
            out[f"eval/{name}/grad_std_first"] = s["grad_std"][0]
            out[f"eval/{name}/grad_std_last"] = s["grad_std"][-1]
            out[f"eval/{name}/wgrad_first"] = s["wgrad_norm"][0]
        return out

    def media(self):
        depth = len(next(iter(self.init_stats.values()))["samples"])
        fig, axes = plt.subplots(1, len(self.inits), figsize=(3 * len(self.inits), 3), squeeze=False)
        bins = np.linspace(-1, 1, 41)
        for ax, name in zip(axes[0], self.inits):
            # one histogram per layer, drawn as a row of a heat map (rows: layers, columns: value bins)
            hist = np.stack([np.histogram(np.clip(h, -1, 1), bins=bins)[0] / max(len(h), 1)
                             for h in self.init_stats[name]["samples"]])
            ax.imshow(hist, aspect="auto", cmap="magma", extent=(-1, 1, depth + 0.5, 0.5))
            ax.set(title=name, xlabel="activation value", ylabel="layer" if ax is axes[0, 0] else None)
        fig.suptitle("histograms of the tanh activations per layer at initialisation")
        fig.tight_layout()
        fig2, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
        layers = np.arange(1, depth + 1)
        for name in self.inits:
            s = self.init_stats[name]
            a1.plot(layers, np.maximum(s["act_std"], 1e-30), "o-", label=name)
            a2.plot(layers, np.maximum(s["grad_std"], 1e-30), "o-", label=name)
        a1.set(yscale="log", xlabel="layer", ylabel="std of activations", title="forward")
        a2.set(yscale="log", xlabel="layer", ylabel="std of dL/dh", title="backward")
        a1.legend(fontsize=7)
        return {"histograms": fig, "std_per_layer": fig2, "loss": self.loss_figure("training from each init"),
                "summary": self.table()}
