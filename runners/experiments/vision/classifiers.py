"""Image classifiers from the notes: ``knn``, ``mlp``, ``alexnet``, ``vgg``, ``googlenet``, ``resnet``, on
digits by default (``data=`` mnist, fashion-mnist, cifar10 from the cache folder, or the user's own
images: a folder with one subfolder per class, or an ``.npz`` with arrays ``x`` and ``y``).

The networks share the recipe of runners.templates.supervised.Classifier: ``preprocess`` fitted on the
training split (per-channel or per-pixel mean and std), random crops/flips/jitter, ``optim.*`` (momentum
SGD, lr 0.05, / 10 every 10 epochs: sized for digits; on CIFAR-10 ``crop_pad=4 flip=true epochs=30``).
Keys: eval/accuracy, eval/loss (test), eval/val_*, eval/train_*; media: confusion, first_layer.

    gymlab run knn [k=0 distance=l2 folds=5]          k=0: chosen by cross-validation
    gymlab run mlp activation=tanh init=xavier batchnorm=true dropout=0.5 hidden=[512,256]
    gymlab run vgg optimizer=adam lr=1e-3 schedule=plateau
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from gymlab.runners.config import DataConfig, OptimConfig, RunConfig, group
from gymlab.runners.experiment import Experiment
from gymlab.runners.registry import register
from gymlab.runners.templates.supervised import Classifier, SupervisedConfig, load_images
from gymlab.vision.classify import knn, mlp, plots
from gymlab.vision.data.preprocess import fit_normalization
from gymlab.vision.nn.backbones import build as build_backbone
from gymlab.vision.nn.regularizers import augment
from gymlab.vision.understand.filters import filter_grid, first_layer_filters


@dataclass
class KNNConfig(RunConfig):
    steps: int = 1
    eval_every: int = 1
    data: DataConfig = group(DataConfig)
    k: int = field(default=0, metadata={"range": (0, None, "0 (cross-validated) or more")})  # 0: choose k by CV over ks
    ks: list = field(default_factory=lambda: [1, 3, 5, 8, 10, 12, 15, 20, 50, 100])  # the notes' k_choices
    folds: int = field(default=5, metadata={"range": (2, None, "at least 2")})  # cross-validation folds
    distance: Literal["l1", "l2"] = "l2"  # the pixel distance


@register("knn", data="digits", select="eval/val_accuracy",
          description="k-nearest neighbours on pixels (L1/L2), k by k-fold cross-validation")
class KNN(Experiment):
    Config = KNNConfig
    counters = ("k", "cv", "done")

    def setup(self, cfg: KNNConfig, ctx):
        self.cfg, self.device, ds = cfg, ctx.device, load_images(cfg.data, cfg.seed)
        n, flat = cfg.data.max_train or len(ds.train), lambda s: s.x.reshape(len(s), -1)  # noqa: E731
        self.xtr, self.ytr, self.xva, self.yva = flat(ds.train)[:n], ds.train.y[:n], flat(ds.val), ds.val.y
        self.xte, self.yte, self.k, self.cv, self.knn = flat(ds.test), ds.test.y, cfg.k or None, None, None

    def train_step(self):
        """Cross-validate k on the training split (unless k is given); the classifier memorises it."""
        if self.k is None:
            ks = [k for k in self.cfg.ks if k <= len(self.ytr) * (self.cfg.folds - 1) // self.cfg.folds]
            self.k, self.cv = knn.cross_validate_k(self.xtr, self.ytr, ks, self.cfg.folds, self.cfg.distance, seed=self.cfg.seed)
        self.done = True
        return {"train/k": self.k, **({"train/cv_accuracy": float(self.cv[self.k].mean())} if self.cv else {})}

    def evaluate(self):
        if not self.done:
            return {}
        self.knn = self.knn or knn.KNearestNeighbor(self.k, self.cfg.distance, device=self.device).fit(self.xtr, self.ytr)
        return {"eval/accuracy": self.knn.score(self.xte, self.yte), "eval/val_accuracy": self.knn.score(self.xva, self.yva),
                "eval/k": self.k}

    def media(self):
        return {"cross_validation": plots.cross_validation(self.cv, self.k, self.cfg.folds)} if self.cv else {}


@dataclass
class NetConfig(SupervisedConfig):
    optim: OptimConfig = group(OptimConfig, name="momentum", lr=0.05, weight_decay=5e-4, schedule="step")
    preprocess: Literal["none", "image", "channel"] = "channel"  # image: mean image, per-pixel std; channel: per channel
    crop_pad: int = 1  # random crop after zero-padding by this many pixels (0: off; CIFAR: 4)
    flip: bool = False  # random left-right flips (CIFAR: true; not for digits)
    jitter: float = 0.0  # colour jitter strength: brightness/contrast(/saturation) factors in [1-j, 1+j]


class NetExperiment(Classifier):
    """The networks' recipe; subclasses give ``build``."""

    Config = NetConfig
    eval_splits = ("test", "val", "train")

    def data(self, cfg):
        splits = super().data(cfg)
        self.norm = fit_normalization(splits.train[0], cfg.preprocess) if cfg.preprocess != "none" else None
        return splits

    def augment(self, batch, g):
        c = self.cfg
        return (augment(batch[0], c.crop_pad, c.flip, c.jitter, g), batch[1]) if c.crop_pad or c.flip or c.jitter else batch

    def media(self):
        """The test confusion matrix, and the first layer's filters (conv nets) or weights (MLP)."""
        w = first_layer_filters(self.model, self.shape)
        return {**super().media(), **({"first_layer": filter_grid(w[:64])} if w is not None else {})}


