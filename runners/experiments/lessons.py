"""The notes' training lessons as experiments on digits, each showing its claim in numbers and plots.

    init-activations   a 10-layer tanh net: init too small (activations and gradients collapse to
                       zero), too big (tanh saturates), Xavier/He (a healthy spread); histograms per layer
    activations        the same net trained with each activation: dead ReLUs, sigmoid gradient
                       saturation, zero-centred (tanh) against not (sigmoid, ReLU)
    optimizers         SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam racing on the same model and
                       minibatches from the same initial weights; loss curves on one plot
    regularization     L2 strength, dropout, max-norm, DropConnect and random crops against the
                       train/validation gap
                       (big gap: overfitting, increase regularisation; no gap: increase capacity)
    batchnorm          the same deep net with and without batch normalisation
    hparam-search      coarse-to-fine random search over learning rate and regularisation strength:
                       short trials over a wide log range, then longer ones where the best were

The first five train several models side by side on the same minibatches (``_Race``); each model's
metrics are logged as ``eval/<variant>/<metric>``, and ``eval/accuracy`` is the test accuracy of the
variant with the best validation accuracy. A variant whose loss turns non-finite (the too-high
learning rate, say) stops training and reports ``eval/<variant>/diverged = 1`` instead of ending the run.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from runners.config import RunConfig  # noqa: E402
from runners.errors import GymlabError  # noqa: E402
from runners.registry import register  # noqa: E402
from vision.datasets import load_digits_split, standardize  # noqa: E402
from vision.mlp import ACTIVATIONS, INITS, MLP  # noqa: E402
from vision.optim import OPTIMIZERS, SCHEDULES, make_optimizer, make_scheduler  # noqa: E402
from vision.regularizers import DropConnectLinear, apply_max_norm_, random_crop  # noqa: E402


# ===================================================================================== shared parts
@dataclass
class Digits:
    xtr: torch.Tensor
    ytr: torch.Tensor
    xva: torch.Tensor
    yva: torch.Tensor
    xte: torch.Tensor
    yte: torch.Tensor
    mean: Optional[torch.Tensor] = None  # the training statistics of the standardisation (64,)
    std: Optional[torch.Tensor] = None

    def augment(self, x: torch.Tensor, pad: int) -> torch.Tensor:
        """Random crops (zero-pad ``pad`` blank pixels, cut 8x8 back) of standardised rows: undo the
        standardisation, shift the images, redo it."""
        raw = (x * self.std + self.mean).view(-1, 1, 8, 8)
        return (random_crop(raw, pad).flatten(1) - self.mean) / self.std


def digits(seed: int, device, train_size: Optional[int] = None, label_noise: float = 0.0) -> Digits:
    """Standardised, flattened digits (N, 64); ``train_size`` keeps a stratified-by-seed subset of train;
    ``label_noise`` replaces that fraction of the training labels by random other classes (fixed by seed)."""
    ds = load_digits_split(seed)
    xtr, ytr = ds.train.x, ds.train.y
    if train_size is not None and train_size < len(ytr):
        if train_size < 10:
            raise GymlabError(f"bad value for 'train_size': {train_size}; it must be at least 10")
        g = torch.Generator().manual_seed(seed)
        keep = torch.cat([torch.nonzero(ytr == c).flatten()[torch.randperm(int((ytr == c).sum()), generator=g)]
                          [: max(1, round(train_size * float((ytr == c).float().mean())))] for c in range(10)])
        xtr, ytr = xtr[keep], ytr[keep]
    if label_noise > 0:
        if not label_noise < 1:
            raise GymlabError(f"bad value for 'label_noise': {label_noise}; it must be in [0, 1)")
        g = torch.Generator().manual_seed(seed + 7)
        flip = torch.randperm(len(ytr), generator=g)[: round(label_noise * len(ytr))]
        ytr = ytr.clone()
        ytr[flip] = (ytr[flip] + torch.randint(1, 10, (len(flip),), generator=g)) % 10
    flat = xtr.reshape(len(xtr), -1)
    mean, std = flat.mean(0), flat.std(0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))  # as vision.datasets.standardize
    xtr, xva, xte = standardize(xtr, ds.val.x, ds.test.x)
    return Digits(*(t.to(device) for t in (xtr, ytr, xva, ds.val.y, xte, ds.test.y, mean, std)))


def split_list(text: str, key: str, cast=str, valid=None) -> list:
    """'a,b,c' -> [a, b, c], each cast and checked against ``valid``."""
    try:
        items = [cast(s.strip()) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise GymlabError(f"bad value for {key!r}: {text!r} is not a comma-separated list of {cast.__name__}") from None
    if not items:
        raise GymlabError(f"bad value for {key!r}: the list is empty")
    if valid is not None:
        bad = [s for s in items if s not in valid]
        if bad:
            raise GymlabError(f"bad value for {key!r}: {', '.join(map(str, bad))}; valid: {', '.join(valid)}")
    return items


def weight_params(model: nn.Module) -> list:
    """The weight matrices (not biases, not BN parameters): what L2 regularisation penalises."""
    return [p for n, p in model.named_parameters() if p.dim() > 1]


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    was = model.training
    model.eval()
    acc = (model(x).argmax(1) == y).float().mean().item()
    model.train(was)
    return acc


@torch.no_grad()
def data_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean cross-entropy in eval mode (no regularisation term)."""
    was = model.training
    model.eval()
    loss = F.cross_entropy(model(x), y).item()
    model.train(was)
    return loss


