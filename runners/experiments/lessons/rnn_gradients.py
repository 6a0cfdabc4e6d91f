"""`rnn-gradients`: gradient flow through time in a vanilla RNN and an LSTM (vision.nn.rnn_gradients).
Setup measures ||dL/dh_0|| over ``grid_T`` x ``grid_radii`` (W_hh = r Q); ``eval/grad_log10_<cell>_r<r>``
is log10 of its growth from the shortest T to the longest. Then both cells learn to recall the first
input of a ``T``-step noisy sequence, clipped at ``clip`` (0: off; the pre-clip norm is logged): the
LSTM from its first steps, the vanilla RNN only if Adam leaves the vanishing regime first (seed-dependent)."""
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from gymlab.runners.config import OptimConfig, RunConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.registry import register
from gymlab.runners.sanity import SanityModel
from gymlab.vision.nn import optim
from gymlab.vision.nn import rnn_gradients as rg


@dataclass
class RNNGradientsConfig(RunConfig):
    steps: int = 300
    eval_every: int = 50
    hidden: int = field(default=32, metadata={"range": (1, None, "at least 1")})  # units of both cells
    radius: float = 0.9  # spectral radius of W_hh of the trained cells
    forget_bias: float = 5.0  # the LSTM's forget-gate bias (large: the gate is open)
    T: int = field(default=100, metadata={"range": (1, None, "at least 1")})  # length of the recall task's sequences
    batch_size: int = 64
    clip: float = field(default=1.0, metadata={"range": (0, None, "0 (off) or more")})  # max gradient norm; 0: off
    grid_T: list = field(default_factory=lambda: [1, 5, 10, 20, 50, 100])  # sequence lengths measured at setup
    grid_radii: list = field(default_factory=lambda: [0.5, 0.9, 1.0, 1.1, 1.5])  # spectral radii measured at setup
    optim: OptimConfig = group(OptimConfig, name="adam", lr=1e-2)


@register("rnn-gradients", data="synthetic recall", metric="eval/accuracy", mode="max",
          description="vanishing/exploding gradients: vanilla RNN vs LSTM over T and spectral radius; clipping")
class RNNGradients(Experiment):
    Config = RNNGradientsConfig
    counters = ("step", "history")

    def setup(self, cfg, ctx):
        if not cfg.grid_T or not cfg.grid_radii:
            raise GymlabError("bad value for 'grid_T' or 'grid_radii': the lists must not be empty")
        self.cfg, self.ctx = cfg, ctx
        self.Ts = sorted(int(t) for t in cfg.grid_T)
        self.grid = rg.gradient_grid(cfg.hidden, cfg.grid_radii, self.Ts, cfg.forget_bias, cfg.seed)
        torch.manual_seed(cfg.seed)
        self.rnn = ctx.prepare_model(rg.RecallNet(rg.vanilla_rnn(cfg.hidden, cfg.radius, seed=cfg.seed)))
        self.lstm = ctx.prepare_model(rg.RecallNet(rg.lstm(cfg.hidden, cfg.radius, cfg.forget_bias, seed=cfg.seed)))
        o = cfg.optim
        self.opt_rnn, self.opt_lstm = (optim.make_optimizer(n.parameters(), o.name, o.lr, o.weight_decay, o.momentum)
                                       for n in (self.rnn, self.lstm))
        x, y = rg.recall_batch(cfg.T, 512, torch.Generator().manual_seed(cfg.seed + 7_777_777))
        self.x_eval, self.y_eval = x.to(ctx.device), y.to(ctx.device)
        self.step, self.history = 0, {"vanilla RNN": [], "LSTM": []}  # (step, pre-clip gradient norm)

    def sanity_model(self):
        """The runner's sanity=true protocol (runners/sanity.py): the LSTM classifier, examples first."""
        x, y = rg.recall_batch(self.cfg.T, 512, torch.Generator().manual_seed(self.cfg.seed + 1))
        loss = lambda net, x, y: F.cross_entropy(net(x.transpose(0, 1)), y)  # noqa: E731
        return SanityModel(self.lstm, loss, x.transpose(0, 1).to(self.ctx.device), y.to(self.ctx.device), "softmax",
                           num_classes=2, optimizer=lambda params, lr: torch.optim.Adam(params, lr=lr))

    def train_step(self):
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step)
        x, y = (t.to(self.ctx.device) for t in rg.recall_batch(self.cfg.T, self.cfg.batch_size, g))
        out, self.step = {}, self.step + 1
        for k, h, net, opt in (("rnn", "vanilla RNN", self.rnn, self.opt_rnn), ("lstm", "LSTM", self.lstm, self.opt_lstm)):
            out[f"train/loss_{k}"], norm = rg.clipped_step(net, opt, x, y, self.cfg.clip, self.ctx.autocast)
            out[f"train/grad_norm_{k}"] = norm
            self.history[h].append((self.step, norm))
        return out

    def evaluate(self):
        (acc_lstm, loss_lstm), (acc_rnn, loss_rnn) = (rg.recall_eval(n, self.x_eval, self.y_eval) for n in (self.lstm, self.rnn))
        return {"eval/accuracy": acc_lstm, "eval/accuracy_rnn": acc_rnn, "eval/loss_lstm": loss_lstm,
                "eval/loss_rnn": loss_rnn, **{f"eval/grad_log10_{k}": v for k, v in rg.grid_growth(self.grid, self.Ts).items()}}

    def media(self):
        return {"grad_vs_T": rg.grid_figure(self.grid, self.Ts), "grad_table": rg.grid_table(self.grid),
                "training_grad_norms": rg.norms_figure(self.history, self.cfg.clip, f"recall over T={self.cfg.T} steps")}
