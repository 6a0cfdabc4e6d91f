"""Shared parts of the generative experiments: the digits-FID classifier, image grids and plots,
``GenConfig`` and ``Generative`` (data, evaluation, samples, checkpoints)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import matplotlib.pyplot as plt
import numpy as np
import torch

from gymlab.generative import data as gdata
from gymlab.generative import metrics
from gymlab.vision.data.batching import batch_indices
from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.media import Curve
from gymlab.runners.experiment import Experiment

_CLASSIFIERS: dict = {}  # (data, size, seed, steps) -> the FID classifier, trained once a process


def feature_classifier(data: str, size: Optional[int], seed: int, steps: int = 300):
    """The digits-FID classifier for (data, size, seed): trained once per process on the training split."""
    key = (data, size, seed, steps)
    if key not in _CLASSIFIERS:
        d = gdata.load(data, seed, size)
        x = d.data.train.x if not d.dynamic else torch.bernoulli(d.data.train.x, generator=torch.Generator().manual_seed(seed))
        _CLASSIFIERS[key] = metrics.train_classifier(x, d.data.train.y, d.data.num_classes, steps=steps, seed=seed)
    return _CLASSIFIERS[key]


def grid(images: torch.Tensor, nrow: int) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (rows*(H+1), nrow*(W+1)[, 3]) image with 1-pixel gaps."""
    x = images.detach().float().cpu().clamp(0, 1)
    n, c, h, w = x.shape
    rows = math.ceil(n / nrow)
    out = torch.full((c, rows * (h + 1) + 1, nrow * (w + 1) + 1), 0.5)
    for k in range(n):
        r, q = divmod(k, nrow)
        out[:, 1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (w + 1):1 + q * (w + 1) + w] = x[k]
    img = out.permute(1, 2, 0).numpy()
    return img[..., 0] if c == 1 else img


def upscale(img: np.ndarray, factor: int = 8) -> np.ndarray:
    return np.kron(img, np.ones((factor, factor) + (1,) * (img.ndim - 2)))


def curve(history: list, keys: list, title: str) -> Curve:
    """A learning curve (a W&B line-series chart, a PNG in the run folder)."""
    lines = {}
    for k in keys:
        pts = [(h["step"], h[k]) for h in history if k in h]
        if pts:
            lines[k.split("/")[-1]] = tuple(zip(*pts))
    return Curve(lines, "step", title)


def latent_plot(codes: torch.Tensor, labels: torch.Tensor, title: str):
    """Codes in 2D (PCA when the code has more than two dimensions), coloured by digit."""
    z = codes.detach().double().cpu()
    if z.shape[1] > 2:
        z = z - z.mean(0)
        _, _, v = torch.linalg.svd(z, full_matrices=False)
        z = z @ v[:2].T
    fig, ax = plt.subplots(figsize=(4.5, 4))
    sc = ax.scatter(z[:, 0], z[:, 1], c=labels.cpu(), cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax, ticks=range(10))
    ax.set_title(title)
    fig.tight_layout()
    return fig


@dataclass
class GenConfig(RunConfig):
    steps: int = 400
    eval_every: int = 200
    data: str = "digits"  # digits | digits-gray | mnist | mnist-dynamic | cifar10
    size: Optional[int] = None  # resize to size x size (digits: 8, 16 or 28); None: native
    batch_size: int = 64
    lr: float = 3e-3
    fid_samples: int = 256  # samples scored by the digits-FID at the final evaluation (0: skip)
    fid_every_eval: bool = False  # score samples at every evaluation, not only the last (set it with seconds=)
    fid_classifier_steps: int = 300


class Generative(Experiment):
    """Data, batching (a permutation per (seed, epoch): resumable), and the FID bookkeeping."""

    Config = GenConfig

    # one model (self.net) and one optimizer (self.opt); the GAN, with two of each, overrides these
    def state_dict(self):
        return {"model": self.net.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                "history": list(self.history)}

    def load_state_dict(self, state):
        self.net.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.history = state["step"], list(state["history"])

    def _setup_data(self, cfg, ctx):
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        try:
            d = gdata.load(cfg.data, cfg.seed, cfg.size)
        except (ValueError, FileNotFoundError) as e:
            raise GymlabError(str(e).splitlines()[0]) from None
        self.levels, self.dynamic, self.shape = d.levels, d.dynamic, d.shape
        self.dims = int(np.prod(self.shape))
        ds = d.data
        self.num_classes = ds.num_classes
        self.xtr, self.ytr = ds.train.x.to(ctx.device), ds.train.y.to(ctx.device)
        self.xva, self.yva = ds.val.x.to(ctx.device), ds.val.y.to(ctx.device)
        self.xte, self.yte = ds.test.x.to(ctx.device), ds.test.y.to(ctx.device)
        self.steps_per_epoch = math.ceil(len(self.ytr) / cfg.batch_size)
        self.total_steps = math.ceil(cfg.epochs * self.steps_per_epoch) if cfg.epochs is not None else cfg.steps
        self.step = 0
        self.history: list[dict] = []

    def _batch(self):
        idx = self.ctx.shard(batch_indices(self.cfg.seed, self.step, len(self.ytr), self.cfg.batch_size))
        idx = idx.to(self.device)
        x, y = self.xtr[idx], self.ytr[idx]
        if self.dynamic:  # dynamically binarized MNIST: a fresh Bernoulli(x) draw for this step
            gb = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step)
            x = torch.bernoulli(x.cpu(), generator=gb).to(self.device)
        return x, y

    def _step_generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.cfg.seed * 7_919 + self.step)

    def _wants_fid(self) -> bool:
        return self.cfg.fid_samples > 0 and (self.cfg.fid_every_eval or self.step >= self.total_steps)

    def _sample_scores(self, samples: torch.Tensor) -> dict:
        clf = feature_classifier(self.cfg.data, self.cfg.size, self.cfg.seed, self.cfg.fid_classifier_steps)
        s = samples.float().cpu()
        return {"eval/fid": metrics.fid(clf, self.xte.cpu(), s), "eval/val_fid": metrics.fid(clf, self.xva.cpu(), s),
                "eval/inception_score": metrics.inception_score(clf, s)}

    def _sync_grads(self, module) -> None:
        """Average gradients over processes by hand (under torchrun), for losses that bypass DDP's forward."""
        if self.ctx.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            for p in module.parameters():
                if p.grad is not None:
                    torch.distributed.all_reduce(p.grad)
                    p.grad.div_(self.ctx.world_size)

    def _log_history(self, row: dict) -> None:
        self.history.append({"step": self.step, **row})