def layer_stats(model: MLP, x: torch.Tensor, y: torch.Tensor, samples: int = 2000) -> dict:
    """Per hidden layer: mean and std of the activations h, the fraction saturated (|h| > 0.99 for
    tanh), the std of the upstream gradient dL/dh and the norm of dL/dW, from one forward/backward
    pass of cross-entropy on (x, y) in the model's current mode; plus a sample of h for histograms."""
    model.zero_grad()
    logits, acts = model(x, return_activations=True)
    for a in acts:
        a.retain_grad()
    F.cross_entropy(logits, y).backward()

    def weight(layer):
        lin = layer.linear
        return lin.weight if hasattr(lin, "weight") else lin.linear.weight

    out = {
        "act_mean": [a.mean().item() for a in acts],
        "act_std": [a.std().item() for a in acts],
        "saturated": [(a.abs() > 0.99).float().mean().item() for a in acts],
        "grad_std": [a.grad.std().item() for a in acts],
        "wgrad_norm": [weight(layer).grad.norm().item() for layer in model.layers],
        "samples": [a.detach().flatten()[:samples].cpu().numpy() for a in acts],
    }
    model.zero_grad()
    return out


class _Race:
    """Several models trained side by side on the same minibatches (a permutation fixed by seed and
    epoch, so that a resumed run sees the same data). Subclasses fill ``self.models`` and
    ``self.opts`` in ``build(cfg, ctx)``; they may override ``loss``, ``after_step`` and ``extra_eval``."""

    def setup(self, cfg, ctx):
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        if cfg.batch_size < 1:
            raise GymlabError(f"bad value for 'batch_size': {cfg.batch_size}; it must be at least 1")
        self.data = digits(cfg.seed, ctx.device, getattr(cfg, "train_size", None), getattr(cfg, "label_noise", 0.0))
        self.models: dict[str, nn.Module] = {}
        self.opts: dict[str, torch.optim.Optimizer] = {}
        self.build(cfg, ctx)
        self.history = {name: [] for name in self.models}
        self.diverged = {name: False for name in self.models}
        self.steps_per_epoch = math.ceil(len(self.data.ytr) / cfg.batch_size)
        self.step = 0

    def build(self, cfg, ctx):
        raise TypeError(f"{type(self).__name__} must define build(cfg, ctx): the models it races")

    def _batch(self):
        epoch, i = divmod(self.step, self.steps_per_epoch)
        g = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)
        perm = torch.randperm(len(self.data.ytr), generator=g)
        idx = self.ctx.shard(perm[i * self.cfg.batch_size:(i + 1) * self.cfg.batch_size]).to(self.device)
        return self.data.xtr[idx], self.data.ytr[idx]

    def loss(self, name: str, model: nn.Module, x, y):
        return F.cross_entropy(model(x), y)

    def after_step(self, name: str, model: nn.Module) -> None:
        pass

    def train_step(self):
        x, y = self._batch()
        out = {}
        for name, model in self.models.items():
            if self.diverged[name]:
                continue
            model.train()
            with self.ctx.autocast():
                loss = self.loss(name, model, x, y)
            if not torch.isfinite(loss):
                self.diverged[name] = True
                continue
            self.opts[name].zero_grad()
            loss.backward()
            self.opts[name].step()
            self.after_step(name, model)
            self.history[name].append(loss.item())
            out[f"train/{name}/loss"] = loss.item()
        self.step += 1
        out["train/epoch"] = self.step / self.steps_per_epoch
        return out

    def recent_loss(self, name: str, window: int = 20) -> float:
        h = self.history[name]
        return float(np.mean(h[-window:])) if h else float("nan")

    def evaluate(self):
        d, out, best = self.data, {}, None
        for name, model in self.models.items():
            if self.diverged[name]:
                out[f"eval/{name}/diverged"] = 1.0
                continue
            val = accuracy(model, d.xva, d.yva)
            out[f"eval/{name}/accuracy"] = accuracy(model, d.xte, d.yte)
            out[f"eval/{name}/val_accuracy"] = val
            out[f"eval/{name}/train_accuracy"] = accuracy(model, d.xtr, d.ytr)
            out[f"eval/{name}/train_loss"] = self.recent_loss(name)
            if best is None or val > out[f"eval/{best}/val_accuracy"]:
                best = name
        if best is not None:
            out["eval/accuracy"] = out[f"eval/{best}/accuracy"]
            out["eval/val_accuracy"] = out[f"eval/{best}/val_accuracy"]
        out.update(self.extra_eval())
        return out

    def extra_eval(self) -> dict:
        return {}

    def sanity_model(self):
        """The runner's sanity=true checks (runners/sanity.py) on the first variant."""
        from runners.sanity import SanityModel

        first = next(iter(self.models.values()))
        return SanityModel(first, lambda m, x, y: F.cross_entropy(m(x), y), self.data.xtr, self.data.ytr,
                           "softmax", num_classes=10)

    def loss_figure(self, title: str, smooth: int = 10):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for name, h in self.history.items():
            if h:
                k = min(smooth, len(h))
                ax.plot(np.convolve(h, np.ones(k) / k, mode="valid"), label=name + (" (diverged)" if self.diverged[name] else ""))
        ax.set(xlabel="step", ylabel="training loss (moving average)", title=title, yscale="log")
        ax.legend(fontsize=7)
        return fig

    def table(self) -> list:
        ev = self.evaluate()
        rows = []
        for name in self.models:
            rows.append({"variant": name, **{k.split("/")[-1]: v for k, v in ev.items() if k.startswith(f"eval/{name}/")}})
        return rows

    def state_dict(self):
        return {"models": {n: m.state_dict() for n, m in self.models.items()},
                "opts": {n: o.state_dict() for n, o in self.opts.items()},
                "history": copy.deepcopy(self.history), "diverged": dict(self.diverged), "step": self.step,
                "extra": self.extra_state()}

    def load_state_dict(self, state):
        for n, m in self.models.items():
            m.load_state_dict(state["models"][n])
            self.opts[n].load_state_dict(state["opts"][n])
        self.history = copy.deepcopy(state["history"])
        self.diverged = dict(state["diverged"])
        self.step = state["step"]
        self.load_extra_state(state.get("extra", {}))

    def extra_state(self) -> dict:
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass


