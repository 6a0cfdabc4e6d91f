"""Image classifiers from the notes, on digits by default (mnist, fashion-mnist, cifar10 with ``data=``
when their files are in the cache folder): ``knn``, ``mlp``, ``alexnet``, ``vgg``, ``googlenet``, ``resnet``.
``data=`` also takes the user's own images: a folder with one subfolder per class or an ``.npz`` file
with arrays ``x`` and ``y`` (``vision.folders``), split, normalised and scored as the built-in sets.

The networks share one training recipe: preprocessing fitted on the training split (zero-centring
and std scaling per channel or per pixel), optional random-crop/flip augmentation, minibatches in
an order fixed by (seed, epoch), cross-entropy, an optimiser and schedule by name (vision.optim),
the schedule stepped once per epoch. The default recipe (SGD with momentum 0.9, lr 0.05, lr / 10
after 10 epochs, 1-pixel random shifts, 15 epochs; AlexNet 30) is sized for digits; on CIFAR-10
use the notes' augmentation, e.g. ``gymlab run resnet data=cifar10 crop_pad=4 flip=true epochs=30``.

    gymlab run knn [k=0 distance=l2 folds=5]          k=0: chosen by cross-validation
    gymlab run mlp activation=tanh init=xavier batchnorm=true dropout=0.5 hidden=[512,256]
    gymlab run vgg optimizer=adam lr=1e-3 schedule=plateau
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.vision.data.batching import batch_indices
from gymlab.runners.errors import GymlabError
from gymlab.runners.media import Confusion
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment
from gymlab.vision.data import datasets, folders
from gymlab.vision.nn import optim
from gymlab.vision.nn.backbones import build as build_backbone
from gymlab.vision.classify.knn import KNearestNeighbor, cross_validate_k
from gymlab.vision.classify.mlp import ACTIVATIONS, INITS, MLP
from gymlab.vision.data.preprocess import fit_normalization
from gymlab.vision.nn.regularizers import augment


def load_data(name: str, seed: int, root: Optional[str]) -> datasets.Dataset:
    """A built-in set by name, or the user's own: a folder of class subfolders or an .npz (vision.folders)."""
    if name not in datasets.DATASETS and not folders.is_user_data(name):
        raise GymlabError(f"bad value for 'data': {name!r}; valid: {', '.join(datasets.DATASETS)}, a folder with one "
                          f"subfolder of images per class, or an .npz file with arrays x and y")
    try:
        if name in datasets.DATASETS:
            return datasets.load(name, seed=seed, root=root)
        ds = folders.load_user_data(name, seed=seed)
    except (FileNotFoundError, ValueError) as e:
        raise GymlabError(f"bad value for 'data': {e}" if name not in datasets.DATASETS else str(e)) from None
    c, h, w = ds.shape
    if h != w:
        raise GymlabError(f"bad value for 'data': {name!r} holds {h}x{w} images; the classifiers take square "
                          f"images (resize or crop them to one square size)")
    return ds


def _check_choice(key: str, value, valid) -> None:
    if value not in valid:
        raise GymlabError(f"bad value for {key!r}: {value!r}; valid: {', '.join(map(str, valid))}")


# ----------------------------------------------------------------------------------------------- kNN
@dataclass
class KNNConfig(RunConfig):
    steps: int = 1
    eval_every: int = 1
    data: str = "digits"
    data_root: Optional[str] = None  # cache folder for mnist/fashion-mnist/cifar10 (default $GYMLAB_DATA)
    k: int = 0  # 0: choose k by cross-validation over ks
    ks: list = field(default_factory=lambda: [1, 3, 5, 8, 10, 12, 15, 20, 50, 100])  # the notes' k_choices
    folds: int = 5
    distance: str = "l2"  # l1 | l2
    max_train: int = 0  # use only the first N training images (0: all)


@register("knn", data="digits", select="eval/val_accuracy",
          description="k-nearest neighbours on pixels (L1/L2), k by k-fold cross-validation")
