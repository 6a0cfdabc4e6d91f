"""`backprop`: a two-layer ReLU network on digits whose every gradient comes from the hand-written
graph engine of vision.nn.backprop (no autograd), trained by minibatch SGD. Media: the loss curve, the
first layer's weights, and the notes' worked examples as the engine computes them."""
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from gymlab.runners.config import RunConfig
from gymlab.runners.experiment import Experiment
from gymlab.runners.registry import register
from gymlab.runners.sanity import SanityModel
from gymlab.vision.data.flat_digits import digits
from gymlab.vision.nn import backprop


@dataclass
class BackpropConfig(RunConfig):
    steps: int = 600
    eval_every: int = 100
    hidden: int = field(default=64, metadata={"range": (1, None, "at least 1")})  # hidden units
    lr: float = 0.1  # SGD's learning rate (the engine's only update rule)
    reg: float = 1e-4  # L2 strength: loss + reg * (||W1||^2 + ||W2||^2)
    batch_size: int = 64
    data: Literal["digits"] = "digits"  # the engine runs on the 8x8 digits only


@register("backprop", data="digits", select="eval/val_accuracy",
          description="two-layer ReLU net trained with the hand-written backprop engine (vision.backprop)")
class Backprop(Experiment):
    Config = BackpropConfig
    counters = ("step", "losses")

    def setup(self, cfg, ctx):
        self.cfg, d = cfg, digits(cfg.seed)
        self.xtr, self.xva, self.xte = (x.double().numpy() for x in (d.xtr, d.xva, d.xte))
        self.ytr, self.yva, self.yte = (y.numpy() for y in (d.ytr, d.yva, d.yte))
        self.net = backprop.TwoLayerNet(64, cfg.hidden, 10, np.random.default_rng(cfg.seed))
        self.steps_per_epoch = -(-len(self.ytr) // cfg.batch_size)
        self.step, self.losses = 0, []

    def sanity_model(self):
        """The runner's sanity=true checks on the same network written in torch (the checks need autograd)."""
        params = {k: torch.tensor(v) for k, v in self.net.params.items()}
        return SanityModel(params, backprop.torch_loss, torch.tensor(self.xtr), torch.tensor(self.ytr), "softmax",
                           num_classes=10)

    def train_step(self):
        c = self.cfg
        self.losses += backprop.train(self.net, self.xtr, self.ytr, 1, c.lr, c.reg, c.batch_size, c.seed, start=self.step)
        self.step += 1
        return {"train/loss": self.losses[-1], "train/epoch": self.step / self.steps_per_epoch}

    def evaluate(self):
        return {"eval/accuracy": self.net.accuracy(self.xte, self.yte), "eval/val_accuracy": self.net.accuracy(self.xva, self.yva),
                "eval/train_accuracy": self.net.accuracy(self.xtr, self.ytr)}

    def media(self):
        loss, weights = backprop.training_figures(self.net, self.losses)
        return {"loss": loss, "weights": weights, "notes_examples": backprop.notes_examples()}

    def state_dict(self):  # the engine's parameters are NumPy arrays, not a module
        return {"params": {k: v.copy() for k, v in self.net.params.items()}, **super().state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.net.params = {k: np.array(v, dtype=np.float64) for k, v in state["params"].items()}
