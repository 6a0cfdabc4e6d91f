"""Masked convolutions: the building block of PixelCNN (and the input-to-state maps of PixelRNN).

An autoregressive image model factorises p(x) = prod_i p(x_i | x_1..x_{i-1}) in raster order (row by
row, left to right; within a pixel, channel by channel: R, then G given R, then B given R and G).
A convolution respects that order when its kernel is zeroed at every "future" position:

    mask[., ., r, c] = 0   for rows r below the centre, and for c right of the centre on the centre row
    mask A (first layer): the centre pixel connects only input channel groups strictly before the
                          output's group (for one channel: the centre is cut, x_i never sees itself)
    mask B (later layers): the centre pixel also connects the same group (a feature at i may use the
                          features at i, which have only seen x_<i)

With ``data_channels = C`` the feature channels are split into C contiguous groups, group g
standing for data channel g (so both in_channels and out_channels must be multiples of C).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def channel_group(index: torch.Tensor, channels: int, data_channels: int) -> torch.Tensor:
    """The data channel that feature channel ``index`` (of ``channels``) stands for: contiguous blocks."""
    return index * data_channels // channels


def causal_mask(out_channels: int, in_channels: int, kernel_size: tuple[int, int], mask_type: str,
                data_channels: int = 1) -> torch.Tensor:
    """The (out, in, kh, kw) 0/1 mask of a type-'A' or type-'B' masked convolution."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    if in_channels % data_channels or out_channels % data_channels:
        raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must be multiples of "
                         f"data_channels ({data_channels})")
    kh, kw = kernel_size
    ch, cw = kh // 2, kw // 2
    mask = torch.ones(out_channels, in_channels, kh, kw)
    mask[:, :, ch + 1:, :] = 0
    mask[:, :, ch, cw + 1:] = 0
    g_out = channel_group(torch.arange(out_channels), out_channels, data_channels)[:, None]
    g_in = channel_group(torch.arange(in_channels), in_channels, data_channels)[None, :]
    allowed = g_in < g_out if mask_type == "A" else g_in <= g_out
    mask[:, :, ch, cw] = allowed.float()
    return mask


class MaskedConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose weight is multiplied by a causal mask (type 'A' or 'B') at every forward.

    Padding defaults to 'same' (kernel // 2), so the output has the input's height and width.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, mask_type: str = "B",
                 data_channels: int = 1, bias: bool = True):
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {(kh, kw)}")
        super().__init__(in_channels, out_channels, (kh, kw), padding=(kh // 2, kw // 2), bias=bias)
        self.mask_type, self.data_channels = mask_type, data_channels
        self.register_buffer("mask", causal_mask(out_channels, in_channels, (kh, kw), mask_type, data_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", mask_type={self.mask_type}, data_channels={self.data_channels}"


def split_groups(x: torch.Tensor, n: int, data_channels: int = 1) -> tuple[torch.Tensor, ...]:
    """Split (B, n*m, H, W) features into n chunks of m channels, each keeping the group layout.

    Use it for gates (tanh/sigmoid halves, the four LSTM gates) so that a gate of data channel g
    only combines features of group g.
    """
    b, k, h, w = x.shape
    if k % (n * data_channels):
        raise ValueError(f"{k} channels do not split into {n} chunks of {data_channels} groups")
    parts = x.view(b, data_channels, n, k // (n * data_channels), h, w)
    # unbind, not parts[:, :, t]: its backward is one stack, not n full-size zero buffers
    return tuple(p.reshape(b, k // n, h, w) for p in parts.unbind(2))


def logits_view(out: torch.Tensor, data_channels: int, levels: int) -> torch.Tensor:
    """(B, C*levels, H, W) output of a masked net -> (B, C, levels, H, W) logits (group layout)."""
    b, _, h, w = out.shape
    return out.view(b, data_channels, levels, h, w)


def image_to_input(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> network input centred on 0 (x * 2 - 1)."""
    return x * 2 - 1
