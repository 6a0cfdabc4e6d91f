"""`rnn-gradients`: gradient flow through time in a vanilla RNN and an LSTM (vision.rnn_gradients).

Setup measures ||dL/dh_0|| for every sequence length in ``grid_T`` and every spectral radius in
``grid_radii`` of the recurrent weights (W_hh = r Q): the vanilla RNN in its linear regime (h_t = 0,
where the norm is exactly r^T), the vanilla RNN driven by inputs (tanh factors < 1), and the LSTM with
its forget gate open (bias ``forget_bias``) and shut (bias 0). Training then shows what that means
for learning: both cells (vision.recurrent's RNN and LSTM, radius ``radius``) learn to recall the first
input of a ``T``-step noisy sequence, with gradient clipping at ``clip`` (0: off; the pre-clip norm is
logged). The LSTM learns it from its first steps; whether the vanilla RNN does depends on whether
training (Adam) finds its way out of the vanishing regime first, which varies with the seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.runners.sanity import SanityModel
from gymlab.vision.nn import rnn_gradients as rg

TINY = 1e-38  # a norm that underflowed to 0 in float32 is shown at this floor (log10 = -38)


@dataclass
class RNNGradientsConfig(RunConfig):
    steps: int = 300
    eval_every: int = 50
    hidden: int = 32
    radius: float = 0.9  # spectral radius of W_hh of the trained cells
    forget_bias: float = 5.0
    T: int = 100  # length of the recall task's sequences
    lr: float = 1e-2  # Adam
    batch_size: int = 64
    clip: float = 1.0  # max gradient norm; 0 disables clipping
    grid_T: list = field(default_factory=lambda: [1, 5, 10, 20, 50, 100])
    grid_radii: list = field(default_factory=lambda: [0.5, 0.9, 1.0, 1.1, 1.5])


def _norms(model, Ts, **kw):
    return [max(v, TINY) for v in rg.gradient_norms(model, Ts, **kw)]


@register("rnn-gradients", data="synthetic recall", metric="eval/accuracy", mode="max",
          description="vanishing/exploding gradients: vanilla RNN vs LSTM over T and spectral radius; clipping")
class RNNGradients(Experiment):
    Config = RNNGradientsConfig

    def setup(self, cfg: RNNGradientsConfig, ctx):
        if cfg.T < 1 or cfg.hidden < 1 or cfg.clip < 0 or not cfg.grid_T or not cfg.grid_radii:
            raise GymlabError("rnn-gradients needs T >= 1, hidden >= 1, clip >= 0 (0: off) and non-empty grid_T, "
                              f"grid_radii; got T={cfg.T}, hidden={cfg.hidden}, clip={cfg.clip}")
        self.cfg, self.device = cfg, ctx.device
        Ts = sorted(int(t) for t in cfg.grid_T)
        self.grid = []  # one row per (model, radius)
        for r in cfg.grid_radii:
            r = float(r)
            cells = [("rnn (linear regime)", rg.vanilla_rnn(cfg.hidden, r, seed=cfg.seed), {}),
                     ("rnn (tanh, inputs)", rg.vanilla_rnn(cfg.hidden, r, seed=cfg.seed), {"input_scale": 1.0}),
                     (f"lstm (forget bias {cfg.forget_bias:g})", rg.lstm(cfg.hidden, r, cfg.forget_bias, seed=cfg.seed),
                      {"input_scale": 1.0}),
                     ("lstm (forget bias 0)", rg.lstm(cfg.hidden, r, 0.0, seed=cfg.seed), {"input_scale": 1.0})]
            for name, model, kw in cells:
                norms = _norms(model, Ts, seed=cfg.seed, **kw)
                self.grid.append({"model": name, "radius": r, **{f"T={t}": n for t, n in zip(Ts, norms)}})
        self.Ts = Ts

        torch.manual_seed(cfg.seed)
        self.nets = {"rnn": ctx.prepare_model(rg.RecallNet(rg.vanilla_rnn(cfg.hidden, cfg.radius, seed=cfg.seed))),
                     "lstm": ctx.prepare_model(rg.RecallNet(rg.lstm(cfg.hidden, cfg.radius, cfg.forget_bias,
                                                                    seed=cfg.seed)))}
        self.opts = {k: torch.optim.Adam(n.parameters(), lr=cfg.lr) for k, n in self.nets.items()}
        x, y = rg.recall_batch(cfg.T, 512, torch.Generator().manual_seed(cfg.seed + 7_777_777))
        self.x_eval, self.y_eval = x.to(ctx.device), y.to(ctx.device)
        self.autocast = ctx.autocast
        self.step = 0
        self.history = []  # (step, pre-clip grad norm rnn, lstm)

    def sanity_model(self):
        """The runner's sanity=true protocol (runners/sanity.py): the LSTM classifier, examples first."""
        x, y = rg.recall_batch(self.cfg.T, 512, torch.Generator().manual_seed(self.cfg.seed + 1))
        loss = lambda net, x, y: F.cross_entropy(net(x.transpose(0, 1)), y)  # noqa: E731
        return SanityModel(self.nets["lstm"], loss, x.transpose(0, 1).to(self.device), y.to(self.device), "softmax",
                           num_classes=2, optimizer=lambda params, lr: torch.optim.Adam(params, lr=lr))

    def train_step(self):
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step)
        x, y = rg.recall_batch(self.cfg.T, self.cfg.batch_size, g)
        x, y = x.to(self.device), y.to(self.device)
        out, norms = {}, []
        for k, net in self.nets.items():
            opt = self.opts[k]
            with self.autocast():
                loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            params = [p for p in net.parameters() if p.grad is not None]
            if self.cfg.clip > 0:
                before, _ = rg.clipped(params, self.cfg.clip)
            else:
                before = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])).item()
            opt.step()
            out[f"train/loss_{k}"] = loss.item()
            out[f"train/grad_norm_{k}"] = before
            norms.append(before)
        self.step += 1
        self.history.append((self.step, *norms))
        return out

    @torch.no_grad()
    def _eval(self, net):
        logits = net(self.x_eval).float()
        return (logits.argmax(1) == self.y_eval).float().mean().item(), F.cross_entropy(logits, self.y_eval).item()

    def evaluate(self):
        acc_lstm, loss_lstm = self._eval(self.nets["lstm"])
        acc_rnn, loss_rnn = self._eval(self.nets["rnn"])
        out = {"eval/accuracy": acc_lstm, "eval/accuracy_rnn": acc_rnn, "eval/loss_lstm": loss_lstm,
               "eval/loss_rnn": loss_rnn}
        t0, t1 = f"T={self.Ts[0]}", f"T={self.Ts[-1]}"
        for row in self.grid:  # log10 of how much ||dL/dh_0|| grew from the shortest to the longest T
            key = row["model"].split(" (")[0] + ("_linear" if "linear" in row["model"] else "")
            key += "_closed" if "bias 0)" in row["model"] else ""
            out[f"eval/grad_log10_{key}_r{row['radius']:g}"] = math.log10(row[t1] / row[t0])
        return out

    def media(self):
        names = list(dict.fromkeys(r["model"] for r in self.grid))
        fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), sharey=True)
        for ax, name in zip(axes, names):
            for row in (r for r in self.grid if r["model"] == name):
                ax.semilogy(self.Ts, [row[f"T={t}"] for t in self.Ts], "o-", label=f"r={row['radius']:g}")
            ax.set_title(name)
            ax.set_xlabel("T (steps back to h_0)")
        axes[0].set_ylabel("||dL/dh_0||")
        axes[-1].legend(fontsize=8)
        fig.tight_layout()
        curves, ax = plt.subplots(figsize=(6, 3.4))
        if self.history:
            s, rnn, lstm = zip(*self.history)
            ax.semilogy(s, rnn, label="vanilla RNN")
            ax.semilogy(s, lstm, label="LSTM")
        if self.cfg.clip > 0:
            ax.axhline(self.cfg.clip, color="k", ls="--", lw=1, label=f"clip at {self.cfg.clip:g}")
        ax.set_xlabel("step")
        ax.set_ylabel("gradient norm before clipping")
        ax.set_title(f"recall over T={self.cfg.T} steps")
        ax.legend(fontsize=8)
        curves.tight_layout()
        table = [{k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in row.items()} for row in self.grid]
        return {"grad_vs_T": fig, "training_grad_norms": curves, "grad_table": table}

    def state_dict(self):
        return {"nets": {k: n.state_dict() for k, n in self.nets.items()},
                "opts": {k: o.state_dict() for k, o in self.opts.items()},
                "step": self.step, "history": list(self.history)}

    def load_state_dict(self, state):
        for k in self.nets:
            self.nets[k].load_state_dict(state["nets"][k])
            self.opts[k].load_state_dict(state["opts"][k])
        self.step, self.history = state["step"], [tuple(h) for h in state["history"]]
