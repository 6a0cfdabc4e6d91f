"""`softmax` (and `svm`): a linear classifier s = x W on the standardised digits (or ``data=mnist`` and
the other image sets), trained by minibatch SGD on the analytic gradient of vision.classify.linear
(W -= lr dW; no autograd, so no optimiser group), with L2, L1 or elastic-net regularisation
(``reg_type``). Keys: eval/accuracy (test), eval/val_accuracy, eval/train_accuracy; media: templates."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from gymlab.loading import Preprocessed
from gymlab.runners import media
from gymlab.runners.config import DataConfig, RunConfig, group
from gymlab.runners.experiment import Experiment
from gymlab.runners.registry import register
from gymlab.runners.templates.supervised import load_images
from gymlab.vision.classify import linear
from gymlab.vision.data.batching import batch_indices
from gymlab.vision.data.preprocess import fit_normalization


@dataclass
class LinearConfig(RunConfig):
    steps: int = 500
    eval_every: int = 50
    lr: float = 0.5  # the SGD step on the analytic gradient
    reg: float = 1e-3  # regularisation strength
    reg_type: Literal[tuple(linear.REGULARIZERS)] = "l2"  # l2 | l1 | elastic (l1_ratio * |W| + (1 - l1_ratio) * W^2)
    l1_ratio: float = 0.5  # elastic net: the L1 share
    batch_size: int = 64  # examples per minibatch
    data: DataConfig = group(DataConfig)


class LinearExperiment(Experiment):
    loss_name = "softmax"
    Config = LinearConfig
    counters = ("W", "step")

    def setup(self, cfg: LinearConfig, ctx):
        self.cfg, self.device = cfg, ctx.device
        ds = load_images(cfg.data, cfg.seed)
        n = cfg.data.max_train or len(ds.train)
        self.image_shape, self.norm = ds.shape, fit_normalization(ds.train.x[:n], "image")
        flat = lambda x: self.norm(x).flatten(1).to(ctx.device)  # noqa: E731
        self.xtr, self.ytr = linear.add_bias(flat(ds.train.x[:n])), ds.train.y[:n].to(ctx.device)
        self.xva, self.yva = flat(ds.val.x), ds.val.y.to(ctx.device)
        self.xte, self.yte = flat(ds.test.x), ds.test.y.to(ctx.device)
        g, self.loss_fn = torch.Generator().manual_seed(cfg.seed), linear.LOSSES[self.loss_name]
        self.W = linear.init_weights(self.xtr.shape[1] - 1, ds.num_classes, g).to(ctx.device)
        self.steps_per_epoch, self.step = math.ceil(len(self.ytr) / cfg.batch_size), 0

    def train_step(self):
        """One minibatch of the seeded shuffle (vision.data.batching: resumable for free), W -= lr dW."""
        c, idx = self.cfg, batch_indices(self.cfg.seed, self.step, len(self.ytr), self.cfg.batch_size).to(self.device)
        loss, dW = self.loss_fn(self.W, self.xtr[idx], self.ytr[idx], c.reg, reg_type=c.reg_type, l1_ratio=c.l1_ratio)
        self.W -= c.lr * dW
        self.step += 1
        return {"train/loss": loss.item(), "train/epoch": self.step / self.steps_per_epoch}

    def evaluate(self):
        acc = lambda x, y: (linear.predict(self.W, x) == y).float().mean().item()  # noqa: E731
        return {"eval/accuracy": acc(self.xte, self.yte), "eval/val_accuracy": acc(self.xva, self.yva),
                "eval/train_accuracy": acc(self.xtr[:, :-1], self.ytr)}

    def media(self):
        """Each class's weights as an image-sized template (the notes' 'template matching'), side by side,
        blue low, red high (``plots.class_templates`` draws the same with matplotlib, for a notebook)."""
        c, h, w = self.image_shape
        return {"templates": media.image_row([self.W[:-1, k].reshape(c, h, w)[0].cpu() for k in range(self.W.shape[1])],
                                             captions=[str(k) for k in range(self.W.shape[1])], cmap="RdBu_r")}

    def export(self):
        """What ``gymlab.load`` returns: raw images -> the training standardisation -> x W + b, in eval mode."""
        return Preprocessed(linear.as_module(self.W), self.norm.mean, self.norm.std).eval()

    def sanity_model(self):  # what `sanity=true` checks (runners.sanity): the loss of W on the training split
        return self.W, lambda W, x, y: self.loss_fn(W, x, y)[0], self.xtr, self.ytr, self.loss_name

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.W = self.W.to(self.device)


@register("softmax", data="digits", select="eval/val_accuracy", description="linear softmax classifier, analytic gradient, SGD")
class Softmax(LinearExperiment):
    loss_name = "softmax"


@dataclass
class SVMConfig(LinearConfig):
    lr: float = 0.1  # the hinge loss's gradient does not shrink as margins are met: a smaller step than softmax's


@register("svm", data="digits", select="eval/val_accuracy", description="linear multiclass SVM (hinge loss), analytic gradient, SGD")
class SVM(LinearExperiment):
    loss_name = "svm"
    Config = SVMConfig
