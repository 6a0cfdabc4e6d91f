"""Convolutional encoders that turn image observations into feature vectors (for pixel-based agents).

An encoder maps a batch of frames x (N, C, H, W) or (N, H, W, C), uint8 in [0, 255] or float in
[0, 1], to features z = f(x) in R^(N, features_dim). Two sizes:

- ``ConvEncoder``: 3x3 convolutions (two by default) (stride 2 where the frame is large enough) and a linear
  layer: for the small frames of ``envs.pixels`` (say 16x16 to 64x64), cheap on a CPU.
- ``NatureCNN``: the encoder of Mnih et al. (2015), 8x8/4, 4x4/2, 3x3/1 convolutions and a 512-unit
  linear layer, for 84x84 Atari-style frames.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvEncoder", "NatureCNN", "to_chw_float"]


def to_chw_float(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """(N, H, W, C) or (N, C, H, W) frames -> float (N, C, H, W); uint8 is scaled to [0, 1]."""
    if x.dtype == torch.uint8:
        x = x.float().div_(255.0)
    else:
        x = x.float()
    if channels_last:
        x = x.permute(0, 3, 1, 2)
    return x


class ConvEncoder(nn.Module):
    """Small conv encoder: [conv3x3 -> ReLU] per entry of ``channels`` -> flatten -> linear -> ReLU.

    ``obs_shape`` is one frame's shape; ``channels_last`` says whether it is (H, W, C) (gymnasium's
    convention for rendered frames) or (C, H, W).
    """

    def __init__(self, obs_shape, features_dim: int = 128, channels: tuple = (16, 32), channels_last: bool = True):
        super().__init__()
        if len(obs_shape) != 3:
            raise ValueError(f"ConvEncoder takes frames of shape (H, W, C) or (C, H, W); got {tuple(obs_shape)}")
        self.channels_last = channels_last
        c, h, w = (obs_shape[2], obs_shape[0], obs_shape[1]) if channels_last else tuple(obs_shape)
        layers, in_c = [], c
        for out_c in channels:
            stride = 2 if min(h, w) >= 8 else 1  # halve large frames, keep tiny ones whole
            layers += [nn.Conv2d(in_c, out_c, 3, stride=stride, padding=1), nn.ReLU()]
            if stride == 2:
                h, w = (h + 1) // 2, (w + 1) // 2
            in_c = out_c
        self.conv = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            n = self.conv(torch.zeros(1, c, *(obs_shape[:2] if channels_last else obs_shape[1:]))).shape[1]
        self.linear = nn.Sequential(nn.Linear(n, features_dim), nn.ReLU())
        self.features_dim = features_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.conv(to_chw_float(x, self.channels_last)))


class NatureCNN(nn.Module):
    """The DQN encoder of Mnih et al. (2015) for (4, 84, 84)-like frames."""

    def __init__(self, obs_shape, features_dim: int = 512, channels_last: bool = False):
        super().__init__()
        self.channels_last = channels_last
        c = obs_shape[2] if channels_last else obs_shape[0]
        hw = obs_shape[:2] if channels_last else obs_shape[1:]
        self.conv = nn.Sequential(
            nn.Conv2d(c, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(), nn.Flatten())
        with torch.no_grad():
            n = self.conv(torch.zeros(1, c, *hw)).shape[1]
        self.linear = nn.Sequential(nn.Linear(n, features_dim), nn.ReLU())
        self.features_dim = features_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.conv(to_chw_float(x, self.channels_last)))
