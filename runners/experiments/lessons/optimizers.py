"""Lesson 3, ``optimizers``: the notes' update rules (vision.nn.optim) on one two-layer ReLU net from
identical initial weights on identical minibatches, each at its own learning rate (momentum and
nesterov share ``lr_sgd``); ``schedule`` decays them all. Keys: ``eval/<rule>/lr``, the current rate.
``data=mnist`` runs it on MNIST's 784-pixel rows (runners.templates.race)."""
from dataclasses import dataclass

from gymlab.runners.config import OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.race import Race, RaceConfig, names
from gymlab.vision.classify.mlp import MLP
from gymlab.vision.nn.optim import OPTIMIZERS


@dataclass
class OptimizersConfig(RaceConfig):
    steps: int = 300
    eval_every: int = 100
    depth: int = 2  # hidden layers
    width: int = 100  # units per hidden layer
    optimizers: str = "sgd,momentum,nesterov,adagrad,rmsprop,adam"  # the rules that race
    lr_sgd: float = 0.01  # sgd, momentum and nesterov share it
    lr_adagrad: float = 0.01
    lr_rmsprop: float = 0.001
    lr_adam: float = 0.001
    optim: OptimConfig = group(OptimConfig, step_size=5)  # momentum, schedule and its step_size (epochs)


@register("optimizers", data="digits", select="eval/val_accuracy",
          description="SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam racing from the same weights and batches")
class Optimizers(Race):
    Config = OptimizersConfig
    title = "optimizers on the same net and minibatches"

    def variants(self, cfg):
        lr = {"adagrad": cfg.lr_adagrad, "rmsprop": cfg.lr_rmsprop, "adam": cfg.lr_adam}
        return {n: {"optimizer": n, "lr": lr.get(n, cfg.lr_sgd)} for n in names(cfg.optimizers, "optimizers", valid=OPTIMIZERS)}

    def build(self, cfg, name, spec):
        return MLP(self.data.features, (cfg.width,) * cfg.depth, self.data.classes, activation="relu", init="he")

    def extra_eval(self):
        return {f"eval/{n}/lr": o.param_groups[0]["lr"] for n, o in self.opts.items()}
