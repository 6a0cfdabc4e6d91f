"""The supervised template: the experiment gives its data, its model and its loss; the template owns
the loop around them (Lightning's split of the work).

    data(cfg)               -> Splits(train, val, test): tuples of tensors, examples on the first axis
                               (default: the image set ``data.name`` names, as (x, y))
    build(cfg, shape, classes) -> nn.Module                                            (abstract)
    loss(model, batch)      -> (scalar loss, {"accuracy": ...}): means over the batch   (abstract);
                               a metric named "loss" is reported in the optimised one's place
                               (e.g. one of two models trained side by side on the sum)
    augment(batch, g)       -> batch (hook: random crops, flips; default none)
    update()                -> the step after backward (hook: default ``opt.step()``; masks, centroids)

What the template does with them:
- ``setup``: seeds torch, moves the splits to the device, ``ctx.prepare_model(build(...))``, and the
  optimiser and learning-rate schedule that ``cfg.optim`` names (vision.nn.optim).
- ``train_step``: minibatch ``step`` of the seeded shuffle (vision.data.batching: an order fixed by
  (seed, epoch), so a resumed run takes the same batches), this process's shard of it, ``augment``,
  the loss under autocast, ``update()``; at the end of an epoch one step of the schedule
  (``plateau``: on the validation loss; ``onecycle``: one step every minibatch over the budget).
- ``evaluate``: ``loss`` in eval mode without gradients over each split of ``eval_splits`` in batches
  of ``eval_batch``; the example-weighted means as ``eval/<metric>`` (test), ``eval/val_<metric>``,
  ``eval/train_<metric>`` (the first ``eval_train_limit`` training examples).
- ``sanity_model``: ``loss`` on the training split for ``sanity=true`` (runners.sanity), when
  ``sanity_kind`` is set ("softmax", "svm", "bits", ...).
- Checkpoints: model, optimiser and step are gathered by ``Experiment``; the schedule's state is added.

``Classifier`` is the template for labelled images: ``loss`` is the cross-entropy of
``model(norm(x))`` and its accuracy (``norm``: None, or a transform fitted on the training split, e.g.
in ``data``; inside the loss the images stay raw, and ``gymlab.load`` wraps the model with it), the
``sanity=true`` checks expect log C, and ``media`` is the test confusion matrix.
"""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import ClassVar, Optional

import torch
import torch.nn.functional as F

from gymlab.runners.config import DataConfig, OptimConfig, RunConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.media import Confusion
from gymlab.vision.data import datasets, folders
from gymlab.vision.data.batching import batch_indices
from gymlab.vision.nn import optim

Batch = tuple  # of tensors with the examples on the first axis: (x, y), (x,), (x, boxes, labels), ...


@dataclass
class Splits:
    train: Batch
    val: Batch
    test: Batch
    shape: tuple = ()  # (C, H, W) of the inputs, for build
    classes: int = 0  # number of classes (0: not a classification task)


@dataclass
class SupervisedConfig(RunConfig):
    epochs: Optional[float] = 15
    eval_every: int = 100
    batch_size: int = 64  # examples per minibatch (split across processes under torchrun)
    data: DataConfig = group(DataConfig)
    optim: OptimConfig = group(OptimConfig)


def load_images(data: DataConfig, seed: int) -> datasets.Dataset:
    """A built-in image set by name, or the user's own (a folder of class subfolders, or an .npz with x and y)."""
    name = data.name
    if name not in datasets.DATASETS and not folders.is_user_data(name):
        raise GymlabError(f"bad value for 'data': {name!r}; valid: {', '.join(datasets.DATASETS)}, a folder with one "
                          f"subfolder of images per class, or an .npz file with arrays x and y")
    try:
        ds = datasets.load(name, seed=seed, root=data.root) if name in datasets.DATASETS else \
            folders.load_user_data(name, seed=seed)
    except (FileNotFoundError, ValueError) as e:
        raise GymlabError(f"bad value for 'data': {e}" if name not in datasets.DATASETS else str(e)) from None
    c, h, w = ds.shape
    if h != w:
        raise GymlabError(f"bad value for 'data': {name!r} holds {h}x{w} images; the models take square "
                          f"images (resize or crop them to one square size)")
    return ds


