"""Lesson 1, ``init-activations``: a deep tanh net's activations and gradients layer by layer at init
for each weight scale, and how each then trains. ``small`` (0.01 randn) shrinks both by about 0.01
sqrt(width) a layer: it never learns; ``big`` (std ``big_scale``) saturates most units (|h| > 0.99,
local gradient 1 - h^2 ~ 0): it stalls too; ``xavier`` keeps a healthy spread, ``he`` a wider one.
Keys, at init: ``eval/<init>/<stat>_{first,last}`` of vision.nn.layer_stats (act_std, saturated, ...).
``data=mnist`` runs it on MNIST's 784-pixel rows (runners.templates.race)."""
from dataclasses import dataclass, field

from gymlab.runners.registry import register
from gymlab.runners.templates.race import Race, RaceConfig, names
from gymlab.vision.classify.mlp import INITS, MLP
from gymlab.vision.nn.layer_stats import histograms_figure, layer_stats, per_layer_figure

@dataclass
class InitConfig(RaceConfig):
    steps: int = 150
    eval_every: int = 50
    depth: int = field(default=10, metadata={"range": (2, None, "at least 2")})  # hidden layers
    width: int = field(default=256, metadata={"range": (1, None, "at least 1")})  # units per hidden layer
    inits: str = "small,xavier,he,big"  # vision.classify.mlp's inits, plus big (std = big_scale)
    big_scale: float = 1.0  # the std of the big init
    probe_size: int = 500  # training examples for the per-layer statistics


@register("init-activations", data="digits", select="eval/val_accuracy",
          description="10-layer tanh net: small init collapses, big init saturates, Xavier/He stay healthy")
class InitActivations(Race):
    Config = InitConfig
    title = "training from each init"

    def variants(self, cfg):
        return {n: cfg.big_scale if n == "big" else n for n in names(cfg.inits, "inits", valid=(*INITS, "big"))}

    def build(self, cfg, name, init):
        return MLP(self.data.features, (cfg.width,) * cfg.depth, self.data.classes, activation="tanh", init=init)

    def probe(self, name, model):
        return layer_stats(model, self.data.xtr[:self.cfg.probe_size], self.data.ytr[:self.cfg.probe_size])

    def media(self):
        return {"histograms": histograms_figure(self.stats, "histograms of the tanh activations per layer at init"),
                "std_per_layer": per_layer_figure(self.stats, ("act_std", "grad_std")), **super().media()}
