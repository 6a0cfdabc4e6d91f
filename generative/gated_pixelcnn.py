"""Gated PixelCNN (van den Oord et al., 2016, "Conditional Image Generation with PixelCNN Decoders").

Two stacks remove PixelCNN's blind spot:
- the vertical stack sees every pixel of the rows above (a (k//2+1) x k kernel over rows <= i,
  whose output is shifted down one row before anyone at row i may use it);
- the horizontal stack sees the pixels left of i on the current row (a 1 x k masked kernel),
  plus the shifted vertical stack through a 1x1 link.
Each layer uses the gated activation, with an optional class embedding h_y added to both halves:

    y = tanh(W_f * x + V_f h_y) (.) sigmoid(W_g * x + V_g h_y)

and the horizontal stack is residual: h_out = h_in + Conv^{1x1}(y_h) (not in the first layer).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gymlab.generative.masked import MaskedConv2d, image_to_input, logits_view, split_groups


def shift_down(x: torch.Tensor) -> torch.Tensor:
    """Move every row one step down (row 0 becomes zeros): row i then only holds rows < i."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def gate(x: torch.Tensor, data_channels: int = 1) -> torch.Tensor:
    """tanh(first half) * sigmoid(second half), halves split group by group."""
    a, b = split_groups(x, 2, data_channels)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    def __init__(self, hidden: int, kernel_size: int, first: bool, data_channels: int = 1,
                 num_classes: int | None = None, in_channels: int | None = None):
        super().__init__()
        c, k = data_channels, kernel_size
        cin = in_channels if first else hidden
        self.first, self.k, self.c = first, k, c
        self.v_conv = nn.Conv2d(cin, 2 * hidden, (k // 2 + 1, k))  # padded by hand: rows i-k//2 .. i
        self.v_to_h = nn.Conv2d(2 * hidden, 2 * hidden, 1)
        self.h_conv = MaskedConv2d(cin, 2 * hidden, (1, k), "A" if first else "B", c)
        self.h_out = MaskedConv2d(hidden, hidden, 1, "B", c)
        self.cond = nn.Embedding(num_classes, 2 * hidden) if num_classes else None

    def forward(self, v, h, y=None):
        k = self.k
        v_pre = self.v_conv(F.pad(v, (k // 2, k // 2, k // 2, 0)))
        h_pre = self.h_conv(h) + self.v_to_h(shift_down(v_pre))
        if self.cond is not None:
            if y is None:
                raise ValueError("this model is class-conditional: pass the labels y")
            e = self.cond(y)[:, :, None, None]
            v_pre, h_pre = v_pre + e, h_pre + e
        v_out = gate(v_pre, self.c)
        h_out = self.h_out(gate(h_pre, self.c))
        return v_out, (h_out if self.first else h + h_out)


class GatedPixelCNN(nn.Module):
    def __init__(self, in_channels: int = 1, levels: int = 2, hidden: int = 64, n_layers: int = 5,
                 kernel_size: int = 5, num_classes: int | None = None):
        super().__init__()
        if hidden % in_channels:
            raise ValueError(f"hidden ({hidden}) must be a multiple of in_channels ({in_channels})")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        c = self.data_channels = in_channels
        self.levels, self.num_classes = levels, num_classes
        self.layers = nn.ModuleList(
            GatedLayer(hidden, kernel_size, i == 0, c, num_classes, in_channels) for i in range(n_layers))
        self.head = nn.Sequential(nn.ReLU(), MaskedConv2d(hidden, hidden, 1, "B", c),
                                  nn.ReLU(), MaskedConv2d(hidden, c * levels, 1, "B", c))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W) images in [0, 1], y: (B,) labels when conditional -> (B, C, levels, H, W)."""
        v = h = image_to_input(x)
        for layer in self.layers:
            v, h = layer(v, h, y)
        return logits_view(self.head(h), self.data_channels, self.levels)