class Supervised(Experiment):
    """Give ``build`` and ``loss`` (and ``data`` for anything but labelled images); the template trains."""

    Config: ClassVar[type] = SupervisedConfig
    eval_splits: ClassVar[tuple] = ("test", "val")
    eval_batch: ClassVar[int] = 1000
    eval_train_limit: ClassVar[int] = 5000
    sanity_kind: ClassVar[Optional[str]] = None

    # ------------------------------------------------------------------ what the experiment gives
    def data(self, cfg) -> Splits:
        ds = load_images(cfg.data, cfg.seed)
        n = cfg.data.max_train or len(ds.train)
        return Splits((ds.train.x[:n], ds.train.y[:n]), (ds.val.x, ds.val.y), (ds.test.x, ds.test.y),
                      ds.shape, ds.num_classes)

    @abc.abstractmethod
    def build(self, cfg, shape: tuple, classes: int) -> torch.nn.Module:
        """The model for inputs of ``shape`` (C, H, W) and ``classes`` classes; the optimiser comes from optim.*."""

    def loss(self, model, batch: Batch) -> tuple[torch.Tensor, dict]:
        """The mean loss of ``model`` on ``batch`` and its metrics ({"accuracy": ...}), both over the batch.
        Every experiment that uses the template's train_step or eval passes gives it (a GAN, with its own
        two-player step and no eval splits, has none)."""
        raise TypeError(f"{type(self).__name__} defines no loss(model, batch), which its train_step or eval_splits need")

    def augment(self, batch: Batch, generator: torch.Generator) -> Batch:
        return batch

    def update(self) -> None:
        self.opt.step()

    # ------------------------------------------------------------------ what the template does
    def setup(self, cfg, ctx):
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        splits = self.data(cfg)
        self.shape, self.classes = splits.shape, splits.classes
        self.train, self.val, self.test = (tuple(t.to(ctx.device) for t in s)
                                           for s in (splits.train, splits.val, splits.test))
        torch.manual_seed(cfg.seed)
        try:
            self.model = ctx.prepare_model(self.build(cfg, splits.shape, splits.classes))
            o = cfg.optim
            self.opt = optim.make_optimizer(self.model.parameters(), o.name, o.lr, o.weight_decay, o.momentum)
            self.steps_per_epoch = math.ceil(len(self.train[0]) / cfg.batch_size)
            self.budget = math.ceil(cfg.epochs * self.steps_per_epoch) if cfg.epochs is not None else cfg.steps
            self.scheduler = optim.make_scheduler(self.opt, o.schedule, o.step_size, o.gamma, o.patience, self.budget)
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.step = 0

    def batch(self) -> Batch:
        """Minibatch ``step`` of the seeded shuffle, this process's shard of it, augmented."""
        cfg = self.cfg
        idx = self.ctx.shard(batch_indices(cfg.seed, self.step, len(self.train[0]), cfg.batch_size, self.device))
        return self.augment(tuple(t[idx] for t in self.train),
                            torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.step))

    def train_step(self):
        cfg = self.cfg
        batch = self.batch()
        if not self.model.training:  # evaluation switched it to eval mode (a module walk: not every step)
            self.model.train()
        with self.ctx.autocast():
            loss, metrics = self.loss(self.model, batch)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.update()
        self.step += 1
        out = {"train/loss": loss.item(), **{f"train/{k}": float(v.detach() if torch.is_tensor(v) else v)
                                                  for k, v in metrics.items()},
               "train/lr": self.opt.param_groups[0]["lr"], "train/epoch": self.step / self.steps_per_epoch}
        if self.scheduler is not None and cfg.optim.schedule == "onecycle":
            if self.step < self.scheduler.total_steps:  # a resume with a longer budget holds the final lr
                self.scheduler.step()
        elif self.scheduler is not None and self.step % self.steps_per_epoch == 0:  # the end of an epoch
            if cfg.optim.schedule == "plateau":
                out["train/val_loss"] = self.evaluate_split(self.val)["loss"]
                self.scheduler.step(out["train/val_loss"])
            else:
                self.scheduler.step()
        return out

    @torch.no_grad()
    def evaluate_split(self, split: Batch, limit: int = 0) -> dict:
        """Example-weighted means of ``loss``'s loss and metrics over a split, in eval mode."""
        self.model.eval()
        n = min(len(split[0]), limit) if limit else len(split[0])
        sums: dict = {}
        for i in range(0, n, self.eval_batch):
            batch = tuple(t[i:min(i + self.eval_batch, n)] for t in split)
            with self.ctx.autocast():
                loss, metrics = self.loss(self.model, batch)
            for k, v in {"loss": loss, **metrics}.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(batch[0])
        return {k: v / max(n, 1) for k, v in sums.items()}

    def evaluate(self):
        out = {}
        for name in self.eval_splits:
            prefix = "" if name == "test" else f"{name}_"
            limit = self.eval_train_limit if name == "train" else 0
            out.update({f"eval/{prefix}{k}": v for k, v in self.evaluate_split(getattr(self, name), limit).items()})
        return out

    def sanity_model(self):
        """What ``sanity=true`` checks (runners.sanity): ``loss`` on the training split, with this optimiser."""
        if self.sanity_kind is None:
            raise GymlabError(f"sanity=true: {type(self).__name__} names no sanity_kind")
        from gymlab.runners.sanity import SanityModel

        o = self.cfg.optim
        return SanityModel(self.model, lambda m, x, y: self.loss(m, (x, y))[0], self.train[0], self.train[1],
                           self.sanity_kind, num_classes=self.classes or None,
                           optimizer=lambda p, lr: optim.make_optimizer(p, o.name, lr, 0.0, o.momentum))

    def state_dict(self):
        return {**super().state_dict(), "scheduler": self.scheduler.state_dict() if self.scheduler else None}

    def load_state_dict(self, state):
        state = dict(state)
        scheduler = state.pop("scheduler", state.pop("sched", None))  # "sched": checkpoints written before the template
        super().load_state_dict(state)
        if self.scheduler is not None and scheduler is not None:
            self.scheduler.load_state_dict(scheduler)


class Classifier(Supervised):
    """Give ``build``; the loss is cross-entropy on ``(x, y)`` batches, after ``norm`` (see the module docstring)."""

    norm = None
    sanity_kind: ClassVar[Optional[str]] = "softmax"

    def logits(self, model, x: torch.Tensor) -> torch.Tensor:
        return model(self.norm(x) if self.norm is not None else x).float()

    def loss(self, model, batch: Batch) -> tuple[torch.Tensor, dict]:
        x, y = batch
        logits = self.logits(model, x)
        return F.cross_entropy(logits, y), {"accuracy": (logits.argmax(1) == y).float().mean()}

    @torch.no_grad()
    def media(self):
        """The confusion matrix on the test split (W&B: a chart and a per-class table; files: confusion.png, .md)."""
        self.model.eval()
        with self.ctx.autocast():
            pred = torch.cat([self.logits(self.model, x).argmax(1) for x in self.test[0].split(self.eval_batch)])
        return {"confusion": Confusion(self.test[1].cpu().numpy(), pred.cpu().numpy(),
                                       [str(c) for c in range(self.classes)])}
