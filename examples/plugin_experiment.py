"""Your own experiment as a plugin: every gymlab command sees it once the module is named.

    gymlab --plugin examples/plugin_experiment.py list
    gymlab --plugin examples/plugin_experiment.py run digits-logreg steps=300
    GYMLAB_PLUGINS=examples/plugin_experiment.py gymlab compare digits-logreg softmax seeds=3
    python examples/plugin_experiment.py [--steps 300]      # the same run from Python

An experiment is a config dataclass and a class with ``setup``, ``train_step`` and ``evaluate``;
``Experiment`` gathers its checkpoint state (every nn.Module, optimiser and the ``step`` counter), so
resume, eval, sweeps and ``gymlab.load`` work on it as on the built-in ones. In a package, declare it
as an entry point instead of naming it::

    [project.entry-points."gymlab.experiments"]
    digits-logreg = "mypackage.experiments:DigitsLogReg"
"""
import argparse
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import gymlab
from gymlab.runners.config import RunConfig
from gymlab.runners.experiment import Experiment
from gymlab.vision.data.datasets import load_digits_split
from gymlab.vision.data.preprocess import fit_normalization


@dataclass
class LogRegConfig(RunConfig):
    steps: int = 300  # the runner's keys (seed, device, steps, eval_every, ...) come with RunConfig
    eval_every: int = 50
    lr: float = 0.05
    batch_size: int = 64


@gymlab.register("digits-logreg", data="digits", metric="eval/accuracy", select="eval/val_accuracy",
                 description="multinomial logistic regression on the 8x8 digits (a plugin example)")
class DigitsLogReg(Experiment):
    Config = LogRegConfig

    def setup(self, cfg, ctx):
        self.cfg, self.device = cfg, ctx.device
        ds = load_digits_split(cfg.seed)  # images in [0, 1], split by the seed like the built-in ones
        self.norm = fit_normalization(ds.train.x, "channel")  # gymlab.load attaches it to the model
        self.splits = {name: (self.norm(s.x).flatten(1).to(ctx.device), s.y.to(ctx.device))
                       for name, s in (("train", ds.train), ("val", ds.val), ("test", ds.test))}
        torch.manual_seed(cfg.seed)
        self.model = ctx.prepare_model(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg.lr, momentum=0.9)
        self.step = 0

    def train_step(self):
        x, y = self.splits["train"]
        g = torch.Generator().manual_seed(self.cfg.seed * 100_003 + self.step)  # resumable batches
        idx = torch.randint(len(y), (self.cfg.batch_size,), generator=g).to(self.device)
        loss = F.cross_entropy(self.model(x[idx]), y[idx])
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"train/loss": loss.item()}

    @torch.no_grad()
    def evaluate(self):
        acc = {k: (self.model(x).argmax(1) == y).float().mean().item() for k, (x, y) in self.splits.items()}
        return {"eval/accuracy": acc["test"], "eval/val_accuracy": acc["val"], "eval/train_accuracy": acc["train"]}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    summary = gymlab.run("digits-logreg", [f"steps={ap.parse_args().steps}", "progress=false"])
    print(f"test accuracy {summary['eval/accuracy']:.3f}, run folder {summary['run_dir']}")
