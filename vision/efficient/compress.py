"""Efficient inference: magnitude pruning, weight sharing by k-means, and post-training int8 quantization.

- Magnitude pruning (Han et al. 2015): zero the fraction ``s`` of conv/linear weights with the
  smallest |w| (one threshold for the network, or one per layer; a fixed 0/1 mask), then retrain the survivors with the mask held (the
  dead weights stay zero). Pruning gradually (50%, then 80%, ...) with retraining in between keeps
  the accuracy; pruning at once without retraining loses it.
- Weight sharing (Deep Compression): cluster a layer's weights into k = 2^bits values by k-means
  (Lloyd's algorithm, centroids initialised linearly between min and max); store a k-entry codebook and a ``bits``-bit
  index per weight. Fine-tuning moves the centroids: the gradient of centroid c is the sum of the
  gradients of the weights that share it, dL/dc = Σ_{i: idx_i = c} dL/dw_i.
- Post-training int8 quantization with ``torch.ao.quantization`` (eager mode): fuse conv-BN-ReLU,
  insert observers, run calibration batches to record activation ranges, convert to int8 kernels
  (x ≈ scale (q - zero_point), per-channel for weights).

Sizes are the bytes of the serialized ``state_dict`` for dense and int8 models, and the storage a
sparse or shared format would need otherwise (see ``sparse_bytes`` and ``shared_bytes``).
"""
from __future__ import annotations

import copy
import io
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import DeQuantStub, QuantStub, convert, fuse_modules, get_default_qconfig, prepare


class DigitNet(nn.Module):
    """A small CNN for 8x8 digits written so that eager-mode quantization can fuse and convert it.

    ``image_size`` > 8 (MNIST's 28) pools the conv features by 4 instead of 2 before the hidden layer
    (7x7 cells at 28x28 instead of 4x4 at 8x8); ``in_channels`` for colour images.
    """

    def __init__(self, width: int = 32, hidden: int = 128, num_classes: int = 10, image_size: int = 8,
                 in_channels: int = 1):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1, self.relu1 = nn.BatchNorm2d(width), nn.ReLU()
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1, bias=False)
        self.bn2, self.relu2 = nn.BatchNorm2d(2 * width), nn.ReLU()
        pool = 2 if image_size <= 8 else 4
        self.pool, self.flatten = nn.MaxPool2d(pool), nn.Flatten()
        self.fc1, self.relu3 = nn.Linear(2 * width * (image_size // pool) ** 2, hidden), nn.ReLU()
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.quant(x)
        x = self.pool(self.relu2(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))))
        x = self.fc2(self.relu3(self.fc1(self.flatten(x))))
        return self.dequant(x)

    def fuse(self) -> "DigitNet":
        """Fold BN into the convs and merge the ReLUs (eval mode, in place)."""
        return fuse_modules(self, [["conv1", "bn1", "relu1"], ["conv2", "bn2", "relu2"], ["fc1", "relu3"]], inplace=True)


def prunable(model: nn.Module) -> dict:
    """name -> weight tensor of every conv and linear layer."""
    return {f"{n}.weight": m.weight for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


@torch.no_grad()
def schedule_phase(step: int, dense_steps: int, levels, retrain_steps: int) -> tuple:
    """The phase of minibatch ``step`` (0-based) of gradual pruning: ("dense", None) for ``dense_steps``,
    then ("prune", s) for ``retrain_steps`` at each sparsity s of ``levels`` (increasing), then ("share", None)."""
    k = (step - dense_steps) // retrain_steps
    return ("dense", None) if k < 0 else ("prune", levels[k]) if k < len(levels) else ("share", None)


def magnitude_masks(model: nn.Module, sparsity: float, scope: str = "global") -> dict:
    """Masks that zero the ``sparsity`` fraction of weights of smallest magnitude.

    ``scope="global"``: one threshold over all conv/linear weights (large, redundant layers lose
    more; the small first conv keeps most of its few weights); ``"layer"``: the same fraction in each layer.
    """
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if scope not in ("global", "layer"):
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    weights = prunable(model)
    if scope == "global":
        allw = torch.cat([w.abs().flatten() for w in weights.values()])
        k = int(round(sparsity * allw.numel()))
        threshold = allw.kthvalue(k).values if k > 0 else torch.tensor(-1.0)
        return {name: (w.abs() > threshold).to(w.dtype) for name, w in weights.items()}
    masks = {}
    for name, w in weights.items():
        k = int(round(sparsity * w.numel()))
        threshold = w.abs().flatten().kthvalue(k).values if k > 0 else torch.tensor(-1.0)
        masks[name] = (w.abs() > threshold).to(w.dtype)
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict) -> None:
    weights = prunable(model)
    for name, mask in masks.items():
        weights[name].mul_(mask)


