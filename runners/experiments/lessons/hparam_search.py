"""Lesson 6, ``hparam-search``: coarse-to-fine random search over learning rate and L2 strength
(vision.nn.hparam_search), one trial a step: ``n_coarse`` short trials log-uniform over the wide
ranges, then ``n_fine`` longer ones in the span of the best ``top_k`` widened by ``margin``; then done.
Keys: ``eval/{coarse,fine}_{best,median}``, ``eval/best_{lr,reg}``, ``eval/fine_{lr,reg}_{min,max}``.
``data=mnist`` searches on MNIST's 784-pixel rows (standardised per channel; digits: per pixel)."""
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from gymlab.runners.config import DataConfig, RunConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.registry import register
from gymlab.runners.sanity import SanityModel
from gymlab.runners.templates.supervised import load_images
from gymlab.vision.data.flat_digits import flat_images
from gymlab.vision.nn import hparam_search as hs


@dataclass
class HparamConfig(RunConfig):
    steps: int = 30  # one trial per step; the run is done after n_coarse + n_fine trials
    eval_every: int = 10
    n_coarse: int = field(default=20, metadata={"range": (1, None, "at least 1")})  # short trials over the wide ranges
    n_fine: int = field(default=10, metadata={"range": (0, None, "0 or more")})  # longer trials in the narrowed ranges
    coarse_epochs: float = 1.0
    fine_epochs: float = 8.0
    lr_min: float = 1e-5  # the learning rate's coarse range
    lr_max: float = 10.0
    reg_min: float = 1e-6  # the L2 strength's coarse range
    reg_max: float = 1.0
    top_k: int = field(default=4, metadata={"range": (1, None, "at least 1")})  # the fine ranges span the best top_k coarse trials ...
    margin: float = 2.0  # ... widened by this factor on each side
    width: int = 100  # hidden units of the trials' two-layer net
    batch_size: int = 64
    data: DataConfig = group(DataConfig)  # digits (8x8: 64 inputs) or mnist (28x28: 784), flattened


@register("hparam-search", data="digits", select="eval/val_accuracy",
          description="coarse-to-fine random search over learning rate and L2 strength (one trial per step)")
class HparamSearch(Experiment):
    Config = HparamConfig
    counters = ("trials", "fine_range", "done")

    def setup(self, cfg, ctx):
        if not (0 < cfg.lr_min < cfg.lr_max and 0 < cfg.reg_min < cfg.reg_max):
            raise GymlabError("bad value for the ranges: need 0 < lr_min < lr_max and 0 < reg_min < reg_max")
        per = "image" if cfg.data.name == "digits" else "channel"  # as the race lessons standardise
        self.cfg = cfg
        self.data = flat_images(load_images(cfg.data, cfg.seed), cfg.seed, ctx.device, max_train=cfg.data.max_train, per=per)
        self.ranges = {"lr": (cfg.lr_min, cfg.lr_max), "reg": (cfg.reg_min, cfg.reg_max)}
        self.trials, self.fine_range = [], None  # the trials so far (dicts), the fine stage's ranges

    def sanity_model(self):
        """The runner's sanity=true checks on the trials' network (its lr probe: the decade to search around)."""
        d = self.data
        net = hs.trial_net(self.cfg.width, self.cfg.seed, d.xtr.shape[1], d.classes).to(d.xtr.device)
        return SanityModel(net, lambda m, x, y: F.cross_entropy(m(x), y), d.xtr, d.ytr, "softmax", num_classes=d.classes,
                           optimizer=lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9))

    def train_step(self):
        c, i = self.cfg, len(self.trials)
        stage, p, self.fine_range = hs.propose(self.trials, self.ranges, c.n_coarse, c.top_k, c.margin, c.seed)
        t = hs.train_trial(p["lr"], p["reg"], c.coarse_epochs if stage == "coarse" else c.fine_epochs,
                           seed=c.seed * 1000 + i, data=self.data, width=c.width, batch_size=c.batch_size)
        self.trials.append({**t, "stage": stage, "trial": i})
        self.done = len(self.trials) >= c.n_coarse + c.n_fine
        return {"train/trial_val_accuracy": t["val_accuracy"], "train/trial_lr": p["lr"], "train/trial_reg": p["reg"],
                "train/trial_diverged": float(t["diverged"])}

    def evaluate(self):
        return {f"eval/{k}": v for k, v in hs.summary(self.trials, self.fine_range).items()}

    def media(self):
        return {"search": hs.search_figure(self.trials, self.fine_range), "trials": hs.trials_table(self.trials)}