class KNN(Experiment):
    Config = KNNConfig

    def setup(self, cfg: KNNConfig, ctx):
        _check_choice("distance", cfg.distance, ("l1", "l2"))
        if cfg.k < 0 or cfg.folds < 2:
            raise GymlabError(f"bad value for 'k' or 'folds': k={cfg.k}, folds={cfg.folds}; need k >= 0 and folds >= 2")
        self.cfg, self.device = cfg, ctx.device
        ds = load_data(cfg.data, cfg.seed, cfg.data_root)
        flat = lambda s: s.x.reshape(len(s), -1)  # noqa: E731
        n = cfg.max_train or len(ds.train)
        self.xtr, self.ytr = flat(ds.train)[:n], ds.train.y[:n]
        self.xva, self.yva, self.xte, self.yte = flat(ds.val), ds.val.y, flat(ds.test), ds.test.y
        self.k, self.cv, self.knn, self.done = cfg.k or None, None, None, False

    def train_step(self):
        """Cross-validate k on the training split (unless k is given), then memorise it."""
        if self.k is None:
            ks = [k for k in self.cfg.ks if k <= len(self.ytr) * (self.cfg.folds - 1) // self.cfg.folds]
            self.k, self.cv = cross_validate_k(self.xtr, self.ytr, ks, self.cfg.folds, self.cfg.distance,
                                               seed=self.cfg.seed)
        self.knn = KNearestNeighbor(self.k, self.cfg.distance, device=self.device).fit(self.xtr, self.ytr)
        self.done = True
        out = {"train/k": self.k}
        if self.cv is not None:
            out["train/cv_accuracy"] = float(self.cv[self.k].mean())
        return out

    def evaluate(self):
        if self.knn is None:
            return {}
        return {"eval/accuracy": self.knn.score(self.xte, self.yte), "eval/val_accuracy": self.knn.score(self.xva, self.yva),
                "eval/k": self.k}

    def media(self):
        if not self.cv:
            return {}
        ks = sorted(self.cv)
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for k in ks:
            ax.scatter([k] * len(self.cv[k]), self.cv[k], s=8, color="grey")
        ax.errorbar(ks, [self.cv[k].mean() for k in ks], yerr=[self.cv[k].std() for k in ks], color="C0")
        ax.set(xlabel="k", ylabel="cross-validation accuracy", title=f"{self.cfg.folds}-fold CV, chosen k={self.k}")
        ax.set_xscale("log")
        return {"cross_validation": fig}

    def state_dict(self):
        return {"k": self.k, "cv": self.cv, "done": self.done}

    def load_state_dict(self, state):
        self.k, self.cv, self.done = state["k"], state["cv"], state["done"]
        if self.done:
            self.knn = KNearestNeighbor(self.k, self.cfg.distance, device=self.device).fit(self.xtr, self.ytr)


# ------------------------------------------------------------------------------------ neural networks
@dataclass
class NetConfig(RunConfig):
    epochs: Optional[float] = 15
    eval_every: int = 100
    data: str = "digits"
    data_root: Optional[str] = None  # cache folder for mnist/fashion-mnist/cifar10 (default $GYMLAB_DATA)
    max_train: int = 0  # use only the first N training images (0: all)
    batch_size: int = 64
    optimizer: str = "momentum"  # sgd | momentum | nesterov | adagrad | rmsprop | adam
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "step"  # none | step (lr *= gamma every step_size epochs) | plateau (lr /= 10)
    step_size: int = 10
    gamma: float = 0.1
    patience: int = 2
    preprocess: str = "channel"  # none | image (mean image, per-pixel std) | channel (per-channel mean, std)
    crop_pad: int = 1  # random crop after zero-padding by this many pixels (0: off; CIFAR: 4)
    flip: bool = False  # random left-right flips (CIFAR: true; not for digits)
    jitter: float = 0.0  # colour jitter strength: brightness/contrast(/saturation) factors in [1-j, 1+j]


class NetExperiment(Experiment):
    """Shared training loop of the network classifiers; subclasses say how to build the model."""

    Config = NetConfig

    def build_model(self, cfg, channels: int, size: int, num_classes: int) -> torch.nn.Module:
        raise TypeError(f"{type(self).__name__} must define build_model")

    def sanity_model(self):
        """What `sanity=true` checks (runners.sanity): cross-entropy of the model on the training split."""
        from gymlab.runners.sanity import SanityModel

        norm = self.norm if self.norm is not None else (lambda x: x)
        return SanityModel(self.model, lambda m, x, y: F.cross_entropy(m(norm(x)), y), self.xtr, self.ytr,
                           "softmax", num_classes=self.classes,
                           optimizer=lambda p, lr: optim.make_optimizer(p, self.cfg.optimizer, lr, 0.0,
                                                                        self.cfg.momentum))

    def setup(self, cfg, ctx):
        _check_choice("optimizer", cfg.optimizer, optim.OPTIMIZERS)
        _check_choice("schedule", cfg.schedule, optim.SCHEDULES)
        _check_choice("preprocess", cfg.preprocess, ("none", "image", "channel"))
        if cfg.batch_size < 1:
            raise GymlabError(f"bad value for 'batch_size': {cfg.batch_size}; it must be at least 1")
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        ds = load_data(cfg.data, cfg.seed, cfg.data_root)
        n = cfg.max_train or len(ds.train)
        xtr = ds.train.x[:n]
        # images stay raw in [0, 1] (so that crops pad with black); each batch is normalised on its way in
        self.norm = fit_normalization(xtr, cfg.preprocess, scale=True) if cfg.preprocess != "none" else None
        to = lambda t: t.to(ctx.device)  # noqa: E731
        self.xtr, self.ytr = to(xtr), to(ds.train.y[:n])
        self.xva, self.yva = to(ds.val.x), to(ds.val.y)
        self.xte, self.yte = to(ds.test.x), to(ds.test.y)
        self.classes = ds.num_classes
        c, h, w = ds.shape
        try:
            model = self.build_model(cfg, c, h, ds.num_classes)
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.model = ctx.prepare_model(model)
        try:
            self.opt = optim.make_optimizer(self.model.parameters(), cfg.optimizer, cfg.lr, cfg.weight_decay,
                                            cfg.momentum)
            self.sched = optim.make_scheduler(self.opt, cfg.schedule, cfg.step_size, cfg.gamma, cfg.patience)
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.steps_per_epoch = math.ceil(len(self.ytr) / cfg.batch_size)
        self.step = 0

    # ------------------------------------------------------------------ training
    def _batch_indices(self) -> torch.Tensor:
        """Minibatch ``step`` of the seeded shuffle (vision.batching): resumable for free."""
        idx = batch_indices(self.cfg.seed, self.step, len(self.ytr), self.cfg.batch_size)
        return self.ctx.shard(idx).to(self.device)

    def train_step(self):
        cfg = self.cfg
        idx = self._batch_indices()
        x, y = self.xtr[idx], self.ytr[idx]
        if cfg.crop_pad > 0 or cfg.flip or cfg.jitter > 0:
            g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.step)
            x = augment(x, cfg.crop_pad, cfg.flip, cfg.jitter, g)
        if self.norm is not None:
            x = self.norm(x)
        if not self.model.training:  # evaluation switched it to eval mode (a module walk: not every step)
            self.model.train()
        with self.ctx.autocast():
            loss = F.cross_entropy(self.model(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        out = {"train/loss": loss.item(), "train/lr": self.opt.param_groups[0]["lr"],
               "train/epoch": self.step / self.steps_per_epoch}
        if self.sched is not None and self.step % self.steps_per_epoch == 0:  # end of an epoch
            if cfg.schedule == "plateau":
                val_loss = self._loss_and_accuracy(self.xva, self.yva)[0]
                self.sched.step(val_loss)
                out["train/val_loss"] = val_loss
            else:
                self.sched.step()
        return out

    # ---------------------------------------------------------------- evaluation
    @torch.no_grad()
    def predict_logits(self, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
        self.model.eval()
        outs = []
        for i in range(0, len(x), batch):
            with self.ctx.autocast():
                xb = x[i:i + batch]
                outs.append(self.model(self.norm(xb) if self.norm is not None else xb).float())
        return torch.cat(outs)

    def _loss_and_accuracy(self, x, y):
        logits = self.predict_logits(x)
        return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()

    def evaluate(self):
        test_loss, test_acc = self._loss_and_accuracy(self.xte, self.yte)
        val_loss, val_acc = self._loss_and_accuracy(self.xva, self.yva)
        _, train_acc = self._loss_and_accuracy(self.xtr[:5000], self.ytr[:5000])
        return {"eval/accuracy": test_acc, "eval/val_accuracy": val_acc, "eval/train_accuracy": train_acc,
                "eval/loss": test_loss, "eval/val_loss": val_loss}

    def media(self):
        """The test confusion matrix, and the first layer's filters (conv nets) or weights (MLP)."""
        pred = self.predict_logits(self.xte).argmax(1).cpu()
        # W&B: a confusion-matrix chart and a per-class table; the run folder: confusion.png, confusion_per_class.md
        out = {"confusion": Confusion(self.yte.cpu().numpy(), pred.numpy(), [str(c) for c in range(self.classes)])}
        first = next(m for m in self.model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
        w = first.weight.detach().cpu()
        if isinstance(first, torch.nn.Linear):
            c, h, wd = self.xtr.shape[1:]
            w = w.reshape(-1, c, h, wd) if w.shape[1] == c * h * wd else None
        if w is not None:
            out["first_layer"] = _filter_grid(w[:64])
        return out

    def state_dict(self):
        return {"model": {k: v.cpu() for k, v in self.model.state_dict().items()}, "opt": self.opt.state_dict(),
                "sched": self.sched.state_dict() if self.sched is not None else None, "step": self.step}

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        if self.sched is not None and state["sched"] is not None:
            self.sched.load_state_dict(state["sched"])
        self.step = state["step"]


def _filter_grid(w: torch.Tensor) -> np.ndarray:
    """(K, C, h, w) filters as one image: each filter min-max scaled, C = 3 as colour, else channel 0."""
    k = len(w)
    w = w[:, :3] if w.shape[1] == 3 else w[:, :1]
    lo = w.flatten(1).min(1).values.view(-1, 1, 1, 1)
    hi = w.flatten(1).max(1).values.view(-1, 1, 1, 1)
    w = (w - lo) / (hi - lo).clamp(min=1e-8)
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    c, h, wd = w.shape[1:]
    grid = torch.ones(c, rows * (h + 1) + 1, cols * (wd + 1) + 1)
    for i in range(k):
        r, q = divmod(i, cols)
        grid[:, 1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (wd + 1):1 + q * (wd + 1) + wd] = w[i]
    img = grid.permute(1, 2, 0).numpy()
    return img[..., 0] if c == 1 else img


# ----------------------------------------------------------------------------------------------- MLP
@dataclass
class MLPConfig(NetConfig):
    epochs: Optional[float] = 30
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str = "none"
    crop_pad: int = 0
    preprocess: str = "image"
    hidden: list = field(default_factory=lambda: [256, 256])
    activation: str = "relu"  # sigmoid | tanh | relu | leaky_relu | elu | maxout
    init: str = "he"  # small | xavier | he
    batchnorm: bool = False
    dropout: float = 0.2
    head_std: Optional[float] = 0.01  # std of the output layer's weights (null: the hidden layers' init)


@register("mlp", data="digits", select="eval/val_accuracy",
          description="fully-connected net: six activations, small/Xavier/He init, batch norm, dropout")
class MLPClassifier(NetExperiment):
    Config = MLPConfig

    def build_model(self, cfg, channels, size, num_classes):
        _check_choice("activation", cfg.activation, ACTIVATIONS)
        _check_choice("init", cfg.init, INITS)
        return MLP(channels * size * size, [int(h) for h in cfg.hidden], num_classes, cfg.activation, cfg.init,
                   cfg.batchnorm, cfg.dropout, head_std=cfg.head_std)


# ------------------------------------------------------------------------------------------ backbones
class BackboneExperiment(NetExperiment):
    backbone = ""

    def build_model(self, cfg, channels, size, num_classes):
        return build_backbone(self.backbone, channels, size, num_classes, **self.model_kwargs(cfg))

    def model_kwargs(self, cfg) -> dict:
        return {}


def _register_backbone(name: str, description: str, config=NetConfig, **attrs):
    cls = type(f"{name.capitalize()}Classifier", (BackboneExperiment,),
               {"backbone": name, "__doc__": description, "__module__": __name__, "Config": config, **attrs})
    return register(name, data="digits", select="eval/val_accuracy", description=description)(cls)


@dataclass
class AlexNetConfig(NetConfig):
    epochs: Optional[float] = 30  # no residuals, big FC layers with dropout: it needs longer than the others
    step_size: int = 20
    batchnorm: bool = True  # batch norm after each conv (false: the original's plain conv-ReLU)
    dropout: float = 0.5


AlexNetClassifier = _register_backbone(
    "alexnet", "AlexNet-style CNN: five convs, three FC layers, dropout", AlexNetConfig,
    model_kwargs=lambda self, cfg: {"batchnorm": cfg.batchnorm, "dropout": cfg.dropout})


@dataclass
class VGGConfig(NetConfig):
    pool: str = "max"  # max | fractional (fractional max pooling, same output size)


@dataclass
class ResNetConfig(NetConfig):
    drop_path: float = 0.0  # stochastic depth: the last block is dropped with this probability (linear decay)


def _vgg_kwargs(self, cfg):
    _check_choice("pool", cfg.pool, ("max", "fractional"))
    return {"pool": cfg.pool}


def _resnet_kwargs(self, cfg):
    if not 0.0 <= cfg.drop_path < 1.0:
        raise GymlabError(f"bad value for 'drop_path': {cfg.drop_path}; it must be in [0, 1)")
    return {"drop_path": cfg.drop_path}


VGGClassifier = _register_backbone("vgg", "VGG-style CNN: stacks of 3x3 convs with batch norm", VGGConfig,
                                   model_kwargs=_vgg_kwargs)
GoogLeNetClassifier = _register_backbone("googlenet", "GoogLeNet-style CNN: Inception modules with 1x1 reductions")
ResNetClassifier = _register_backbone("resnet", "ResNet-style CNN: residual blocks, BN after every conv, He init",
                                      ResNetConfig, model_kwargs=_resnet_kwargs)
