"""Lesson 6, ``hparam-search``: coarse-to-fine random search over learning rate and regularisation."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Optional

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.classify.mlp import MLP
from gymlab.runners.experiments.lessons.race import Digits, digits, weight_params, accuracy


@dataclass
class HparamConfig(RunConfig):
    steps: int = 30  # one trial per step; the run is done after n_coarse + n_fine trials
    eval_every: int = 10
    n_coarse: int = 20
    n_fine: int = 10
    coarse_epochs: float = 1.0
    fine_epochs: float = 8.0
    lr_min: float = 1e-5
    lr_max: float = 10.0
    reg_min: float = 1e-6
    reg_max: float = 1.0
    top_k: int = 4  # the fine stage searches the log-range spanned by the best top_k coarse trials
    margin: float = 2.0  # ... widened by this factor on each side
    width: int = 100
    batch_size: int = 64


def train_trial(lr: float, reg: float, epochs: float, seed: int = 0, data: Optional[Digits] = None,
                width: int = 100, batch_size: int = 64, device="cpu") -> dict:
    """Train the notes' two-layer net (ReLU, He init, SGD with momentum 0.9, loss + reg * sum W^2)
    on digits for ``epochs`` and return its validation/test/train accuracy and final loss.

    A trial whose loss becomes non-finite stops at once and reports ``diverged`` with chance-level
    accuracy. Usable on its own (a Ray Tune trainable calls it with sampled lr and reg)."""
    data = data if data is not None else digits(seed, device)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = MLP(64, (width,), 10, activation="relu", init="he").to(data.xtr.device)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    n = len(data.ytr)
    steps = max(1, round(epochs * math.ceil(n / batch_size)))
    perm, pos, loss = torch.randperm(n, generator=g), 0, torch.tensor(float("nan"))
    for _ in range(steps):
        if pos >= n:
            perm, pos = torch.randperm(n, generator=g), 0
        idx = perm[pos:pos + batch_size].to(data.xtr.device)
        pos += batch_size
        loss = F.cross_entropy(net(data.xtr[idx]), data.ytr[idx]) + reg * sum((w * w).sum() for w in weight_params(net))
        if not torch.isfinite(loss) or loss.item() > 1e6:
            return {"lr": lr, "reg": reg, "epochs": epochs, "val_accuracy": 0.1, "accuracy": 0.1,
                    "train_accuracy": 0.1, "loss": float("inf"), "diverged": True}
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"lr": lr, "reg": reg, "epochs": epochs, "val_accuracy": accuracy(net, data.xva, data.yva),
            "accuracy": accuracy(net, data.xte, data.yte), "train_accuracy": accuracy(net, data.xtr, data.ytr),
            "loss": loss.item(), "diverged": False}


@register("hparam-search", data="digits", select="eval/val_accuracy",
          description="coarse-to-fine random search over learning rate and L2 strength (one trial per step)")
class HparamSearch(Experiment):
    """The notes' recipe: sample lr and reg log-uniformly over a wide range with short trials (a few
    epochs), then narrow the range to where the best trials were and run longer ones there.

    The fine range is the log-span of the top_k coarse trials, widened by ``margin`` on each side and
    kept inside the coarse range. Trial i draws from a generator seeded by (seed, i): resumable."""

    Config = HparamConfig

    def setup(self, cfg, ctx):
        if cfg.n_coarse < 1 or cfg.n_fine < 0 or cfg.top_k < 1:
            raise GymlabError("bad value for 'n_coarse', 'n_fine' or 'top_k': need n_coarse >= 1, n_fine >= 0, top_k >= 1")
        if not (0 < cfg.lr_min < cfg.lr_max and 0 < cfg.reg_min < cfg.reg_max):
            raise GymlabError("bad value for the ranges: need 0 < lr_min < lr_max and 0 < reg_min < reg_max")
        self.cfg, self.ctx = cfg, ctx
        self.data = digits(cfg.seed, ctx.device)
        self.trials: list[dict] = []
        self.fine_range: Optional[dict] = None
        self.done = False

    def sanity_model(self):
        """The runner's sanity=true checks on the trials' network (its lr probe: the decade to search around)."""
        from gymlab.runners.sanity import SanityModel

        torch.manual_seed(self.cfg.seed)
        net = MLP(64, (self.cfg.width,), 10, activation="relu", init="he").to(self.data.xtr.device)
        return SanityModel(net, lambda m, x, y: F.cross_entropy(m(x), y), self.data.xtr, self.data.ytr, "softmax",
                           num_classes=10, optimizer=lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9))

    def _range(self, stage: str) -> dict:
        c = self.cfg
        if stage == "coarse":
            return {"lr": (c.lr_min, c.lr_max), "reg": (c.reg_min, c.reg_max)}
        if self.fine_range is None:
            best = sorted((t for t in self.trials if t["stage"] == "coarse"), key=lambda t: -t["val_accuracy"])[:c.top_k]
            rng = {}
            for key, (lo, hi) in (("lr", (c.lr_min, c.lr_max)), ("reg", (c.reg_min, c.reg_max))):
                vals = [t[key] for t in best]
                rng[key] = (max(lo, min(vals) / c.margin), min(hi, max(vals) * c.margin))
            self.fine_range = rng
        return self.fine_range

    def train_step(self):
        c = self.cfg
        i = len(self.trials)
        stage = "coarse" if i < c.n_coarse else "fine"
        rng = np.random.default_rng([c.seed, i])
        r = self._range(stage)
        lr = float(10 ** rng.uniform(*np.log10(r["lr"])))
        reg = float(10 ** rng.uniform(*np.log10(r["reg"])))
        epochs = c.coarse_epochs if stage == "coarse" else c.fine_epochs
        t = train_trial(lr, reg, epochs, seed=c.seed * 1000 + i, data=self.data, width=c.width,
                        batch_size=c.batch_size)
        t["stage"], t["trial"] = stage, i
        self.trials.append(t)
        if len(self.trials) >= c.n_coarse + c.n_fine:
            self.done = True
        return {"train/trial_val_accuracy": t["val_accuracy"], "train/trial_lr": lr, "train/trial_reg": reg,
                "train/trial_diverged": float(t["diverged"])}

    def evaluate(self):
        if not self.trials:
            return {}
        best = max(self.trials, key=lambda t: t["val_accuracy"])
        out = {"eval/accuracy": best["accuracy"], "eval/val_accuracy": best["val_accuracy"],
               "eval/best_lr": best["lr"], "eval/best_reg": best["reg"], "eval/trials": len(self.trials)}
        for stage in ("coarse", "fine"):
            vals = [t["val_accuracy"] for t in self.trials if t["stage"] == stage]
            if vals:
                out[f"eval/{stage}_best"] = max(vals)
                out[f"eval/{stage}_median"] = float(np.median(vals))
        if self.fine_range is not None:
            out.update({"eval/fine_lr_min": self.fine_range["lr"][0], "eval/fine_lr_max": self.fine_range["lr"][1],
                        "eval/fine_reg_min": self.fine_range["reg"][0], "eval/fine_reg_max": self.fine_range["reg"][1]})
        return out

    def media(self):
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for stage, marker in (("coarse", "o"), ("fine", "^")):
            ts = [t for t in self.trials if t["stage"] == stage]
            if ts:
                sc = ax.scatter([t["lr"] for t in ts], [t["reg"] for t in ts], c=[t["val_accuracy"] for t in ts],
                                marker=marker, vmin=0, vmax=1, cmap="viridis", label=stage, edgecolors="k")
        if self.trials:
            fig.colorbar(sc, ax=ax, label="validation accuracy")
        if self.fine_range is not None:
            (l0, l1), (r0, r1) = self.fine_range["lr"], self.fine_range["reg"]
            ax.add_patch(plt.Rectangle((l0, r0), l1 - l0, r1 - r0, fill=False, ls="--", color="r"))
        ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="L2 strength",
               title="coarse-to-fine random search")
        ax.legend(fontsize=7)
        rows = [{k: t[k] for k in ("trial", "stage", "lr", "reg", "epochs", "val_accuracy", "diverged")}
                for t in sorted(self.trials, key=lambda t: -t["val_accuracy"])]
        return {"search": fig, "trials": rows}

    def state_dict(self):
        return {"trials": copy.deepcopy(self.trials), "fine_range": self.fine_range, "done": self.done}

    def load_state_dict(self, state):
        self.trials = copy.deepcopy(state["trials"])
        self.fine_range = state["fine_range"]
        self.done = state["done"]
