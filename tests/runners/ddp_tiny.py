"""`ddp-tiny`, a test-only experiment for test_ddp.py: a small MLP on the digits trained with SGD and
momentum, written the way every nn.Module experiment is (ctx.prepare_model, ctx.shard, ctx.autocast,
ctx.to_device). It is registered when this module is imported (test_ddp.py does that in its
subprocesses through a sitecustomize.py on PYTHONPATH), so it never shows in `gymlab list`."""
from dataclasses import dataclass

import torch
from torch import nn

from gymlab.runners.config import RunConfig
from gymlab.runners.registry import register
from gymlab.vision.data.datasets import load_digits_split, standardize


@dataclass
class TinyConfig(RunConfig):
    steps: int = 6
    eval_every: int = 3
    batch_size: int = 64  # the global batch: each of N processes takes batch_size / N of it
    lr: float = 0.1


@register("ddp-tiny", data="digits", metric="eval/accuracy", description="test-only MLP for data-parallel checks")
class Tiny:
    Config = TinyConfig

    def setup(self, cfg, ctx):
        self.cfg, self.ctx = cfg, ctx
        ds = load_digits_split(cfg.seed)
        xtr, _, xte = standardize(ds.train.x.flatten(1), ds.val.x.flatten(1), ds.test.x.flatten(1))
        self.x, self.y = xtr, ds.train.y
        self.xte, self.yte = xte.to(ctx.device), ds.test.y.to(ctx.device)
        torch.manual_seed(cfg.seed)
        self.model = ctx.prepare_model(nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10)))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg.lr, momentum=0.9)
        self.step = 0

    def train_step(self):
        g = torch.Generator().manual_seed(self.cfg.seed * 100_003 + self.step)
        idx = self.ctx.shard(torch.randperm(len(self.y), generator=g)[: self.cfg.batch_size])
        x, y = self.ctx.to_device(self.x[idx]), self.ctx.to_device(self.y[idx])
        with self.ctx.autocast():
            loss = nn.functional.cross_entropy(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"train/loss": loss.item(), "train/local_batch": len(idx)}

    @torch.no_grad()
    def evaluate(self):
        return {"eval/accuracy": (self.model(self.xte).argmax(1) == self.yte).float().mean().item()}

    def media(self):
        return {}

    def state_dict(self):  # the same keys with DDP (ctx.prepare_model) as without
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step}

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.step = state["step"]
