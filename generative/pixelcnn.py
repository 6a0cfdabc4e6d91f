"""PixelCNN (van den Oord et al., 2016): a stack of masked convolutions with residual blocks and a
per-pixel softmax over the ``levels`` values of every sub-pixel.

    h_0 = MaskedConv_A^{7x7}(x)                              (never sees x_i at position i)
    h_{l+1} = h_l + Conv_B^{1x1}(ReLU(Conv_B^{3x3}(ReLU(Conv_B^{1x1}(ReLU(h_l))))))   (residual block)
    logits = Conv_B^{1x1}(ReLU(Conv_B^{1x1}(ReLU(h_L))))     -> (B, C, levels, H, W)
    log p(x) = sum_i log softmax(logits_i)[x_i]

Binary images use levels=2 (a two-way softmax, same as a Bernoulli), 8-bit images levels=256.
The stacked 3x3 masks leave a "blind spot" above-right of each pixel; ``gated_pixelcnn`` removes it.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from gymlab.generative.masked import MaskedConv2d, image_to_input, logits_view


class ResidualBlock(nn.Module):
    """The PixelRNN paper's residual block: 1x1 (h -> h/2), 3x3 masked, 1x1 (h/2 -> h), plus identity."""

    def __init__(self, hidden: int, data_channels: int = 1, kernel_size: int = 3):
        super().__init__()
        c = data_channels
        self.net = nn.Sequential(
            nn.ReLU(), MaskedConv2d(hidden, hidden // 2, 1, "B", c),
            nn.ReLU(), MaskedConv2d(hidden // 2, hidden // 2, kernel_size, "B", c),
            nn.ReLU(), MaskedConv2d(hidden // 2, hidden, 1, "B", c))

    def forward(self, x):
        return x + self.net(x)


class PixelCNN(nn.Module):
    def __init__(self, in_channels: int = 1, levels: int = 2, hidden: int = 64, n_blocks: int = 4,
                 first_kernel: int = 7, kernel_size: int = 3):
        super().__init__()
        if hidden % (2 * in_channels):
            raise ValueError(f"hidden ({hidden}) must be a multiple of 2 * in_channels ({2 * in_channels})")
        if levels < 2:
            raise ValueError(f"levels must be at least 2, got {levels}")
        c = self.data_channels = in_channels
        self.levels = levels
        self.first = MaskedConv2d(c, hidden, first_kernel, "A", c)
        self.blocks = nn.Sequential(*(ResidualBlock(hidden, c, kernel_size) for _ in range(n_blocks)))
        self.head = nn.Sequential(nn.ReLU(), MaskedConv2d(hidden, hidden, 1, "B", c),
                                  nn.ReLU(), MaskedConv2d(hidden, c * levels, 1, "B", c))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W) images in [0, 1] -> logits (B, C, levels, H, W). ``y`` is ignored."""
        h = self.blocks(self.first(image_to_input(x)))
        return logits_view(self.head(h), self.data_channels, self.levels)
