"""`transfer`: a backbone pretrained on the digits (resized to 10-16 pixels, shifted on a 20x20 canvas) reused
on one-digit scenes (a 10-16 pixel digit anywhere on a 32x32 canvas; the label is the digit), with a
new head: frozen features against fine-tuning against training from scratch, as the number of
labelled scenes shrinks (vision.transfer).

Schedule: ``pretrain_steps`` on the digits, then for each labelled-set size (``sizes``) and method a
job of ``target_steps`` minibatches; each job's test accuracy goes into the table. eval/accuracy is
the better of frozen and fine-tuned with the fewest labels, eval/transfer_gain its lead over scratch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments._shared import batch_indices
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.nn.backbones import BACKBONES, build
from gymlab.vision.data.datasets import load_digits_split
from gymlab.vision.data.scenes import load_scenes
from gymlab.vision.classify.transfer import METHODS, PooledClassifier, for_target, place_digits, param_groups, train_mode


@dataclass
class TransferConfig(RunConfig):
    steps: int = 1500  # pretrain_steps + len(sizes) * 3 * target_steps
    eval_every: int = 100
    batch_size: int = 32
    lr: float = 3e-3
    backbone_lr_scale: float = 0.3  # fine-tuning: backbone learning rate = lr * this
    data: str = "scenes"
    backbone: Literal[tuple(BACKBONES)] = "vgg"
    width: int = 16
    pretrain_steps: int = 300
    copies: int = 4  # randomly placed copies of each training digit for pretraining
    target_steps: int = 100
    sizes: str = "20,50,200,1000"  # labelled scenes for the target task
    n_test: int = 500


@register("transfer", data="digits->scenes", metric="eval/accuracy", select="eval/accuracy",
          description="transfer from digits to scenes: frozen vs fine-tuned vs scratch as labels shrink")
class Transfer(Experiment):
    Config = TransferConfig

    def setup(self, cfg: TransferConfig, ctx):
        if cfg.data != "scenes":
            raise GymlabError(f"bad value for 'data': {cfg.data!r}; valid: scenes")
        try:
            self.sizes = sorted(int(s) for s in cfg.sizes.split(","))
        except ValueError:
            raise GymlabError(f"bad value for 'sizes': {cfg.sizes!r}; expected integers joined by commas") from None
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        digits = load_digits_split(cfg.seed)
        self.src_x = place_digits(digits.train.x, cfg.copies, seed=cfg.seed)
        self.src_y = digits.train.y.repeat(cfg.copies)
        self.src_test = (place_digits(digits.test.x, 1, seed=cfg.seed + 1), digits.test.y)
        self.data = load_scenes(cfg.seed, max(self.sizes), cfg.n_test, min_digits=1, max_digits=1)
        self.ytr = torch.stack([lab[0] for lab in self.data.train.labels])
        self.yte = torch.stack([lab[0] for lab in self.data.test.labels])
        self.jobs = [("pretrain", 0)] + [(m, n) for n in self.sizes for m in METHODS]
        self.pretrained = ctx.prepare_model(PooledClassifier(self._fresh(), 10))
        self.results = {}  # "method@n" -> test accuracy
        self.step = 0
        self._start(0)

    def _fresh(self):
        w = self.cfg.width
        kw = dict(widths=(w, 2 * w, 4 * w), convs=(1, 1, 2)) if self.cfg.backbone == "vgg" else {}
        return build(self.cfg.backbone, 1, 20, 10, **kw)

    def _job_of(self, step):
        c = self.cfg
        if step < c.pretrain_steps:
            return 0, step
        k, i = divmod(step - c.pretrain_steps, c.target_steps)
        return 1 + k, i

    def _start(self, job):
        """Build the model and optimizer of job number ``job``."""
        self.job = job
        method, _ = self.jobs[job]
        if method == "pretrain":
            self.model = self.pretrained
            self.opt = torch.optim.Adam(self.model.parameters(), self.cfg.lr)
        else:
            torch.manual_seed(self.cfg.seed * 1000 + job)  # the new head (and a scratch backbone) per job
            self.model = self.ctx.prepare_model(for_target(self.pretrained, method, 10, self._fresh))
            self.opt = torch.optim.Adam(param_groups(self.model, method, self.cfg.lr, self.cfg.backbone_lr_scale))

    def train_step(self):
        job, i = self._job_of(self.step)
        if job >= len(self.jobs):
            self.done = True
            return {}
        if job != self.job:
            self._start(job)
        method, n = self.jobs[job]
        if method == "pretrain":
            x, y = self.src_x, self.src_y
            idx = batch_indices(self.cfg.seed, i, len(y), self.cfg.batch_size)
        else:
            x, y = self.data.train.images, self.ytr
            idx = batch_indices(self.cfg.seed + job, i, n, min(self.cfg.batch_size, n))
        idx = self.ctx.shard(idx)
        train_mode(self.model, method)
        loss = F.cross_entropy(self.model(x[idx].to(self.device)), y[idx].to(self.device))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        if method == "pretrain":
            if self.step == self.cfg.pretrain_steps:
                self.results["pretrain_digits"] = self._source_accuracy()
        elif self._job_of(self.step)[0] != job:  # the job's last step: score it
            self.results[f"{method}@{n}"] = self._accuracy(self.model)
        self.done = self._job_of(self.step)[0] >= len(self.jobs)
        return {"train/loss": loss.item(), "train/job": job}

    @torch.no_grad()
    def _accuracy(self, model):
        model.eval()
        pred = torch.cat([model(c.to(self.device)).argmax(1).cpu() for c in torch.split(self.data.test.images, 500)])
        return float((pred == self.yte).float().mean())

    @torch.no_grad()
    def _source_accuracy(self):
        self.pretrained.eval()
        x, y = self.src_test
        pred = self.pretrained(x.to(self.device)).argmax(1).cpu()
        return float((pred == y).float().mean())

    def evaluate(self):
        out = {f"eval/{k.replace('@', '_acc_n')}": v for k, v in self.results.items() if "@" in k}
        if "pretrain_digits" in self.results:
            out["eval/pretrain_digits_accuracy"] = self.results["pretrain_digits"]
        n = self.sizes[0]
        if f"scratch@{n}" in self.results:  # the headline: the pretrained backbone's best use with the fewest labels
            best = max(self.results[f"frozen@{n}"], self.results[f"finetune@{n}"])
            out["eval/accuracy"] = best
            out["eval/transfer_gain"] = best - self.results[f"scratch@{n}"]
        return out

    def _rows(self):
        return [{"labelled_scenes": n, **{m: self.results.get(f"{m}@{n}", float("nan")) for m in METHODS}}
                for n in self.sizes]

    def media(self):
        rows = self._rows()
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        for m, marker in zip(METHODS, "os^"):
            ax.plot([r["labelled_scenes"] for r in rows], [r[m] for r in rows], marker + "-", label=m)
        ax.set_xscale("log")
        ax.set_xlabel("labelled target scenes")
        ax.set_ylabel("test accuracy")
        ax.legend()
        ax.grid(alpha=0.3)
        return {"transfer_table": rows, "accuracy_vs_labels": fig}

    def state_dict(self):
        return {"pretrained": self.pretrained.state_dict(), "model": self.model.state_dict(),
                "opt": self.opt.state_dict(), "job": self.job, "step": self.step, "results": dict(self.results)}

    def load_state_dict(self, state):
        self.pretrained.load_state_dict(state["pretrained"])
        self._start(state["job"])
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.results = state["step"], dict(state["results"])