def _raw(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel / compiled wrapper."""
    return getattr(model, "module", getattr(model, "_orig_mod", model))


# ===================================================================================== 1. init-activations
@dataclass
class InitConfig(RunConfig):
    steps: int = 150
    eval_every: int = 50
    depth: int = 10
    width: int = 256
    inits: str = "small,xavier,he,big"  # names of vision.mlp inits, plus 'big' (std = big_scale)
    big_scale: float = 1.0
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 64
    probe_size: int = 500  # training examples used for the per-layer statistics


@register("init-activations", data="digits", select="eval/val_accuracy",
          description="10-layer tanh net: small init collapses, big init saturates, Xavier/He stay healthy")
class InitActivations(_Race):
    """The notes' experiment: a deep tanh net's activations and gradients layer by layer at
    initialisation, for each weight scale, and how well each then trains.

    What the numbers show (``eval/<init>/...``, measured at initialisation): ``small`` (0.01 randn)
    shrinks the activations by about 0.01 sqrt(width) per layer, so the last layer's std is ~1e-9 and
    the gradient reaching the first layer is as small (it never learns); ``big`` (randn) saturates
    most units (|h| > 0.99: ``saturated_last``), whose local gradient 1 - h^2 is ~0; the weight
    gradient then comes from the few unsaturated paths times large weights and is huge and noisy,
    and training stalls too; ``xavier`` (randn / sqrt(fan_in)) keeps a spread of ~0.2-0.6 in every
    layer; ``he`` (sqrt 2 larger, meant for ReLU) a little wider."""

    Config = InitConfig

    def build(self, cfg, ctx):
        self.inits = split_list(cfg.inits, "inits", valid=(*INITS, "big"))
        if cfg.depth < 2 or cfg.width < 1:
            raise GymlabError("bad value for 'depth' or 'width': depth must be at least 2 and width at least 1")
        self.init_stats = {}
        probe = slice(0, cfg.probe_size)
        for name in self.inits:
            torch.manual_seed(cfg.seed)
            net = MLP(64, (cfg.width,) * cfg.depth, 10, activation="tanh",
                      init=cfg.big_scale if name == "big" else name)
            net = ctx.prepare_model(net)
            self.init_stats[name] = layer_stats(_raw(net), self.data.xtr[probe], self.data.ytr[probe])
            self.models[name] = net
            self.opts[name] = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)

    def extra_eval(self):
        out = {}
        for name, s in self.init_stats.items():
            out[f"eval/{name}/act_std_first"] = s["act_std"][0]
            out[f"eval/{name}/act_std_last"] = s["act_std"][-1]
            out[f"eval/{name}/saturated_last"] = s["saturated"][-1]
            out[f"eval/{name}/grad_std_first"] = s["grad_std"][0]
            out[f"eval/{name}/grad_std_last"] = s["grad_std"][-1]
            out[f"eval/{name}/wgrad_first"] = s["wgrad_norm"][0]
        return out

    def media(self):
        depth = len(next(iter(self.init_stats.values()))["samples"])
        fig, axes = plt.subplots(1, len(self.inits), figsize=(3 * len(self.inits), 3), squeeze=False)
        bins = np.linspace(-1, 1, 41)
        for ax, name in zip(axes[0], self.inits):
            # one histogram per layer, drawn as a row of a heat map (rows: layers, columns: value bins)
            hist = np.stack([np.histogram(np.clip(h, -1, 1), bins=bins)[0] / max(len(h), 1)
                             for h in self.init_stats[name]["samples"]])
            ax.imshow(hist, aspect="auto", cmap="magma", extent=(-1, 1, depth + 0.5, 0.5))
            ax.set(title=name, xlabel="activation value", ylabel="layer" if ax is axes[0, 0] else None)
        fig.suptitle("histograms of the tanh activations per layer at initialisation")
        fig.tight_layout()
        fig2, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
        layers = np.arange(1, depth + 1)
        for name in self.inits:
            s = self.init_stats[name]
            a1.plot(layers, np.maximum(s["act_std"], 1e-30), "o-", label=name)
            a2.plot(layers, np.maximum(s["grad_std"], 1e-30), "o-", label=name)
        a1.set(yscale="log", xlabel="layer", ylabel="std of activations", title="forward")
        a2.set(yscale="log", xlabel="layer", ylabel="std of dL/dh", title="backward")
        a1.legend(fontsize=7)
        return {"histograms": fig, "std_per_layer": fig2, "loss": self.loss_figure("training from each init"),
                "summary": self.table()}


# ===================================================================================== 2. activations
@dataclass
class ActivationsConfig(RunConfig):
    steps: int = 300
    eval_every: int = 100
    depth: int = 5
    width: int = 128
    activations: str = "sigmoid,tanh,relu,leaky_relu,elu,maxout"
    lr: float = 0.01
    momentum: float = 0.9
    kick_lr: float = 3.0  # an extra ReLU net whose first update uses this (far too high) rate; 0 to skip
    batch_size: int = 64


@register("activations", data="digits", select="eval/val_accuracy",
          description="the same net with each activation: dead ReLUs, sigmoid saturation, zero-centred or not")
class Activations(_Race):
    """The same net (Xavier init for sigmoid, tanh and maxout, He for the ReLU family) trained with each activation.

    Measured at initialisation on the validation set: the mean activation (zero-centred or not), the
    ratio of the gradient's std at the first hidden layer to the last (a sigmoid passes at most 1/4
    of it back per layer), and the fraction of per-example weight-gradient rows of layer 2 whose
    entries all share one sign (always, when every input to the layer is positive: the zig-zag of
    non-zero-centred activations). After training: accuracy and the fraction of dead units (output
    exactly zero for every validation example). ``relu_kicked`` is the ReLU net whose first update
    is taken at ``kick_lr`` (one too-large step, as with a too-high learning rate) and the rest at
    ``lr``: the units it knocks out get no gradient and stay dead.
    """

    Config = ActivationsConfig

    def build(self, cfg, ctx):
        self.acts = split_list(cfg.activations, "activations", valid=ACTIVATIONS)
        variants = [(a, a, cfg.lr) for a in self.acts]
        if cfg.kick_lr > 0:
            variants.append(("relu_kicked", "relu", cfg.kick_lr))
        self.init_stats = {}
        d = self.data
        for name, act, lr in variants:
            torch.manual_seed(cfg.seed)
            init = "xavier" if act in ("sigmoid", "tanh", "maxout") else "he"
            net = ctx.prepare_model(MLP(64, (cfg.width,) * cfg.depth, 10, activation=act, init=init))
            raw = _raw(net)
            s = layer_stats(raw, d.xva, d.yva)
            s["same_sign_rows"] = self._same_sign_rows(raw, d.xva[:32], d.yva[:32])
            self.init_stats[name] = s
            self.models[name] = net
            self.opts[name] = torch.optim.SGD(net.parameters(), lr=lr, momentum=cfg.momentum)

    def after_step(self, name, model):
        if name == "relu_kicked" and self.step == 0:  # the kick is over: back to the normal rate
            for group in self.opts[name].param_groups:
                group["lr"] = self.cfg.lr

    @staticmethod
    def _same_sign_rows(model: MLP, x, y) -> float:
        """Fraction of rows of dL/dW (layer 2, one example at a time, rows with a non-zero gradient)
        whose entries all have one sign."""
        lin = model.layers[1].linear
        W = lin.weight if hasattr(lin, "weight") else lin.linear.weight
        fractions = []
        for i in range(len(y)):
            model.zero_grad()
            F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
            g = W.grad
            nz = g.abs().sum(1) > 0
            if nz.any():
                rows = g[nz]
                same = ((rows >= 0).all(1) | (rows <= 0).all(1)).float().mean().item()
                fractions.append(same)
        model.zero_grad()
        return float(np.mean(fractions)) if fractions else float("nan")

    @torch.no_grad()
    def _dead_fraction(self, model) -> float:
        raw = _raw(model)
        was = raw.training
        raw.eval()
        _, acts = raw(self.data.xva, return_activations=True)
        raw.train(was)
        dead = torch.cat([(a == 0).all(dim=0) for a in acts]).float()
        return dead.mean().item()

    def extra_eval(self):
        out = {}
        for name, s in self.init_stats.items():
            out[f"eval/{name}/act_mean"] = float(np.mean(s["act_mean"]))
            out[f"eval/{name}/grad_ratio"] = s["grad_std"][0] / max(s["grad_std"][-1], 1e-30)
            out[f"eval/{name}/same_sign_rows"] = s["same_sign_rows"]
            if not self.diverged[name]:
                out[f"eval/{name}/dead_fraction"] = self._dead_fraction(self.models[name])
        return out

    def media(self):
        names = list(self.init_stats)
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
        x = np.arange(len(names))
        axes[0].bar(x, [np.mean(self.init_stats[n]["act_mean"]) for n in names])
        axes[0].set(title="mean activation at init (0 = zero-centred)")
        axes[1].bar(x, [self.init_stats[n]["grad_std"][0] / max(self.init_stats[n]["grad_std"][-1], 1e-30)
                        for n in names], log=True)
        axes[1].set(title="grad std, first / last hidden layer")
        axes[2].bar(x, [self._dead_fraction(self.models[n]) if not self.diverged[n] else np.nan for n in names])
        axes[2].set(title="dead units after training")
        for ax in axes:
            ax.set_xticks(x, names, rotation=45, fontsize=7, ha="right")
        fig.tight_layout()
        return {"activation_stats": fig, "loss": self.loss_figure("the same net, each activation"),
                "summary": self.table()}


# ===================================================================================== 3. optimizers
@dataclass
class OptimizersConfig(RunConfig):
    steps: int = 300
    eval_every: int = 100
    depth: int = 2
    width: int = 100
    optimizers: str = "sgd,momentum,nesterov,adagrad,rmsprop,adam"
    lr_sgd: float = 0.01  # sgd, momentum and nesterov share it
    lr_adagrad: float = 0.01
    lr_rmsprop: float = 0.001
    lr_adam: float = 0.001
    momentum: float = 0.9
    schedule: str = "none"  # none | step | plateau (stepped every steps_per_epoch steps)
    step_size: int = 5  # epochs, for schedule=step
    batch_size: int = 64


@register("optimizers", data="digits", select="eval/val_accuracy",
          description="SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam racing from the same weights and batches")
class Optimizers(_Race):
    """The notes' update rules (vision.optim) on one two-layer ReLU net: identical initial weights,
    identical minibatches; the loss curves on one plot."""

    Config = OptimizersConfig

    def build(self, cfg, ctx):
        names = split_list(cfg.optimizers, "optimizers", valid=OPTIMIZERS)
        if cfg.schedule not in SCHEDULES:
            raise GymlabError(f"bad value for 'schedule': {cfg.schedule!r}; valid: {', '.join(SCHEDULES)}")
        torch.manual_seed(cfg.seed)
        base = MLP(64, (cfg.width,) * cfg.depth, 10, activation="relu", init="he")
        lrs = {"sgd": cfg.lr_sgd, "momentum": cfg.lr_sgd, "nesterov": cfg.lr_sgd, "adagrad": cfg.lr_adagrad,
               "rmsprop": cfg.lr_rmsprop, "adam": cfg.lr_adam}
        self.scheds = {}
        for name in names:
            net = ctx.prepare_model(copy.deepcopy(base))
            self.models[name] = net
            self.opts[name] = make_optimizer(net.parameters(), name, lr=lrs[name], momentum=cfg.momentum)
            self.scheds[name] = make_scheduler(self.opts[name], cfg.schedule, step_size=cfg.step_size)

    def after_step(self, name, model):
        sched = self.scheds[name]
        if sched is None or (self.step + 1) % self.steps_per_epoch:
            return
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(float(np.mean(self.history[name][-self.steps_per_epoch:] or [0.0])))
        else:
            sched.step()

    def extra_eval(self):
        return {f"eval/{n}/lr": o.param_groups[0]["lr"] for n, o in self.opts.items()}

    def extra_state(self):
        return {"scheds": {n: s.state_dict() for n, s in self.scheds.items() if s is not None}}

    def load_extra_state(self, state):
        for n, s in state.get("scheds", {}).items():
            self.scheds[n].load_state_dict(s)

    def media(self):
        return {"loss": self.loss_figure("optimizers on the same net and minibatches"), "summary": self.table()}


# ===================================================================================== 4. regularization
@dataclass
class RegularizationConfig(RunConfig):
    steps: int = 300
    eval_every: int = 100
    train_size: int = 300  # a small training set ...
    label_noise: float = 0.3  # ... with this fraction of wrong labels, which only an overfitting net learns
    depth: int = 2
    width: int = 256
    l2: str = "0,0.003,0.01,0.03,0.1"  # strengths of reg * sum(W^2) added to the loss; 0 is the baseline
    dropout: str = "0.5"  # dropout rates (0 or empty entries skipped)
    max_norm: float = 0.5  # a max-norm variant with this bound; 0 to skip
    dropconnect: float = 0.5  # a DropConnect variant with this drop rate; 0 to skip
    crop: int = 1  # a data-augmentation variant: random crops shifted up to this many pixels; 0 to skip
    lr: float = 0.02
    momentum: float = 0.9
    batch_size: int = 32


def _dropconnect_mlp(net: MLP, p: float) -> MLP:
    """Swap every hidden Linear of an MLP for a DropConnectLinear with the same weights."""
    for layer in net.layers:
        lin = layer.linear
        if not isinstance(lin, nn.Linear):
            raise GymlabError("DropConnect variant needs a non-maxout MLP")
        dc = DropConnectLinear(lin.in_features, lin.out_features, p=p)
        with torch.no_grad():
            dc.weight.copy_(lin.weight)
            dc.bias.copy_(lin.bias)
        layer.linear = dc
    return net


@register("regularization", data="digits", select="eval/val_accuracy",
          description="L2, dropout, max-norm, DropConnect, random crops against the train/validation gap (small, noisy train set)")
class Regularization(_Race):
    """One two-layer ReLU net per regulariser (L2 strengths, dropout, max-norm, DropConnect, random
    crops; vision.regularizers), from the same initial weights, on a small training set
    with some wrong labels (``label_noise``): an unregularised net memorises them (training accuracy 1,
    a big gap); a regularised one cannot, and generalises better. Digits is too easy to overfit
    visibly without the noise (try ``label_noise=0``: every gap is small).

    ``eval/<variant>/gap`` = train accuracy - validation accuracy, ``eval/<variant>/loss_gap`` =
    validation - training cross-entropy (data loss only; the finer signal on a data set as easy as
    digits, where accuracies saturate). The notes' reading: a big gap is overfitting (increase
    regularisation); low training accuracy is underfitting (increase capacity, or regularise less).
    The ``verdicts`` table applies it.
    """

    Config = RegularizationConfig

    def build(self, cfg, ctx):
        l2s = split_list(cfg.l2, "l2", cast=float)
        drops = [p for p in split_list(cfg.dropout, "dropout", cast=float) if p > 0] if str(cfg.dropout).strip() else []
        if any(not 0 <= p < 1 for p in drops) or not 0 <= cfg.dropconnect < 1:
            raise GymlabError("bad value for 'dropout' or 'dropconnect': rates must be in [0, 1)")
        if cfg.crop < 0:
            raise GymlabError(f"bad value for 'crop': {cfg.crop}; it must be 0 (off) or a number of pixels")
        # variant name -> its regulariser settings (everything else equal)
        self.reg: dict[str, dict] = {}
        for r in l2s:
            self.reg["none" if r == 0 else f"l2={r:g}"] = {"l2": r}
        for p in drops:
            self.reg[f"dropout={p:g}"] = {"dropout": p}
        if cfg.max_norm > 0:
            self.reg[f"max_norm={cfg.max_norm:g}"] = {"max_norm": cfg.max_norm}
        if cfg.dropconnect > 0:
            self.reg[f"dropconnect={cfg.dropconnect:g}"] = {"dropconnect": cfg.dropconnect}
        if cfg.crop > 0:
            self.reg[f"crop={cfg.crop}"] = {"crop": cfg.crop}
        for name, r in self.reg.items():
            torch.manual_seed(cfg.seed)
            net = MLP(64, (cfg.width,) * cfg.depth, 10, activation="relu", init="he", dropout=r.get("dropout", 0.0))
            if r.get("dropconnect"):
                net = _dropconnect_mlp(net, r["dropconnect"])
            if r.get("max_norm"):
                apply_max_norm_(net, r["max_norm"])
            net = ctx.prepare_model(net)
            self.models[name] = net
            self.opts[name] = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)

    def loss(self, name, model, x, y):
        r = self.reg[name]
        if r.get("crop"):
            x = self.data.augment(x, r["crop"])
        loss = F.cross_entropy(model(x), y)
        if r.get("l2"):
            loss = loss + r["l2"] * sum((w * w).sum() for w in weight_params(model))
        return loss

    def after_step(self, name, model):
        if self.reg[name].get("max_norm"):
            apply_max_norm_(model, self.reg[name]["max_norm"])

    def extra_eval(self):
        out = {}
        d = self.data
        for name, model in self.models.items():
            if not self.diverged[name]:
                out[f"eval/{name}/gap"] = accuracy(model, d.xtr, d.ytr) - accuracy(model, d.xva, d.yva)
                out[f"eval/{name}/loss_gap"] = data_loss(model, d.xva, d.yva) - data_loss(model, d.xtr, d.ytr)
        return out

    @staticmethod
    def verdict(train_acc: float, gap: float, label_noise: float = 0.0) -> str:
        """The notes' reading of the two accuracies (with noisy labels, a model that ignores the
        noise can reach only 1 - label_noise on the training set)."""
        if gap > 0.05:
            return "big gap: overfitting, increase regularisation"
        if train_acc < 0.9 * (1 - label_noise):
            return "low training accuracy, no gap: underfitting, increase capacity (or regularise less)"
        return "small gap: about right"

    def media(self):
        rows = self.table()
        for r in rows:
            if "gap" in r:
                r["verdict"] = self.verdict(r["train_accuracy"], r["gap"], self.cfg.label_noise)
        fig, ax = plt.subplots(figsize=(7, 3.2))
        names = [r["variant"] for r in rows if "gap" in r]
        x = np.arange(len(names))
        ax.bar(x - 0.2, [r["train_accuracy"] for r in rows if "gap" in r], 0.4, label="train")
        ax.bar(x + 0.2, [r["val_accuracy"] for r in rows if "gap" in r], 0.4, label="validation")
        ax.set_xticks(x, names, rotation=30, fontsize=7, ha="right")
        ax.set(ylim=(0, 1.01), ylabel="accuracy",
               title=f"train/validation gap ({len(self.data.ytr)} training images, {self.cfg.label_noise:.0%} wrong labels)")
        ax.legend(fontsize=7)
        return {"gap": fig, "loss": self.loss_figure("regularisers"), "verdicts": rows}


# ===================================================================================== 5. batchnorm
@dataclass
class BatchNormConfig(RunConfig):
    steps: int = 200
    eval_every: int = 50
    depth: int = 8
    width: int = 128
    activation: str = "tanh"
    inits: str = "xavier,small"  # each init with and without batch norm
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 64


@register("batchnorm", data="digits", select="eval/val_accuracy",
          description="the same deep net with and without batch normalisation, from a good and a bad init")
class BatchNorm(_Race):
    """A deep MLP with and without batch norm (normalise each unit over the batch, then gamma, beta),
    for each initialisation. The notes: BN makes training less dependent on the initial scale and
    trains deep nets faster. ``eval/<variant>/act_std_last`` is the spread of the last hidden layer
    at initialisation."""

    Config = BatchNormConfig

    def build(self, cfg, ctx):
        inits = split_list(cfg.inits, "inits", valid=INITS)
        if cfg.activation not in ACTIVATIONS:
            raise GymlabError(f"bad value for 'activation': {cfg.activation!r}; valid: {', '.join(ACTIVATIONS)}")
        self.init_stats = {}
        for init in inits:
            for bn in (False, True):
                name = f"{init}{'+bn' if bn else ''}"
                torch.manual_seed(cfg.seed)
                net = MLP(64, (cfg.width,) * cfg.depth, 10, activation=cfg.activation, init=init, batchnorm=bn)
                net = ctx.prepare_model(net)
                raw = _raw(net)
                snapshot = copy.deepcopy(raw.state_dict())  # the probe's BN statistics must not leak
                self.init_stats[name] = layer_stats(raw, self.data.xtr[:500], self.data.ytr[:500])
                raw.load_state_dict(snapshot)
                self.models[name] = net
                self.opts[name] = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)

    def extra_eval(self):
        out = {}
        for name, s in self.init_stats.items():
            out[f"eval/{name}/act_std_last"] = s["act_std"][-1]
            out[f"eval/{name}/grad_std_first"] = s["grad_std"][0]
        return out

    def media(self):
        fig, ax = plt.subplots(figsize=(5, 3))
        for name, s in self.init_stats.items():
            ax.plot(np.arange(1, len(s["act_std"]) + 1), np.maximum(s["act_std"], 1e-30), "o-", label=name)
        ax.set(yscale="log", xlabel="layer", ylabel="std of activations at init")
        ax.legend(fontsize=7)
        return {"act_std": fig, "loss": self.loss_figure("with and without batch norm"), "summary": self.table()}


# ===================================================================================== 6. hparam-search
@dataclass
class HparamConfig(RunConfig):
    steps: int = 30  # one trial per step; the run is done after n_coarse + n_fine trials
    eval_every: int = 10
    n_coarse: int = 20
    n_fine: int = 10
    coarse_epochs: float = 1.0
    fine_epochs: float = 8.0
    lr_min: float = 1e-5
    lr_max: float = 10.0
    reg_min: float = 1e-6
    reg_max: float = 1.0
    top_k: int = 4  # the fine stage searches the log-range spanned by the best top_k coarse trials
    margin: float = 2.0  # ... widened by this factor on each side
    width: int = 100
    batch_size: int = 64


def train_trial(lr: float, reg: float, epochs: float, seed: int = 0, data: Optional[Digits] = None,
                width: int = 100, batch_size: int = 64, device="cpu") -> dict:
    """Train the notes' two-layer net (ReLU, He init, SGD with momentum 0.9, loss + reg * sum W^2)
    on digits for ``epochs`` and return its validation/test/train accuracy and final loss.

    A trial whose loss becomes non-finite stops at once and reports ``diverged`` with chance-level
    accuracy. Usable on its own (a Ray Tune trainable calls it with sampled lr and reg)."""
    data = data if data is not None else digits(seed, device)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = MLP(64, (width,), 10, activation="relu", init="he").to(data.xtr.device)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    n = len(data.ytr)
    steps = max(1, round(epochs * math.ceil(n / batch_size)))
    perm, pos, loss = torch.randperm(n, generator=g), 0, torch.tensor(float("nan"))
    for _ in range(steps):
        if pos >= n:
            perm, pos = torch.randperm(n, generator=g), 0
        idx = perm[pos:pos + batch_size].to(data.xtr.device)
        pos += batch_size
        loss = F.cross_entropy(net(data.xtr[idx]), data.ytr[idx]) + reg * sum((w * w).sum() for w in weight_params(net))
        if not torch.isfinite(loss) or loss.item() > 1e6:
            return {"lr": lr, "reg": reg, "epochs": epochs, "val_accuracy": 0.1, "accuracy": 0.1,
                    "train_accuracy": 0.1, "loss": float("inf"), "diverged": True}
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"lr": lr, "reg": reg, "epochs": epochs, "val_accuracy": accuracy(net, data.xva, data.yva),
            "accuracy": accuracy(net, data.xte, data.yte), "train_accuracy": accuracy(net, data.xtr, data.ytr),
            "loss": loss.item(), "diverged": False}


@register("hparam-search", data="digits", select="eval/val_accuracy",
          description="coarse-to-fine random search over learning rate and L2 strength (one trial per step)")
class HparamSearch:
    """The notes' recipe: sample lr and reg log-uniformly over a wide range with short trials (a few
    epochs), then narrow the range to where the best trials were and run longer ones there.

    The fine range is the log-span of the top_k coarse trials, widened by ``margin`` on each side and
    kept inside the coarse range. Trial i draws from a generator seeded by (seed, i): resumable."""

    Config = HparamConfig

    def setup(self, cfg, ctx):
        if cfg.n_coarse < 1 or cfg.n_fine < 0 or cfg.top_k < 1:
            raise GymlabError("bad value for 'n_coarse', 'n_fine' or 'top_k': need n_coarse >= 1, n_fine >= 0, top_k >= 1")
        if not (0 < cfg.lr_min < cfg.lr_max and 0 < cfg.reg_min < cfg.reg_max):
            raise GymlabError("bad value for the ranges: need 0 < lr_min < lr_max and 0 < reg_min < reg_max")
        self.cfg, self.ctx = cfg, ctx
        self.data = digits(cfg.seed, ctx.device)
        self.trials: list[dict] = []
        self.fine_range: Optional[dict] = None
        self.done = False

    def sanity_model(self):
        """The runner's sanity=true checks on the trials' network (its lr probe: the decade to search around)."""
        from runners.sanity import SanityModel

        torch.manual_seed(self.cfg.seed)
        net = MLP(64, (self.cfg.width,), 10, activation="relu", init="he").to(self.data.xtr.device)
        return SanityModel(net, lambda m, x, y: F.cross_entropy(m(x), y), self.data.xtr, self.data.ytr, "softmax",
                           num_classes=10, optimizer=lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9))

    def _range(self, stage: str) -> dict:
        c = self.cfg
        if stage == "coarse":
            return {"lr": (c.lr_min, c.lr_max), "reg": (c.reg_min, c.reg_max)}
        if self.fine_range is None:
            best = sorted((t for t in self.trials if t["stage"] == "coarse"), key=lambda t: -t["val_accuracy"])[:c.top_k]
            rng = {}
            for key, (lo, hi) in (("lr", (c.lr_min, c.lr_max)), ("reg", (c.reg_min, c.reg_max))):
                vals = [t[key] for t in best]
                rng[key] = (max(lo, min(vals) / c.margin), min(hi, max(vals) * c.margin))
            self.fine_range = rng
        return self.fine_range

    def train_step(self):
        c = self.cfg
        i = len(self.trials)
        stage = "coarse" if i < c.n_coarse else "fine"
        rng = np.random.default_rng([c.seed, i])
        r = self._range(stage)
        lr = float(10 ** rng.uniform(*np.log10(r["lr"])))
        reg = float(10 ** rng.uniform(*np.log10(r["reg"])))
        epochs = c.coarse_epochs if stage == "coarse" else c.fine_epochs
        t = train_trial(lr, reg, epochs, seed=c.seed * 1000 + i, data=self.data, width=c.width,
                        batch_size=c.batch_size)
        t["stage"], t["trial"] = stage, i
        self.trials.append(t)
        if len(self.trials) >= c.n_coarse + c.n_fine:
            self.done = True
        return {"train/trial_val_accuracy": t["val_accuracy"], "train/trial_lr": lr, "train/trial_reg": reg,
                "train/trial_diverged": float(t["diverged"])}

    def evaluate(self):
        if not self.trials:
            return {}
        best = max(self.trials, key=lambda t: t["val_accuracy"])
        out = {"eval/accuracy": best["accuracy"], "eval/val_accuracy": best["val_accuracy"],
               "eval/best_lr": best["lr"], "eval/best_reg": best["reg"], "eval/trials": len(self.trials)}
        for stage in ("coarse", "fine"):
            vals = [t["val_accuracy"] for t in self.trials if t["stage"] == stage]
            if vals:
                out[f"eval/{stage}_best"] = max(vals)
                out[f"eval/{stage}_median"] = float(np.median(vals))
        if self.fine_range is not None:
            out.update({"eval/fine_lr_min": self.fine_range["lr"][0], "eval/fine_lr_max": self.fine_range["lr"][1],
                        "eval/fine_reg_min": self.fine_range["reg"][0], "eval/fine_reg_max": self.fine_range["reg"][1]})
        return out

    def media(self):
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for stage, marker in (("coarse", "o"), ("fine", "^")):
            ts = [t for t in self.trials if t["stage"] == stage]
            if ts:
                sc = ax.scatter([t["lr"] for t in ts], [t["reg"] for t in ts], c=[t["val_accuracy"] for t in ts],
                                marker=marker, vmin=0, vmax=1, cmap="viridis", label=stage, edgecolors="k")
        if self.trials:
            fig.colorbar(sc, ax=ax, label="validation accuracy")
        if self.fine_range is not None:
            (l0, l1), (r0, r1) = self.fine_range["lr"], self.fine_range["reg"]
            ax.add_patch(plt.Rectangle((l0, r0), l1 - l0, r1 - r0, fill=False, ls="--", color="r"))
        ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="L2 strength",
               title="coarse-to-fine random search")
        ax.legend(fontsize=7)
        rows = [{k: t[k] for k in ("trial", "stage", "lr", "reg", "epochs", "val_accuracy", "diverged")}
                for t in sorted(self.trials, key=lambda t: -t["val_accuracy"])]
        return {"search": fig, "trials": rows}

    def state_dict(self):
        return {"trials": copy.deepcopy(self.trials), "fine_range": self.fine_range, "done": self.done}

    def load_state_dict(self, state):
        self.trials = copy.deepcopy(state["trials"])
        self.fine_range = state["fine_range"]
        self.done = state["done"]
