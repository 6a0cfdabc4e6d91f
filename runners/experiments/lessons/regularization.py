"""Lesson 4, ``regularization``: L2, dropout, max-norm, DropConnect and random crops against the
train/validation gap."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.vision.classify.mlp import MLP
from gymlab.vision.nn.regularizers import DropConnectLinear, apply_max_norm_
from gymlab.runners.experiments.lessons.race import split_list, weight_params, accuracy, data_loss, Race


@dataclass
class RegularizationConfig(RunConfig):
    steps: int = 300
    eval_every: int = 100
    train_size: int = 300  # a small training set ...
    label_noise: float = 0.3  # ... with this fraction of wrong labels, which only an overfitting net learns
    depth: int = 2
    width: int = 256
    l2: str = "0,0.003,0.01,0.03,0.1"  # strengths of reg * sum(W^2) added to the loss; 0 is the baseline
    dropout: str = "0.5"  # dropout rates (0 or empty entries skipped)
    max_norm: float = 0.5  # a max-norm variant with this bound; 0 to skip
    dropconnect: float = 0.5  # a DropConnect variant with this drop rate; 0 to skip
    crop: int = 1  # a data-augmentation variant: random crops shifted up to this many pixels; 0 to skip
    lr: float = 0.02
    momentum: float = 0.9
    batch_size: int = 32


def _dropconnect_mlp(net: MLP, p: float) -> MLP:
    """Swap every hidden Linear of an MLP for a DropConnectLinear with the same weights."""
    for layer in net.layers:
        lin = layer.linear
        if not isinstance(lin, nn.Linear):
            raise GymlabError("DropConnect variant needs a non-maxout MLP")
        dc = DropConnectLinear(lin.in_features, lin.out_features, p=p)
        with torch.no_grad():
            dc.weight.copy_(lin.weight)
            dc.bias.copy_(lin.bias)
        layer.linear = dc
    return net


@register("regularization", data="digits", select="eval/val_accuracy",
          description="L2, dropout, max-norm, DropConnect, random crops against the train/validation gap (small, noisy train set)")
class Regularization(Race):
    """One two-layer ReLU net per regulariser (L2 strengths, dropout, max-norm, DropConnect, random
    crops; vision.regularizers), from the same initial weights, on a small training set
    with some wrong labels (``label_noise``): an unregularised net memorises them (training accuracy 1,
    a big gap); a regularised one cannot, and generalises better. Digits is too easy to overfit
    visibly without the noise (try ``label_noise=0``: every gap is small).

    ``eval/<variant>/gap`` = train accuracy - validation accuracy, ``eval/<variant>/loss_gap`` =
    validation - training cross-entropy (data loss only; the finer signal on a data set as easy as
    digits, where accuracies saturate). The notes' reading: a big gap is overfitting (increase
    regularisation); low training accuracy is underfitting (increase capacity, or regularise less).
    The ``verdicts`` table applies it.
    """

    Config = RegularizationConfig

    def build(self, cfg, ctx):
        l2s = split_list(cfg.l2, "l2", cast=float)
        drops = [p for p in split_list(cfg.dropout, "dropout", cast=float) if p > 0] if str(cfg.dropout).strip() else []
        if any(not 0 <= p < 1 for p in drops) or not 0 <= cfg.dropconnect < 1:
            raise GymlabError("bad value for 'dropout' or 'dropconnect': rates must be in [0, 1)")
        if cfg.crop < 0:
            raise GymlabError(f"bad value for 'crop': {cfg.crop}; it must be 0 (off) or a number of pixels")
        # variant name -> its regulariser settings (everything else equal)
        self.reg: dict[str, dict] = {}
        for r in l2s:
            self.reg["none" if r == 0 else f"l2={r:g}"] = {"l2": r}
        for p in drops:
            self.reg[f"dropout={p:g}"] = {"dropout": p}
        if cfg.max_norm > 0:
            self.reg[f"max_norm={cfg.max_norm:g}"] = {"max_norm": cfg.max_norm}
        if cfg.dropconnect > 0:
            self.reg[f"dropconnect={cfg.dropconnect:g}"] = {"dropconnect": cfg.dropconnect}
        if cfg.crop > 0:
            self.reg[f"crop={cfg.crop}"] = {"crop": cfg.crop}
        for name, r in self.reg.items():
            torch.manual_seed(cfg.seed)
            net = MLP(64, (cfg.width,) * cfg.depth, 10, activation="relu", init="he", dropout=r.get("dropout", 0.0))
            if r.get("dropconnect"):
                net = _dropconnect_mlp(net, r["dropconnect"])
            if r.get("max_norm"):
                apply_max_norm_(net, r["max_norm"])
            net = ctx.prepare_model(net)
            self.models[name] = net
            self.opts[name] = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)

    def loss(self, name, model, x, y):
        r = self.reg[name]
        if r.get("crop"):
            x = self.data.augment(x, r["crop"])
        loss = F.cross_entropy(model(x), y)
        if r.get("l2"):
            loss = loss + r["l2"] * sum((w * w).sum() for w in weight_params(model))
        return loss

    def after_step(self, name, model):
        if self.reg[name].get("max_norm"):
            apply_max_norm_(model, self.reg[name]["max_norm"])

    def extra_eval(self):
        out = {}
        d = self.data
        for name, model in self.models.items():
            if not self.diverged[name]:
                out[f"eval/{name}/gap"] = accuracy(model, d.xtr, d.ytr) - accuracy(model, d.xva, d.yva)
                out[f"eval/{name}/loss_gap"] = data_loss(model, d.xva, d.yva) - data_loss(model, d.xtr, d.ytr)
        return out

    @staticmethod
    def verdict(train_acc: float, gap: float, label_noise: float = 0.0) -> str:
        """The notes' reading of the two accuracies (with noisy labels, a model that ignores the
        noise can reach only 1 - label_noise on the training set)."""
        if gap > 0.05:
            return "big gap: overfitting, increase regularisation"
        if train_acc < 0.9 * (1 - label_noise):
            return "low training accuracy, no gap: underfitting, increase capacity (or regularise less)"
        return "small gap: about right"

    def media(self):
        rows = self.table()
        for r in rows:
            if "gap" in r:
                r["verdict"] = self.verdict(r["train_accuracy"], r["gap"], self.cfg.label_noise)
        fig, ax = plt.subplots(figsize=(7, 3.2))
        names = [r["variant"] for r in rows if "gap" in r]
        x = np.arange(len(names))
        ax.bar(x - 0.2, [r["train_accuracy"] for r in rows if "gap" in r], 0.4, label="train")
        ax.bar(x + 0.2, [r["val_accuracy"] for r in rows if "gap" in r], 0.4, label="validation")
        ax.set_xticks(x, names, rotation=30, fontsize=7, ha="right")
        ax.set(ylim=(0, 1.01), ylabel="accuracy",
               title=f"train/validation gap ({len(self.data.ytr)} training images, {self.cfg.label_noise:.0%} wrong labels)")
        ax.legend(fontsize=7)
        return {"gap": fig, "loss": self.loss_figure("regularisers"), "verdicts": rows}
