"""`transfer`: a backbone pretrained on the digits (resized to 10-16 pixels, shifted on a 20x20 canvas)
reused on one-digit scenes (a 10-16 pixel digit anywhere on a 32x32 canvas; the label is the digit) with
a new head: frozen features against fine-tuning against training from scratch, as the number of
labelled scenes shrinks (vision.classify.transfer).

Schedule: ``pretrain_steps`` on the digits, then a job of ``target_steps`` minibatches for each size of
``sizes`` and method, scored on the test scenes. Keys: eval/<method>_acc_n<size>, eval/pretrain_digits_accuracy,
eval/accuracy (frozen or fine-tuned, the better, with the fewest labels), eval/transfer_gain (its lead over scratch)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from gymlab.runners.config import OptimConfig, RunConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.registry import register
from gymlab.vision.classify import plots, transfer as T
from gymlab.vision.classify.accuracy import accuracy
from gymlab.vision.data.batching import batch_indices
from gymlab.vision.nn import optim
from gymlab.vision.nn.backbones import BACKBONES


@dataclass
class TransferConfig(RunConfig):
    steps: int = 1500  # pretrain_steps + len(sizes) * 3 * target_steps
    eval_every: int = 100
    batch_size: int = 32  # examples per minibatch (at most the labelled set)
    optim: OptimConfig = group(OptimConfig, lr=3e-3)  # every job's optimiser (the head's lr when fine-tuning)
    backbone_lr_scale: float = 0.3  # fine-tuning: backbone learning rate = lr * this
    data: Literal["scenes"] = "scenes"  # the target task
    backbone: Literal[tuple(BACKBONES)] = "vgg"  # vgg: three stages of width, 2 width, 4 width channels
    width: int = 16  # vgg's first stage
    pretrain_steps: int = 300  # minibatches on the source digits
    copies: int = 4  # randomly placed copies of each training digit for pretraining
    target_steps: int = 100  # minibatches of each target job
    sizes: str = "20,50,200,1000"  # labelled scenes for the target task
    n_test: int = 500  # test scenes


@register("transfer", data="digits->scenes", metric="eval/accuracy", select="eval/accuracy",
          description="transfer from digits to scenes: frozen vs fine-tuned vs scratch as labels shrink")
class Transfer(Experiment):
    Config = TransferConfig
    counters = ("step", "job", "results", "done")

    def setup(self, cfg: TransferConfig, ctx):
        try:
            self.sizes = sorted(int(s) for s in cfg.sizes.split(","))
        except ValueError:
            raise GymlabError(f"bad value for 'sizes': {cfg.sizes!r}; expected integers joined by commas") from None
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        self.tasks = T.digits_to_scenes(cfg.seed, cfg.copies, max(self.sizes), cfg.n_test)
        self.jobs = [("pretrain", len(self.tasks["source"][1]))] + [(m, n) for n in self.sizes for m in T.METHODS]
        self.fresh = lambda: T.small_backbone(cfg.backbone, cfg.width)  # noqa: E731
        self.pretrained = ctx.prepare_model(T.PooledClassifier(self.fresh(), 10))
        self.results, self.step = {}, 0  # eval key -> test accuracy of a finished job
        self._start(0)

    def _job_of(self, step):
        """(job number, minibatch within it) of a 0-based step."""
        k, i = divmod(step - self.cfg.pretrain_steps, self.cfg.target_steps)
        return (0, step) if step < self.cfg.pretrain_steps else (1 + k, i)

    def _start(self, job):
        """The model and optimiser of job number ``job`` (a new head, and backbone for scratch, seeded per job)."""
        self.job, (method, _), o = job, self.jobs[job], self.cfg.optim
        if method == "pretrain":
            self.model, groups = self.pretrained, self.pretrained.parameters()
        else:
            torch.manual_seed(self.cfg.seed * 1000 + job)
            self.model = self.ctx.prepare_model(T.for_target(self.pretrained, method, 10, self.fresh))
            groups = T.param_groups(self.model, method, o.lr, self.cfg.backbone_lr_scale)
        self.opt = optim.make_optimizer(groups, o.name, o.lr, o.weight_decay, o.momentum)

    def train_step(self):
        (job, i), c = self._job_of(self.step), self.cfg
        if job != self.job:
            self._start(job)
        method, n = self.jobs[job]
        x, y = self.tasks["source" if method == "pretrain" else "target"]
        idx = self.ctx.shard(batch_indices(c.seed + job, i, n, min(c.batch_size, n)))  # the first n of each set
        T.train_mode(self.model, method)
        loss = F.cross_entropy(self.model(x[idx].to(self.device)), y[idx].to(self.device))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        if self._job_of(self.step)[0] != job:  # the job's last step: score it
            self.results[f"{method}_acc_n{n}" if job else "pretrain_digits_accuracy"] = \
                accuracy(self.model, *self.tasks["target_test" if job else "source_test"], 500)
        self.done = self._job_of(self.step)[0] >= len(self.jobs)
        return {"train/loss": loss.item(), "train/job": job}

    def evaluate(self):
        out, r, n = {f"eval/{k}": v for k, v in self.results.items()}, self.results, self.sizes[0]
        if f"scratch_acc_n{n}" in r:  # the headline: the pretrained backbone's best use with the fewest labels
            out["eval/accuracy"] = max(r[f"frozen_acc_n{n}"], r[f"finetune_acc_n{n}"])
            out["eval/transfer_gain"] = out["eval/accuracy"] - r[f"scratch_acc_n{n}"]
        return out

    def media(self):
        rows = [{"labelled_scenes": n, **{m: self.results.get(f"{m}_acc_n{n}", float("nan")) for m in T.METHODS}}
                for n in self.sizes]
        return {"transfer_table": rows, "accuracy_vs_labels": plots.accuracy_vs_labels(rows, T.METHODS)}

    def load_state_dict(self, state):
        self._start(state["job"])  # the job's model and optimiser, for the gathered state to fill
        super().load_state_dict(state)
