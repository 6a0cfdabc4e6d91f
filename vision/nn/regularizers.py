"""More regularizers from the notes: the L2 penalty, max-norm constraints, DropConnect, stochastic
depth, fractional max pooling and data augmentation (random crops, flips, colour jitter).

L2:  loss + reg * sum W^2 over the weight matrices (not biases, not batch-norm parameters).

How much: the notes read the train/validation gap (``verdict``): a big gap is overfitting (regularise
more); low training accuracy without a gap is underfitting (more capacity, or regularise less).

Max-norm (Srebro et al.; used with dropout by Srivastava et al.)
    after every update, clamp each unit's incoming weight vector:  if ||w|| > c:  w <- w * c / ||w||
    (a row of a Linear weight, one filter of a Conv weight). Typical c: 3 or 4.

DropConnect (Wan et al. 2013)
    y = (M * W) x + b   with M_ij ~ Bernoulli(1 - p), a fresh mask per forward pass while training:
    it zeroes *weights* (connections), where dropout zeroes *activations* (whole units).
    Inverted scaling 1 / (1 - p) keeps E[y] unchanged, so evaluation uses W as it is.

Stochastic depth (Huang et al. 2016), for residual networks  y = x + f(x):
    training:  f is kept with probability s = 1 - p (b ~ Bernoulli(s)),  y = x + b f(x)
               -- a dropped block is the identity, and its branch is not even computed;
    test:      y = x + s f(x)  (every block runs, scaled by its survival probability).
    ``linear_decay(L, p_last)``: p_l = l / L * p_last for block l = 1..L (the paper's rule).

Fractional max pooling (Graham 2014)
    pool by a non-integer ratio (e.g. 1/sqrt 2) with pseudo-random pooling regions that change on
    every forward pass; torch.nn.FractionalMaxPool2d does it, ``fractional_max_pool`` builds one.

Data augmentation, on a batch (N, C, H, W) with its own torch.Generator (reproducible by seed)
    random crop:   zero-pad by ``pad`` pixels, cut an H x W window at a random offset per image;
    flip:          mirror left-right with probability 1/2 per image;
    colour jitter: per image, brightness (x * a), contrast ((x - mean) * c + mean) and saturation
                   (blend with the grey image by s), a, c, s ~ U[1 - j, 1 + j]; clamped to [0, 1].

Wiring a regularizer into a model (examples)::

    block.branch = StochasticDepth(nn.Sequential(conv, bn, relu, conv, bn), p=0.2)
    out = relu(shortcut(x) + block.branch(x))       # a dropped branch returns zeros

    net.fc = DropConnectLinear(256, 10, p=0.5)
    optimizer.step(); apply_max_norm_(net, c=3.0)   # after each update
    x = augment(x, pad=2, flip=True, jitter=0.2, generator=g)
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------------------------- L2, max-norm
def weight_params(model: nn.Module) -> list:
    """The weight matrices (not biases, not BN parameters): what L2 regularisation penalises."""
    return [p for p in model.parameters() if p.dim() > 1]


def l2_penalty(model: nn.Module) -> torch.Tensor:
    """sum W^2 over ``weight_params``."""
    return sum((w * w).sum() for w in weight_params(model))


@torch.no_grad()
def max_norm_(weight: torch.Tensor, c: float) -> torch.Tensor:
    """Clamp (in place) the L2 norm of every unit's incoming weights (row of dim 0) to at most c."""
    if c <= 0:
        raise ValueError(f"max-norm bound c must be positive, got {c}")
    flat = weight.view(weight.shape[0], -1) if weight.is_contiguous() else weight.reshape(weight.shape[0], -1)
    norms = flat.norm(dim=1, keepdim=True)
    scale = torch.clamp(c / norms.clamp(min=1e-12), max=1.0)
    flat.mul_(scale)
    if not weight.is_contiguous():
        weight.copy_(flat.view_as(weight))
    return weight


