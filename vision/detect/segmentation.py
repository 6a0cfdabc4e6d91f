"""Semantic segmentation: a class for every pixel, by a fully convolutional encoder-decoder.

The encoder is stages of conv-BN-ReLU followed by 2x2 max pooling (the map shrinks, the channels
grow); the decoder brings the map back to full resolution, one stage per pooling, in one of three ways:

- ``fcn``: learnable upsampling with a transpose convolution (kernel 4, stride 2, padding 1): every
  input value scales a 4x4 kernel that is added into the output at twice its position, neighbours
  overlapping ("convolution with fractional stride");
- ``unpool``: max-unpooling (SegNet): each value goes back to the position in its 2x2 window that
  was the max when pooling ("remember which element was max"), zeros elsewhere; convolutions then
  fill the holes. No upsampling weights;
- ``unet``: transpose-convolution upsampling, then the encoder map of the same resolution is
  concatenated (a skip connection) so that fine detail lost by pooling comes back.

A 1x1 convolution at the end gives the (N, classes, H, W) scores; the loss is the per-pixel
cross-entropy. Metrics from the confusion matrix M (rows: truth, columns: prediction):

    pixel accuracy = trace(M) / sum(M),   IoU_k = M_kk / (sum_j M_kj + sum_j M_jk - M_kk),
    mIoU = mean of IoU_k over the classes present in the truth or the prediction.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gymlab.vision.nn.layers import conv_bn_relu

VARIANTS = ("fcn", "unpool", "unet")


def max_unpool2d(x: torch.Tensor, indices: torch.Tensor, output_size) -> torch.Tensor:
    """Inverse of 2D max pooling: put each value of ``x`` (N, C, h, w) back at the flat position
    ``indices`` (as returned by ``F.max_pool2d(..., return_indices=True)``) of an (H, W) map of zeros."""
    if indices.shape != x.shape:
        raise ValueError(f"indices must have the shape of x, got {tuple(indices.shape)} and {tuple(x.shape)}")
    n, c = x.shape[:2]
    h, w = output_size[-2:]
    out = x.new_zeros(n, c, h * w)
    out.scatter_(2, indices.flatten(2), x.flatten(2))
    return out.view(n, c, h, w)


def block(cin: int, cout: int, convs: int = 2) -> nn.Sequential:
    return nn.Sequential(*[conv_bn_relu(cin if i == 0 else cout, cout, 3) for i in range(convs)])


class SegNet(nn.Module):
    """Encoder-decoder segmenter; ``variant`` picks the decoder (see the module docstring)."""

    def __init__(self, num_classes: int = 11, in_channels: int = 1, widths=(16, 32, 64), variant: str = "unet",
                 convs: int = 2):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")
        self.variant = variant
        self.enc = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.enc.append(block(cin, w, convs))
            cin = w
        self.bottleneck = block(cin, cin, convs)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        rev = list(reversed(widths))
        for k, w in enumerate(rev):  # one decoder stage per pooling, back to full resolution
            if variant == "unpool":
                # unpooling needs the channels of the encoder stage whose indices it reuses
                out = rev[k + 1] if k + 1 < len(rev) else w
                self.up.append(nn.Identity())  # the unpooling has no weights
                self.dec.append(block(cin, out, convs))
                cin = out
            else:
                self.up.append(nn.ConvTranspose2d(cin, w, kernel_size=4, stride=2, padding=1))
                self.dec.append(block(2 * w if variant == "unet" else w, w, convs))
                cin = w
        self.classify = nn.Conv2d(cin, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips, pools = [], []
        for stage in self.enc:
            x = stage(x)
            skips.append(x)
            x, idx = F.max_pool2d(x, 2, return_indices=True)
            pools.append((idx, skips[-1].shape))
        x = self.bottleneck(x)
        for up, dec, skip, (idx, shape) in zip(self.up, self.dec, reversed(skips), reversed(pools)):
            if self.variant == "unpool":
                x = max_unpool2d(x, idx, shape)
            else:
                x = up(x)
                if self.variant == "unet":
                    x = torch.cat([x, skip], 1)
            x = dec(x)
        return self.classify(x)


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K, K) counts; row = true class, column = predicted class."""
    k = target.flatten().long() * num_classes + pred.flatten().long()
    return torch.bincount(k, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def pixel_accuracy(conf: torch.Tensor) -> float:
    return float(conf.diag().sum() / conf.sum().clamp(min=1))


def iou_per_class(conf: torch.Tensor) -> torch.Tensor:
    """IoU of each class; NaN for a class absent from both truth and prediction."""
    conf = conf.double()
    inter = conf.diag()
    union = conf.sum(0) + conf.sum(1) - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.full_like(inter, float("nan")))


def mean_iou(conf: torch.Tensor) -> float:
    iou = iou_per_class(conf)
    return float(iou[~iou.isnan()].mean())


@torch.no_grad()
def predict_masks(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """(N, H, W) predicted classes (argmax of the scores) on the CPU, in batches (eval mode is the caller's)."""
    device = next(model.parameters()).device
    return torch.cat([model(c.to(device)).argmax(1).cpu() for c in torch.split(images, batch_size)])


def scores(conf: torch.Tensor, prefix: str = "", names=None) -> dict:
    """``{prefix}miou``, ``{prefix}pixel_accuracy`` and ``{prefix}iou_<name>`` per class of a confusion matrix."""
    iou = iou_per_class(conf)
    names = names or [str(k) for k in range(len(iou))]
    return {f"{prefix}miou": mean_iou(conf), f"{prefix}pixel_accuracy": pixel_accuracy(conf),
            **{f"{prefix}iou_{n}": float(v) for n, v in zip(names, iou)}}


def draw_masks(images: torch.Tensor, truth: torch.Tensor, pred: torch.Tensor, captions=None, title: str = "predicted"):
    """A figure: images (N, 1, H, W) over their true and predicted class maps (N, H, W), one column each."""
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(3, n, figsize=(1.8 * n, 5.6), squeeze=False)
    for i in range(n):
        classes = dict(cmap="tab20", vmin=0, vmax=19)
        for r, (img, kw) in enumerate([(images[i, 0], dict(cmap="gray")), (truth[i], classes), (pred[i], classes)]):
            axes[r, i].imshow(img, interpolation="nearest", **kw)
            axes[r, i].axis("off")
        if captions is not None:
            axes[0, i].set_title(captions[i], fontsize=7)
    axes[1, 0].set_title("truth", fontsize=8, loc="left")
    axes[2, 0].set_title(title, fontsize=8, loc="left")
    fig.tight_layout()
    return fig
