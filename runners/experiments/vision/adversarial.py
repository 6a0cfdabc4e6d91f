"""`fgsm`: fast gradient sign adversarial examples against a digits classifier, accuracy against
epsilon, and adversarial training (vision.adversarial). Two copies of one backbone train side by
side from the same initialisation: one on clean digits, one on the clean + FGSM mix.
``data=mnist`` (or another dataset of the classifiers) sizes the backbone for its images; evaluation
runs in chunks of ``eval_batch`` images."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Optional

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments._shared import batch_indices
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.understand.adversarial import accuracy, adversarial_loss, fgsm
from gymlab.vision.nn.backbones import BACKBONES, build


def digits_classifier(name: str, width: int, channels: int = 1, size: int = 8, num_classes: int = 10):
    """A backbone for 8x8 digits (or ``size`` x ``size`` images); vgg gets small widths (two stages of
    ``width``, ``2 width``)."""
    if name not in BACKBONES:
        raise GymlabError(f"bad value for 'backbone': {name!r}; valid: {', '.join(BACKBONES)}")
    kw = dict(widths=(width, 2 * width), convs=(1, 1), hidden=128, dropout=0.0) if name == "vgg" else {}
    return build(name, channels, size, num_classes, **kw)


def _chunked_accuracy(model, x, y, epsilon: float, batch: int) -> float:
    """Accuracy on FGSM examples at ``epsilon`` (clean when 0), ``batch`` images at a time."""
    hits = 0.0
    for i in range(0, len(y), batch):
        xb, yb = x[i:i + batch], y[i:i + batch]
        hits += accuracy(model, fgsm(model, xb, yb, epsilon) if epsilon > 0 else xb, yb) * len(yb)
    return hits / len(y)


@dataclass
class FGSMConfig(RunConfig):
    steps: int = 600
    eval_every: int = 200
    batch_size: int = 64
    lr: float = 2e-3
    data: str = "digits"  # digits | mnist | fashion-mnist | cifar10 (as the classifiers)
    data_root: Optional[str] = None  # cache folder for the standard files (default $GYMLAB_DATA)
    eval_batch: int = 1000  # images per evaluation chunk
    backbone: str = "vgg"
    width: int = 32
    epsilon: float = 0.15  # the attack of the headline metrics (pixels are in [0, 1])
    train_epsilon: float = 0.15  # the attack used while adversarially training
    alpha: float = 0.5  # weight of the clean loss in adversarial training
    epsilons: str = "0,0.02,0.05,0.1,0.15,0.2,0.3"  # the accuracy-against-epsilon curve


@register("fgsm", data="digits", metric="eval/adv_trained_accuracy", select="eval/val_adv_trained_accuracy",
          description="FGSM adversarial examples on digits: accuracy vs epsilon, adversarial training")
class FGSM(Experiment):
    Config = FGSMConfig

    def setup(self, cfg: FGSMConfig, ctx):
        from gymlab.runners.experiments.vision.classifiers import load_data

        try:
            self.epsilons = [float(e) for e in cfg.epsilons.split(",")]
        except ValueError:
            raise GymlabError(f"bad value for 'epsilons': {cfg.epsilons!r}; expected numbers joined by commas") from None
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        ds = load_data(cfg.data, cfg.seed, cfg.data_root)
        self.ds = {k: (getattr(ds, k).x.to(ctx.device), getattr(ds, k).y.to(ctx.device)) for k in ("train", "val", "test")}
        c, h, _ = ds.shape
        base = digits_classifier(cfg.backbone, cfg.width, c, h, ds.num_classes)
        self.std = ctx.prepare_model(base)
        self.adv = ctx.prepare_model(copy.deepcopy(base))
        self.opt_std = torch.optim.Adam(self.std.parameters(), cfg.lr)
        self.opt_adv = torch.optim.Adam(self.adv.parameters(), cfg.lr)
        self.steps_per_epoch = math.ceil(len(ds.train) / cfg.batch_size)
        self.step = 0

    def train_step(self):
        x, y = self.ds["train"]
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, len(y), self.cfg.batch_size)).to(self.device)
        x, y = x[idx], y[idx]
        self.std.train()
        self.adv.train()
        loss_std = F.cross_entropy(self.std(x), y)
        self.opt_std.zero_grad(set_to_none=True)
        loss_std.backward()
        self.opt_std.step()
        loss_adv = adversarial_loss(self.adv, x, y, self.cfg.train_epsilon, self.cfg.alpha)
        self.opt_adv.zero_grad(set_to_none=True)
        loss_adv.backward()
        self.opt_adv.step()
        self.step += 1
        return {"train/loss": loss_std.item(), "train/adv_loss": loss_adv.item(),
                "train/epoch": self.step / self.steps_per_epoch}

    def _scores(self, split):
        x, y = self.ds[split]
        self.std.eval()
        self.adv.eval()
        eps, b = self.cfg.epsilon, max(1, self.cfg.eval_batch)
        return (_chunked_accuracy(self.std, x, y, 0.0, b), _chunked_accuracy(self.std, x, y, eps, b),
                _chunked_accuracy(self.adv, x, y, 0.0, b), _chunked_accuracy(self.adv, x, y, eps, b))

    def evaluate(self):
        clean, attacked, adv_clean, adv_attacked = self._scores("test")
        drop = clean - attacked
        _, _, _, val_adv = self._scores("val")
        return {"eval/accuracy": clean, "eval/fgsm_accuracy": attacked, "eval/adv_trained_clean_accuracy": adv_clean,
                "eval/adv_trained_accuracy": adv_attacked, "eval/val_adv_trained_accuracy": val_adv,
                "eval/fgsm_drop": drop, "eval/recovered": (adv_attacked - attacked) / drop if drop > 0 else float("nan")}

    def media(self):
        x, y = self.ds["test"]
        self.std.eval()
        self.adv.eval()
        b = max(1, self.cfg.eval_batch)
        curve_std = [_chunked_accuracy(self.std, x, y, e, b) for e in self.epsilons]
        curve_adv = [_chunked_accuracy(self.adv, x, y, e, b) for e in self.epsilons]
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.plot(self.epsilons, curve_std, "o-", label="standard training")
        ax.plot(self.epsilons, curve_adv, "s-", label="adversarial training")
        ax.set_xlabel("epsilon (L-inf, pixels in [0, 1])")
        ax.set_ylabel("test accuracy")
        ax.legend()
        ax.grid(alpha=0.3)
        # examples: clean, perturbation sign, adversarial, with the standard model's predictions
        self.std.eval()
        xa = fgsm(self.std, x[:6], y[:6], self.cfg.epsilon)
        with torch.no_grad():
            p_clean, p_adv = self.std(x[:6]).argmax(1), self.std(xa).argmax(1)
        fig2, axes = plt.subplots(3, 6, figsize=(7, 3.8))
        for i in range(6):
            for r, (img, title) in enumerate([(x[i, 0], f"clean: {p_clean[i].item()}"),
                                              (xa[i, 0] - x[i, 0], "perturbation"),
                                              (xa[i, 0], f"adv: {p_adv[i].item()}")]):
                e = self.cfg.epsilon
                kw = dict(cmap="RdBu_r", vmin=-e, vmax=e) if r == 1 else dict(cmap="gray", vmin=0, vmax=1)
                axes[r, i].imshow(img.cpu(), **kw)
                axes[r, i].set_title(title, fontsize=7)
                axes[r, i].axis("off")
        fig2.tight_layout()
        table = [{"epsilon": e, "standard": a, "adversarially_trained": b}
                 for e, a, b in zip(self.epsilons, curve_std, curve_adv)]
        return {"accuracy_vs_epsilon": fig, "examples": fig2, "accuracy_vs_epsilon_table": table}

    def state_dict(self):
        return {"std": self.std.state_dict(), "adv": self.adv.state_dict(), "opt_std": self.opt_std.state_dict(),
                "opt_adv": self.opt_adv.state_dict(), "step": self.step}

    def load_state_dict(self, state):
        self.std.load_state_dict(state["std"])
        self.adv.load_state_dict(state["adv"])
        self.opt_std.load_state_dict(state["opt_std"])
        self.opt_adv.load_state_dict(state["opt_adv"])
        self.step = state["step"]
