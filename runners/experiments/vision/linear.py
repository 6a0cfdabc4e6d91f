"""`softmax` (and `svm`): a linear classifier on the embedded digits (or ``data=mnist`` and the other
datasets of the classifiers), trained by minibatch SGD on the analytic gradient of vision.linear, with
L2, L1 or elastic-net regularisation (``reg_type``)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import matplotlib.pyplot as plt
import torch

from gymlab.runners.config import RunConfig
from gymlab.vision.data.batching import batch_indices
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.classify import linear
from gymlab.vision.data.datasets import standardize


@dataclass
class LinearConfig(RunConfig):
    steps: int = 500
    eval_every: int = 50
    lr: float = 0.5
    reg: float = 1e-3
    reg_type: Literal[tuple(linear.REGULARIZERS)] = "l2"  # l2 | l1 | elastic (l1_ratio * |W| + (1 - l1_ratio) * W^2)
    l1_ratio: float = 0.5
    batch_size: int = 64
    data: str = "digits"  # digits | mnist | fashion-mnist | cifar10 (as the classifiers)
    data_root: Optional[str] = None  # cache folder for the standard files (default $GYMLAB_DATA)
    max_train: int = 0  # use only the first N training images (0: all)


class LinearExperiment(Experiment):
    loss_name = "softmax"
    Config = LinearConfig

    def setup(self, cfg: LinearConfig, ctx):
        from gymlab.runners.experiments.vision.classifiers import load_data

        self.cfg, self.device = cfg, ctx.device
        ds = load_data(cfg.data, cfg.seed, cfg.data_root)
        n = cfg.max_train or len(ds.train)
        self.image_shape = ds.shape
        xtr, xva, xte = standardize(ds.train.x[:n], ds.val.x, ds.test.x)
        raw = ds.train.x[:n].reshape(n, -1)  # standardize's statistics, kept for export()
        self.mean, self.std = raw.mean(0), torch.where(raw.std(0) > 1e-8, raw.std(0), torch.ones(raw.shape[1]))
        self.xtr, self.ytr = linear.add_bias(xtr).to(ctx.device), ds.train.y[:n].to(ctx.device)
        self.xva, self.yva = xva.to(ctx.device), ds.val.y.to(ctx.device)
        self.xte, self.yte = xte.to(ctx.device), ds.test.y.to(ctx.device)
        g = torch.Generator().manual_seed(cfg.seed)
        self.W = linear.init_weights(xtr.shape[1], ds.num_classes, g).to(ctx.device)
        self.loss_fn = linear.LOSSES[self.loss_name]
        self.steps_per_epoch = math.ceil(len(self.ytr) / cfg.batch_size)
        self.step = 0

    def _batch(self):
        """Minibatch `step` of the seeded shuffle (vision.batching): resumable for free."""
        idx = batch_indices(self.cfg.seed, self.step, len(self.ytr), self.cfg.batch_size).to(self.device)
        return self.xtr[idx], self.ytr[idx]

    def train_step(self):
        x, y = self._batch()
        loss, dW = self.loss_fn(self.W, x, y, self.cfg.reg, reg_type=self.cfg.reg_type, l1_ratio=self.cfg.l1_ratio)
        self.W -= self.cfg.lr * dW
        self.step += 1
        return {"train/loss": loss.item(), "train/epoch": self.step / self.steps_per_epoch}

    def evaluate(self):
        acc = lambda x, y: (linear.predict(self.W, x) == y).float().mean().item()  # noqa: E731
        return {"eval/accuracy": acc(self.xte, self.yte), "eval/val_accuracy": acc(self.xva, self.yva),
                "eval/train_accuracy": acc(self.xtr[:, :-1], self.ytr)}

    def media(self):
        """The learned weights of each class, drawn as image-sized templates (the notes' 'template matching')."""
        c_, h, w = self.image_shape
        fig, axes = plt.subplots(1, self.W.shape[1], figsize=(self.W.shape[1], 1.3))
        for c, ax in enumerate(axes):
            ax.imshow(self.W[:-1, c].reshape(c_, h, w)[0].cpu(), cmap="RdBu_r")
            ax.set_title(str(c))
            ax.axis("off")
        return {"templates": fig}

    def export(self):
        """What ``gymlab.load`` returns: an nn.Module from raw images to class scores (the training
        standardisation, then ``x W + b``), in eval mode."""
        from gymlab.loading import Preprocessed

        W = self.W.detach().cpu()
        head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(W.shape[0] - 1, W.shape[1]))
        with torch.no_grad():
            head[1].weight.copy_(W[:-1].T)
            head[1].bias.copy_(W[-1])
        shape = self.image_shape
        return Preprocessed(head, self.mean.reshape(shape), self.std.reshape(shape)).eval()

    def sanity_model(self):
        """What `sanity=true` checks (runners.sanity): the loss of W on the training split."""
        return self.W, lambda W, x, y: self.loss_fn(W, x, y)[0], self.xtr, self.ytr, self.loss_name

    def state_dict(self):
        return {"W": self.W.cpu().clone(), "step": self.step}

    def load_state_dict(self, state):
        self.W = state["W"].to(self.device)
        self.step = state["step"]


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