def sparsity(model: nn.Module) -> float:
    """Fraction of zero weights over all conv and linear layers."""
    ws = list(prunable(model).values())
    return float(sum((w == 0).sum() for w in ws) / sum(w.numel() for w in ws))


def kmeans_1d(values: torch.Tensor, k: int, iters: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means on scalars with centroids initialised linearly between min and max (the
    Deep Compression choice: it keeps centroids for the rare large weights). Returns (centroids, labels)."""
    values = values.flatten().double()
    centroids = torch.linspace(float(values.min()), float(values.max()), k, dtype=torch.float64)
    for _ in range(iters):
        labels = (values[:, None] - centroids[None]).abs().argmin(1)  # assign to the nearest centroid
        sums = torch.zeros(k, dtype=torch.float64).index_add_(0, labels, values)
        counts = torch.bincount(labels, minlength=k)
        new = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)  # move to the mean (empty: stay)
        if torch.allclose(new, centroids, rtol=0, atol=1e-12):
            break
        centroids = new
    labels = (values[:, None] - centroids[None]).abs().argmin(1)
    return centroids, labels


@torch.no_grad()
def kmeans_share(model: nn.Module, bits: int = 4) -> dict:
    """Replace each layer's nonzero weights by the nearest of 2^bits k-means centroids (zeros stay zero).

    Returns name -> (centroids (k,), index tensor shaped like the weight, -1 where the weight is zero).
    """
    shared = {}
    for name, w in prunable(model).items():
        nz = w != 0
        centroids, labels = kmeans_1d(w[nz], min(2 ** bits, int(nz.sum())))
        centroids = centroids.to(w.dtype)
        idx = torch.full(w.shape, -1, dtype=torch.int64)
        idx[nz] = labels
        w.copy_(torch.where(nz, centroids[idx.clamp(min=0)], torch.zeros_like(w)))
        shared[name] = (centroids, idx)
    return shared


@torch.no_grad()
def centroid_step(model: nn.Module, shared: dict, lr: float) -> None:
    """One SGD step on the centroids after ``loss.backward()``: dL/dc = Σ of the gradients of its weights."""
    weights = prunable(model)
    for name, (centroids, idx) in shared.items():
        w = weights[name]
        live = idx >= 0
        grad = torch.zeros_like(centroids).index_add_(0, idx[live], w.grad[live])
        centroids -= lr * grad
        w.copy_(torch.where(live, centroids[idx.clamp(min=0)], torch.zeros_like(w)))


def quantize_int8(model: nn.Module, calibration: torch.Tensor, backend: str = "x86") -> nn.Module:
    """A post-training int8 copy of a ``DigitNet``-style model (QuantStub/DeQuantStub, ``fuse()``)."""
    if backend not in torch.backends.quantized.supported_engines:
        raise ValueError(f"quantized backend {backend!r} not available; valid: {torch.backends.quantized.supported_engines}")
    torch.backends.quantized.engine = backend
    q = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():  # torch.ao.quantization's eager mode warns that it is being deprecated
        warnings.simplefilter("ignore")
        q.fuse()
        q.qconfig = get_default_qconfig(backend)
        prepare(q, inplace=True)
        with torch.no_grad():
            for chunk in torch.split(calibration.cpu(), 256):  # observers record activation ranges
                q(chunk)
        convert(q, inplace=True)
    return q


def model_bytes(model: nn.Module) -> int:
    """Bytes of the serialized state_dict."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def _other_params(model: nn.Module) -> int:
    names = set(prunable(model))
    return sum(p.numel() for n, p in model.state_dict().items() if n not in names and p.is_floating_point())


def sparse_bytes(model: nn.Module, index_bits: int = 8) -> int:
    """Storage of the pruned layers as (fp32 value, ``index_bits`` relative index) per nonzero weight
    (Deep Compression's format), plus fp32 for everything else."""
    nnz = sum(int((w != 0).sum()) for w in prunable(model).values())
    return nnz * 4 + (nnz * index_bits + 7) // 8 + 4 * _other_params(model)


def shared_bytes(model: nn.Module, shared: dict, bits: int, index_bits: int = 8) -> int:
    """Pruned and shared: per nonzero weight a ``bits``-bit cluster index and a relative position, a
    k-entry fp32 codebook per layer, fp32 for everything else."""
    nnz = sum(int((idx >= 0).sum()) for _, idx in shared.values())
    books = sum(len(c) for c, _ in shared.values())
    return (nnz * (bits + index_bits) + 7) // 8 + 4 * books + 4 * _other_params(model)


@torch.no_grad()
def latency_ms(model: nn.Module, x: torch.Tensor, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall time of one forward pass over ``x`` on CPU, in milliseconds."""
    model = model.eval()
    x = x.cpu()
    for _ in range(warmup):
        model(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))
