"""Transfer learning: reuse a network trained on one task for another with little labelled data.

A backbone is pretrained on a source task (here the 8x8 digits, resized to the scales they have in
the scenes and shifted about a small canvas). For the target task the classifier head is replaced, and then either

- ``frozen``: the backbone is a fixed feature extractor; only the new head is trained (a linear
  classifier on its features);
- ``finetune``: everything is trained, starting from the pretrained weights (usually a smaller
  learning rate for the backbone than for the new head);
- ``scratch``: the same architecture from a random initialisation.

With few labels the pretrained features win; as labelled data grows, training from scratch catches up.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

METHODS = ("frozen", "finetune", "scratch")


class PooledClassifier(nn.Module):
    """A backbone's feature map, global max pooling (the object may be anywhere, at any input size),
    and a linear head."""

    def __init__(self, backbone: nn.Module, num_classes: int = 10):
        super().__init__()
        if hasattr(backbone, "head"):
            backbone.head = nn.Identity()  # replaced by global max pooling and ``fc``
        self.backbone = backbone
        self.fc = nn.Linear(backbone.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.features(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).amax(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))


def place_digits(x: torch.Tensor, copies: int = 4, canvas: int = 20, min_px: int = 10, max_px: int = 16,
                 seed: int = 0) -> torch.Tensor:
    """``copies`` versions of each 8x8 digit (M, 1, 8, 8), each resized to a random size in
    [min_px, max_px] (bilinear) and pasted at a random place on a ``canvas``: (copies M, 1, canvas, canvas),
    in the order copy-major (labels: ``y.repeat(copies)``)."""
    g = torch.Generator().manual_seed(seed)
    sizes = {s: F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False).clamp(0, 1)
             for s in range(min_px, max_px + 1)}
    out = torch.zeros(copies * len(x), 1, canvas, canvas)
    for c in range(copies):
        px = torch.randint(min_px, max_px + 1, (len(x),), generator=g)
        for i in range(len(x)):
            s = int(px[i])
            r, q = torch.randint(0, canvas - s + 1, (2,), generator=g).tolist()
            out[c * len(x) + i, :, r:r + s, q:q + s] = sizes[s][i]
    return out


def for_target(pretrained: PooledClassifier, method: str, num_classes: int, make_fresh) -> PooledClassifier:
    """The target model of ``method``: a copy of the pretrained backbone (or ``make_fresh()`` for
    scratch) with a new head; for ``frozen`` the backbone's parameters do not train and it stays in eval mode."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    backbone = make_fresh() if method == "scratch" else copy.deepcopy(pretrained.backbone)
    model = PooledClassifier(backbone, num_classes)
    if method == "frozen":
        for p in backbone.parameters():
            p.requires_grad_(False)
    return model


def param_groups(model: PooledClassifier, method: str, lr: float, backbone_lr_scale: float = 0.1) -> list:
    """Optimizer groups: the head at ``lr``; the backbone at ``lr * backbone_lr_scale`` when fine-tuning,
    ``lr`` from scratch, not at all when frozen."""
    groups = [{"params": model.fc.parameters(), "lr": lr}]
    if method == "finetune":
        groups.append({"params": model.backbone.parameters(), "lr": lr * backbone_lr_scale})
    elif method == "scratch":
        groups.append({"params": model.backbone.parameters(), "lr": lr})
    return groups


def train_mode(model: PooledClassifier, method: str) -> None:
    """model.train(), but a frozen backbone keeps its BatchNorm statistics (eval mode)."""
    model.train()
    if method == "frozen":
        model.backbone.eval()


def small_backbone(name: str, width: int = 16, size: int = 20, num_classes: int = 10) -> nn.Module:
    """A backbone of vision.nn.backbones for 1 x size x size images; vgg gets three small stages of
    ``width``, ``2 width``, ``4 width`` channels (1, 1 and 2 convs)."""
    from gymlab.vision.nn.backbones import build

    kw = dict(widths=(width, 2 * width, 4 * width), convs=(1, 1, 2)) if name == "vgg" else {}
    return build(name, 1, size, num_classes, **kw)


def digits_to_scenes(seed: int = 0, copies: int = 4, n_target: int = 1000, n_test: int = 500) -> dict:
    """The two tasks, as tensors: ``source`` (placed training digits, ``copies`` each, and their labels),
    ``source_test`` (one placed copy of each test digit), ``target`` and ``target_test`` (one-digit 32x32
    scenes of vision.data.scenes and the digit's label)."""
    from gymlab.vision.data.datasets import load_digits_split
    from gymlab.vision.data.scenes import load_scenes

    digits = load_digits_split(seed)
    scenes = load_scenes(seed, n_target, n_test, min_digits=1, max_digits=1)
    label = lambda s: torch.stack([lab[0] for lab in s.labels])  # noqa: E731
    return {"source": (place_digits(digits.train.x, copies, seed=seed), digits.train.y.repeat(copies)),
            "source_test": (place_digits(digits.test.x, 1, seed=seed + 1), digits.test.y),
            "target": (scenes.train.images, label(scenes.train)), "target_test": (scenes.test.images, label(scenes.test))}