@dataclass
class MLPConfig(NetConfig):
    epochs: Optional[float] = 30
    optim: OptimConfig = group(OptimConfig, name="adam", lr=1e-3, weight_decay=5e-4)
    crop_pad: int = 0
    preprocess: Literal["none", "image", "channel"] = "image"
    hidden: list = field(default_factory=lambda: [256, 256])  # hidden layer widths
    activation: Literal[tuple(mlp.ACTIVATIONS)] = "relu"  # sigmoid | tanh | relu | leaky_relu | elu | maxout
    init: Literal[tuple(mlp.INITS)] = "he"  # small | xavier | he
    batchnorm: bool = False  # batch norm after each hidden layer
    dropout: float = 0.2  # dropout probability after each hidden layer
    head_std: Optional[float] = 0.01  # std of the output layer's weights (null: the hidden layers' init)


@register("mlp", data="digits", select="eval/val_accuracy",
          description="fully-connected net: six activations, small/Xavier/He init, batch norm, dropout")
class MLPClassifier(NetExperiment):
    Config = MLPConfig

    def build(self, cfg, shape, classes):
        return mlp.MLP(shape[0] * shape[1] * shape[2], [int(h) for h in cfg.hidden], classes, cfg.activation, cfg.init,
                   cfg.batchnorm, cfg.dropout, head_std=cfg.head_std)


@dataclass
class AlexNetConfig(NetConfig):
    epochs: Optional[float] = 30  # no residuals, big FC layers with dropout: it needs longer than the others
    optim: OptimConfig = group(OptimConfig, name="momentum", lr=0.05, weight_decay=5e-4, schedule="step", step_size=20)
    batchnorm: bool = True  # batch norm after each conv (false: the original's plain conv-ReLU)
    dropout: float = 0.5  # dropout probability in the FC layers


@dataclass
class VGGConfig(NetConfig):
    pool: Literal["max", "fractional"] = "max"  # fractional: fractional max pooling, same output size


@dataclass
class ResNetConfig(NetConfig):
    drop_path: float = field(default=0.0, metadata={"range": (0, 1 - 1e-9, "in [0, 1)")})  # stochastic depth of the last block


def _backbone(name: str, description: str, config=NetConfig, keys=()):
    """Register a classifier whose model is vision.nn.backbones' ``name`` with the config's ``keys``."""
    cls = type(f"{name.capitalize()}Classifier", (NetExperiment,), {
        "__doc__": description, "__module__": __name__, "Config": config, "backbone": name,
        "model_kwargs": lambda self, cfg: {k: getattr(cfg, k) for k in keys},
        "build": lambda self, cfg, shape, classes: build_backbone(name, shape[0], shape[1], classes, **self.model_kwargs(cfg))})
    return register(name, data="digits", select="eval/val_accuracy", description=description)(cls)


AlexNetClassifier = _backbone("alexnet", "AlexNet-style CNN: five convs, three FC layers, dropout", AlexNetConfig,
                              ("batchnorm", "dropout"))
VGGClassifier = _backbone("vgg", "VGG-style CNN: stacks of 3x3 convs with batch norm", VGGConfig, ("pool",))
GoogLeNetClassifier = _backbone("googlenet", "GoogLeNet-style CNN: Inception modules with 1x1 reductions")
ResNetClassifier = _backbone("resnet", "ResNet-style CNN: residual blocks, BN after every conv, He init",
                             ResNetConfig, ("drop_path",))
