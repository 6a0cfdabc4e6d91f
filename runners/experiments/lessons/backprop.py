"""`backprop`: a two-layer ReLU network on digits whose every gradient comes from the hand-written
computational-graph engine of vision.backprop (no autograd), trained by minibatch SGD.

Media: the loss curve, the notes' worked examples as computed by the engine (f = (x + y) z, the
sigmoid neuron both as one gate and as primitive gates, ||W x||^2), and the first layer's weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.nn import backprop
from gymlab.vision.data.datasets import load_digits_split, standardize


@dataclass
class BackpropConfig(RunConfig):
    steps: int = 600
    eval_every: int = 100
    hidden: int = 64
    lr: float = 0.1
    reg: float = 1e-4
    batch_size: int = 64
    data: str = "digits"


@register("backprop", data="digits", select="eval/val_accuracy",
          description="two-layer ReLU net trained with the hand-written backprop engine (vision.backprop)")
class Backprop(Experiment):
    Config = BackpropConfig

    def setup(self, cfg: BackpropConfig, ctx):
        if cfg.data != "digits":
            raise GymlabError(f"bad value for 'data': {cfg.data!r}; valid: digits")
        if cfg.hidden < 1 or cfg.batch_size < 1:
            raise GymlabError("bad value for 'hidden' or 'batch_size': both must be at least 1")
        self.cfg = cfg
        ds = load_digits_split(cfg.seed)
        xtr, xva, xte = standardize(ds.train.x, ds.val.x, ds.test.x)
        self.xtr, self.ytr = xtr.double().numpy(), ds.train.y.numpy()
        self.xva, self.yva = xva.double().numpy(), ds.val.y.numpy()
        self.xte, self.yte = xte.double().numpy(), ds.test.y.numpy()
        self.net = backprop.TwoLayerNet(self.xtr.shape[1], cfg.hidden, ds.num_classes,
                                        np.random.default_rng(cfg.seed))
        self.steps_per_epoch = math.ceil(len(self.ytr) / cfg.batch_size)
        self.step = 0
        self.losses: list[float] = []

    def _batch(self):
        """Minibatch `step` of a permutation fixed by (seed, epoch): a resumed run sees the same data."""
        epoch, i = divmod(self.step, self.steps_per_epoch)
        perm = np.random.default_rng(self.cfg.seed * 100_003 + epoch).permutation(len(self.ytr))
        idx = perm[i * self.cfg.batch_size:(i + 1) * self.cfg.batch_size]
        return self.xtr[idx], self.ytr[idx]

    def sanity_model(self):
        """The runner's sanity=true checks on the same network written in torch (the checks need autograd)."""
        import torch
        import torch.nn.functional as F

        from gymlab.runners.sanity import SanityModel

        params = {k: torch.tensor(v) for k, v in self.net.params.items()}

        def loss(p, x, y):
            return F.cross_entropy(torch.relu(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"], y)

        return SanityModel(params, loss, torch.tensor(self.xtr), torch.tensor(self.ytr), "softmax", num_classes=10)

    def train_step(self):
        x, y = self._batch()
        loss = self.net.sgd_step(x, y, self.cfg.lr, self.cfg.reg)
        self.step += 1
        self.losses.append(loss)
        return {"train/loss": loss, "train/epoch": self.step / self.steps_per_epoch}

    def evaluate(self):
        acc = lambda x, y: float((self.net.predict(x) == y).mean())  # noqa: E731
        return {"eval/accuracy": acc(self.xte, self.yte), "eval/val_accuracy": acc(self.xva, self.yva),
                "eval/train_accuracy": acc(self.xtr, self.ytr)}

    def media(self):
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot(self.losses, lw=0.8)
        ax.set(xlabel="step", ylabel="loss", title="two-layer net, gradients by the graph engine")
        W1 = self.net.params["W1"]
        fig2, axes = plt.subplots(2, 8, figsize=(8, 2.2))
        for k, a in enumerate(axes.flat):
            a.imshow(W1[:, k].reshape(8, 8), cmap="RdBu_r")
            a.axis("off")
        fig2.suptitle("first-layer weights (16 hidden units)")
        e1 = backprop.example_add_mul()
        e2 = backprop.example_sigmoid_neuron()
        e3 = backprop.example_sigmoid_neuron(by_parts=True)
        W = np.array([[0.1, 0.5], [-0.3, 0.8]])
        x = np.array([0.2, 0.4])
        e4 = backprop.example_norm_wx(W, x)
        rows = [
            {"example": "f=(x+y)z at (-2,5,-4)", "f": e1["f"], "gradients": f"dx={e1['dx']:g} dy={e1['dy']:g} dz={e1['dz']:g}"},
            {"example": "sigmoid gate (1-s)s", "f": e2["f"], "gradients": f"dw={np.round(e2['dw'], 3).tolist()} dx={np.round(e2['dx'], 3).tolist()}"},
            {"example": "sigmoid by primitive gates", "f": e3["f"], "gradients": f"dw={np.round(e3['dw'], 3).tolist()} dx={np.round(e3['dx'], 3).tolist()}"},
            {"example": "||Wx||^2, grad_W = 2 q x^T", "f": e4["f"], "gradients": f"dW={np.round(e4['dW'], 3).tolist()}"},
        ]
        return {"loss": fig, "weights": fig2, "notes_examples": rows}

    def state_dict(self):
        return {"params": {k: v.copy() for k, v in self.net.params.items()}, "step": self.step,
                "losses": list(self.losses)}

    def load_state_dict(self, state):
        self.net.params = {k: np.array(v, dtype=np.float64) for k, v in state["params"].items()}
        self.step = state["step"]
        self.losses = list(state["losses"])
