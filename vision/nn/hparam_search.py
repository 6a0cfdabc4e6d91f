"""Coarse-to-fine random search (the notes' recipe for learning rate and regularisation strength).

    coarse  sample each hyperparameter log-uniformly over a wide range, with short trials
    fine    narrow each range to [min / margin, max * margin] of the best ``top_k`` coarse trials
            (kept inside the coarse range), and run longer trials there

Trial i draws from ``np.random.default_rng([seed, i])``: a resumed search draws the same values.
``train_trial`` is one trial of the notes' two-layer net on digits, usable on its own (a Ray Tune
trainable calls it with sampled lr and reg).
"""
from __future__ import annotations

from typing import Optional

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from gymlab.vision.classify.mlp import MLP
from gymlab.vision.data.batching import batch_indices
from gymlab.vision.data.flat_digits import FlatDigits, digits
from gymlab.vision.nn.layers import inference
from gymlab.vision.nn.regularizers import l2_penalty


def sample(ranges: dict, seed: int, i: int) -> dict:
    """Trial i's values: name -> 10 ** U(log10 lo, log10 hi), drawn in the order of ``ranges``."""
    rng = np.random.default_rng([seed, i])
    return {k: float(10 ** rng.uniform(*np.log10(r))) for k, r in ranges.items()}


def narrow(trials: list, ranges: dict, top_k: int, margin: float, score: str = "val_accuracy") -> dict:
    """The fine ranges: the span of the best ``top_k`` trials per name, widened by ``margin``, inside ``ranges``."""
    best = sorted(trials, key=lambda t: -t[score])[:top_k]
    return {k: (max(lo, min(t[k] for t in best) / margin), min(hi, max(t[k] for t in best) * margin))
            for k, (lo, hi) in ranges.items()}


def propose(trials: list, ranges: dict, n_coarse: int, top_k: int, margin: float, seed: int):
    """The next trial (number len(trials)): (stage, its values, the fine ranges or None while coarse)."""
    i = len(trials)
    if i < n_coarse:
        return "coarse", sample(ranges, seed, i), None
    fine = narrow([t for t in trials if t.get("stage", "coarse") == "coarse"], ranges, top_k, margin)
    return "fine", sample(fine, seed, i), fine


def summary(trials: list, fine: Optional[dict] = None, params=("lr", "reg"), score: str = "val_accuracy") -> dict:
    """The best trial's accuracy, val_accuracy and best_<param>; per stage <stage>_best and _median of
    ``score``; the fine ranges as fine_<param>_min and _max."""
    if not trials:
        return {}
    best = max(trials, key=lambda t: t[score])
    out = {"accuracy": best["accuracy"], score: best[score], **{f"best_{k}": best[k] for k in params},
           "trials": len(trials)}
    for stage in ("coarse", "fine"):
        vals = [t[score] for t in trials if t.get("stage", "coarse") == stage]
        if vals:
            out.update({f"{stage}_best": max(vals), f"{stage}_median": float(np.median(vals))})
    for k, (lo, hi) in (fine or {}).items():
        out.update({f"fine_{k}_min": lo, f"fine_{k}_max": hi})
    return out


def _accuracy(net, x, y) -> float:
    with inference(net):
        return (net(x).argmax(1) == y).float().mean().item()


def trial_net(width: int = 100, seed: int = 0, inputs: int = 64, classes: int = 10) -> MLP:
    """The notes' two-layer net of the trials: inputs -> width (ReLU, He init) -> classes, seeded."""
    torch.manual_seed(seed)
    return MLP(inputs, (width,), classes, activation="relu", init="he")


def trials_table(trials: list, score: str = "val_accuracy",
                 keys=("trial", "stage", "lr", "reg", "epochs", "val_accuracy", "diverged")) -> list:
    """One row per trial (the ``keys`` it has), best ``score`` first."""
    return [{k: t[k] for k in keys if k in t} for t in sorted(trials, key=lambda t: -t[score])]


def train_trial(lr: float, reg: float, epochs: float, seed: int = 0, data: Optional[FlatDigits] = None,
                width: int = 100, batch_size: int = 64, device="cpu") -> dict:
    """Train a two-layer ReLU net (He init, SGD with momentum 0.9, loss + reg * sum W^2) for ``epochs``
    on the seeded minibatches (vision.data.batching) and return its val/test/train accuracy and last loss.
    A loss that turns non-finite (or above 1e6) stops the trial: ``diverged`` and chance accuracy."""
    data = data if data is not None else digits(seed, device)
    net = trial_net(width, seed, data.xtr.shape[1], data.classes).to(data.xtr.device)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    n = len(data.ytr)
    loss = torch.tensor(float("nan"))
    for step in range(max(1, round(epochs * -(-n // batch_size)))):
        idx = batch_indices(seed, step, n, batch_size).to(data.xtr.device)
        loss = F.cross_entropy(net(data.xtr[idx]), data.ytr[idx]) + reg * l2_penalty(net)
        if not torch.isfinite(loss) or loss.item() > 1e6:
            return {"lr": lr, "reg": reg, "epochs": epochs, "val_accuracy": 0.1, "accuracy": 0.1,
                    "train_accuracy": 0.1, "loss": float("inf"), "diverged": True}
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"lr": lr, "reg": reg, "epochs": epochs, "val_accuracy": _accuracy(net, data.xva, data.yva),
            "accuracy": _accuracy(net, data.xte, data.yte), "train_accuracy": _accuracy(net, data.xtr, data.ytr),
            "loss": loss.item(), "diverged": False}


def search_figure(trials: list, fine: Optional[dict] = None, x: str = "lr", y: str = "reg", score: str = "val_accuracy"):
    """The trials in the (x, y) plane on log axes, coloured by ``score``, marked by stage; the fine box dashed."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sc = None
    for stage, marker in (("coarse", "o"), ("fine", "^")):
        ts = [t for t in trials if t.get("stage", "coarse") == stage]
        if ts:
            sc = ax.scatter([t[x] for t in ts], [t[y] for t in ts], c=[t[score] for t in ts], marker=marker,
                            vmin=0, vmax=1, cmap="viridis", label=stage, edgecolors="k")
    if sc is not None:
        fig.colorbar(sc, ax=ax, label=score.replace("_", " "))
    if fine is not None:
        (x0, x1), (y0, y1) = fine[x], fine[y]
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ls="--", color="r"))
    ax.set(xscale="log", yscale="log", xlabel="learning rate" if x == "lr" else x,
           ylabel="L2 strength" if y == "reg" else y, title="coarse-to-fine random search")
    ax.legend(fontsize=7)
    return fig
