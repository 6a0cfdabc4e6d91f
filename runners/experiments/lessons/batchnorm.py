"""Lesson 5, ``batchnorm``: a deep MLP with and without batch norm (normalise each unit over the batch,
then gamma, beta) from each init: BN makes training less dependent on the initial scale. Keys, at init:
``eval/<variant>/<stat>_{first,last}`` of vision.nn.layer_stats (act_std_last: the last layer's spread).
``data=mnist`` runs it on MNIST's 784-pixel rows (runners.templates.race)."""
from dataclasses import dataclass
from typing import Literal

from gymlab.runners.registry import register
from gymlab.runners.templates.race import Race, RaceConfig, names
from gymlab.vision.classify.mlp import ACTIVATIONS, INITS, MLP
from gymlab.vision.nn.layer_stats import layer_stats, per_layer_figure


@dataclass
class BatchNormConfig(RaceConfig):
    steps: int = 200
    eval_every: int = 50
    depth: int = 8  # hidden layers
    width: int = 128  # units per hidden layer
    activation: Literal[ACTIVATIONS] = "tanh"  # of every hidden layer
    inits: str = "xavier,small"  # each init with and without batch norm


@register("batchnorm", data="digits", select="eval/val_accuracy",
          description="the same deep net with and without batch normalisation, from a good and a bad init")
class BatchNorm(Race):
    Config = BatchNormConfig
    title = "with and without batch norm"

    def variants(self, cfg):
        return {f"{i}{'+bn' if bn else ''}": (i, bn) for i in names(cfg.inits, "inits", valid=INITS) for bn in (False, True)}

    def build(self, cfg, name, spec):
        return MLP(self.data.features, (cfg.width,) * cfg.depth, self.data.classes, activation=cfg.activation,
                   init=spec[0], batchnorm=spec[1])

    def probe(self, name, model):
        return layer_stats(model, self.data.xtr[:500], self.data.ytr[:500])

    def media(self):
        return {"act_std": per_layer_figure(self.stats), **super().media()}