@torch.no_grad()
def apply_max_norm_(model: nn.Module, c: float) -> None:
    """Max-norm every Linear, Conv and DropConnectLinear weight of ``model`` (call after each step)."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, DropConnectLinear)):
            max_norm_(m.weight, c)


# ---------------------------------------------------------------------------------- DropConnect
class DropConnectLinear(nn.Module):
    """A Linear layer whose weights (not activations) are dropped with probability p while training.

    One Bernoulli mask over the weight matrix is drawn per forward pass (shared by the batch, the
    cheap variant; the paper draws one per example). ``last_mask`` holds the mask of the last
    training pass. Evaluation uses the full weights (inverted scaling keeps the expectation).
    """

    def __init__(self, in_features: int, out_features: int, p: float = 0.5, bias: bool = True):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"DropConnect probability p must be in [0, 1), got {p}")
        self.in_features, self.out_features, self.p = in_features, out_features, p
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.last_mask: Optional[torch.Tensor] = None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Linear's default

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return F.linear(x, self.weight, self.bias)
        mask = (torch.rand_like(self.weight) >= self.p).to(self.weight.dtype)
        self.last_mask = mask
        return F.linear(x, self.weight * mask / (1.0 - self.p), self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, p={self.p}"


def verdict(train_accuracy: float, gap: float, label_noise: float = 0.0, big_gap: float = 0.05) -> str:
    """The notes' reading of train accuracy and gap = train - validation accuracy (with a fraction
    ``label_noise`` of wrong labels, a model that ignores the noise reaches only 1 - label_noise)."""
    if gap > big_gap:
        return "big gap: overfitting, increase regularisation"
    if train_accuracy < 0.9 * (1 - label_noise):
        return "low training accuracy, no gap: underfitting, increase capacity (or regularise less)"
    return "small gap: about right"


def with_dropconnect(mlp: nn.Module, p: float) -> nn.Module:
    """Swap the Linear of every hidden layer of an MLP (vision.classify.mlp) for a DropConnectLinear
    with the same weights."""
    for layer in mlp.layers:
        lin = layer.linear
        if not isinstance(lin, nn.Linear):
            raise ValueError("DropConnect needs plain Linear hidden layers (not maxout)")
        layer.linear = DropConnectLinear(lin.in_features, lin.out_features, p=p)
        with torch.no_grad():
            layer.linear.weight.copy_(lin.weight)
            layer.linear.bias.copy_(lin.bias)
    return mlp


# ---------------------------------------------------------------------------------- stochastic depth
class StochasticDepth(nn.Module):
    """Wraps a residual branch f: returns b * f(x) while training (b ~ Bernoulli(1 - p)), (1 - p) f(x)
    at test time. The residual block adds the shortcut: y = shortcut(x) + StochasticDepth(f)(x).

    ``mode="batch"``: one coin for the whole batch (the paper; a dropped branch is not computed).
    ``mode="row"``: one coin per example.
    """

    def __init__(self, branch: nn.Module, p: float = 0.2, mode: str = "batch"):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"stochastic depth drop probability p must be in [0, 1), got {p}")
        if mode not in ("batch", "row"):
            raise ValueError(f"stochastic depth mode must be 'batch' or 'row', got {mode!r}")
        self.branch, self.p, self.mode = branch, p, mode
        self.last_kept: Optional[torch.Tensor] = None  # the coin(s) of the last training pass
        self._shapes: dict = {}  # input shape -> f(x) shape (per example), to return zeros uncomputed

    @property
    def survival(self) -> float:
        return 1.0 - self.p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self._branch(x) * self.survival if self.p > 0 else self._branch(x)
        if self.mode == "batch":
            keep = bool(torch.rand(()) >= self.p)
            self.last_kept = torch.tensor(keep)
            if keep:
                return self._branch(x)
            shape = self._shapes.get(tuple(x.shape[1:]))
            if shape is None:  # never seen this input: run the branch once to learn f(x)'s shape
                return self._branch(x) * 0.0
            return x.new_zeros((x.shape[0], *shape))
        keep = torch.rand(x.shape[0]) >= self.p
        self.last_kept = keep
        out = self._branch(x)
        return out * keep.to(out.device, out.dtype).view(-1, *([1] * (out.dim() - 1)))

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        self._shapes[tuple(x.shape[1:])] = tuple(out.shape[1:])
        return out

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


def linear_decay(num_blocks: int, p_last: float = 0.5) -> list[float]:
    """Drop probabilities p_l = l / L * p_last for blocks l = 1..L (the input block is kept most)."""
    if num_blocks < 1 or not 0.0 <= p_last < 1.0:
        raise ValueError(f"need num_blocks >= 1 and 0 <= p_last < 1, got {num_blocks}, {p_last}")
    return [l / num_blocks * p_last for l in range(1, num_blocks + 1)]


# ---------------------------------------------------------------------------------- fractional max pooling
def fractional_max_pool(ratio: float = 1 / math.sqrt(2), kernel_size: int = 2) -> nn.FractionalMaxPool2d:
    """Fractional max pooling that shrinks each side by ``ratio`` (0 < ratio < 1), e.g. 1/sqrt(2)."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"fractional max pooling ratio must be in (0, 1), got {ratio}")
    return nn.FractionalMaxPool2d(kernel_size, output_ratio=(ratio, ratio))


# ---------------------------------------------------------------------------------- data augmentation
def random_crop(x: torch.Tensor, pad: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Zero-pad by ``pad`` and cut an H x W window at a random offset per image."""
    if pad <= 0:
        return x
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None])  # (N, H)
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None])  # (N, W)
    idx_n = torch.arange(n, device=x.device)[:, None, None, None]
    idx_c = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]


def random_flip(x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def color_jitter(x: torch.Tensor, strength: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Random brightness, contrast and (for 3 channels) saturation factors in [1 - s, 1 + s] per image;
    inputs and outputs in [0, 1]."""
    if strength <= 0:
        return x
    n = x.shape[0]

    def factor():
        return (1 + strength * (2 * torch.rand(n, generator=generator) - 1)).to(x.device, x.dtype).view(-1, 1, 1, 1)

    x = x * factor()  # brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factor() + mean  # contrast
    if x.shape[1] == 3:  # saturation: blend with the luma image
        grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
        x = (x - grey) * factor() + grey
    return x.clamp(0.0, 1.0)


def augment(x: torch.Tensor, pad: int = 0, flip: bool = False, jitter: float = 0.0,
            generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Random crop (zero-pad ``pad``), left-right flip and colour jitter of a batch (N, C, H, W)."""
    if x.dim() != 4:
        raise ValueError(f"augment expects a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    x = random_crop(x, pad, generator)
    if flip:
        x = random_flip(x, generator)
    return color_jitter(x, jitter, generator)


class Augment(nn.Module):
    """``augment`` as a module: active in training mode, the identity in eval mode."""

    def __init__(self, pad: int = 0, flip: bool = False, jitter: float = 0.0,
                 generator: Optional[torch.Generator] = None):
        super().__init__()
        self.pad, self.flip, self.jitter, self.generator = pad, flip, jitter, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        return augment(x, self.pad, self.flip, self.jitter, self.generator)

    def extra_repr(self) -> str:
        return f"pad={self.pad}, flip={self.flip}, jitter={self.jitter}"
