"""PixelRNN (van den Oord et al., 2016): two-dimensional LSTMs over the image.

Both layers compute the LSTM of the notes, with the gates given by convolutions:

    [o, f, i, g] = [sigma, sigma, sigma, tanh](K_is (*) x + K_ss (*) h_prev)
    c = f (.) c_prev + i (.) g,        h = o (.) tanh(c)

- Row LSTM: processes the image row by row, top to bottom. K_is is a 1x3 masked convolution (mask B)
  along the row; K_ss a width-3 convolution of the previous row's state. Its context is a triangle.
- Diagonal BiLSTM: skews the map (row i shifted right by i), so that a pixel's left neighbour
  (i, j-1) and the one above (i-1, j) both sit in the previous column; it then processes columns left
  to right with a 2x1 state-to-state kernel, and unskews. The right-to-left direction runs on the
  mirrored image and is shifted down one row, so it only brings rows above: the context is complete.

The network is: 7x7 mask-A conv, LSTM layers with residual connections (x + Conv_B^{1x1}(h)), and the
PixelCNN head (two 1x1 mask-B convs) to (B, C, levels, H, W) logits.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gymlab.generative.gated_pixelcnn import shift_down
from gymlab.generative.masked import MaskedConv2d, image_to_input, logits_view, split_groups


def skew(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H, H + W - 1): row i moved right by i (zeros elsewhere).

    Without a loop: pad each row with H zeros, flatten, and read the first H (H + W - 1) values back as
    rows of H + W - 1. Pixel (i, j) sits at i (W + H) + j = i (H + W - 1) + (i + j): row i, column i + j."""
    b, c, h, w = x.shape
    flat = F.pad(x, (0, h)).flatten(2)[:, :, :h * (h + w - 1)]
    return flat.view(b, c, h, h + w - 1)


def unskew(x: torch.Tensor, width: int) -> torch.Tensor:
    """The inverse of ``skew``: (B, C, H, H + W - 1) -> (B, C, H, W), by the same reading backwards."""
    b, c, h, _ = x.shape
    return F.pad(x.flatten(2), (0, h)).view(b, c, h, width + h)[..., :width]


def lstm_update(gates: torch.Tensor, c_prev: torch.Tensor, data_channels: int):
    """gates (B, 4h, ...) -> (h, c) of the LSTM cell; each gate split group by group."""
    squeeze = gates.dim() == 3
    if squeeze:
        gates = gates.unsqueeze(-1)
    o, f, i, g = split_groups(gates, 4, data_channels)
    if squeeze:
        o, f, i, g = (t.squeeze(-1) for t in (o, f, i, g))
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class RowLSTM(nn.Module):
    def __init__(self, channels: int, hidden: int, data_channels: int = 1):
        super().__init__()
        self.hidden, self.c = hidden, data_channels
        self.input_to_state = MaskedConv2d(channels, 4 * hidden, (1, 3), "B", data_channels)
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, height, width = x.shape
        xs = self.input_to_state(x)
        h = c = x.new_zeros(b, self.hidden, width)
        rows = []
        for row in xs.unbind(2):  # unbind, not xs[:, :, i]: one gradient buffer, not one per row
            h, c = lstm_update(row + self.state_to_state(h), c, self.c)
            rows.append(h)
        return torch.stack(rows, dim=2)


class DiagonalBiLSTM(nn.Module):
    """Both directions in one pass over the skewed columns (the right-to-left one on the mirrored map,
    with its own weights: a grouped state-to-state convolution), then unskewed and combined as
    forward + shift_down(backward)."""

    def __init__(self, channels: int, hidden: int, data_channels: int = 1):
        super().__init__()
        self.hidden, self.c = hidden, data_channels
        self.input_to_state = MaskedConv2d(channels, 4 * hidden, 1, "B", data_channels)
        self.input_to_state_back = MaskedConv2d(channels, 4 * hidden, 1, "B", data_channels)
        # per direction, a 2x1 kernel over rows (i-1, i) of the previous skewed column: the pixels above and left
        self.state_to_state = nn.Conv1d(2 * hidden, 8 * hidden, 2, groups=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, height, width = x.shape
        k = self.hidden
        xs = torch.cat([skew(self.input_to_state(x)), skew(self.input_to_state_back(x.flip(-1)))], 1)
        h = x.new_zeros(b, 2 * k, height)  # [forward | backward] states of the current column
        c = x.new_zeros(2 * b, k, height)
        cols = []
        for column in xs.unbind(3):  # unbind, not xs[..., j]: one gradient buffer, not one per column
            gates = (column + self.state_to_state(F.pad(h, (1, 0)))).reshape(2 * b, 4 * k, height)
            h, c = lstm_update(gates, c, self.c)
            h = h.reshape(b, 2 * k, height)
            cols.append(h)
        out = unskew(torch.stack(cols, dim=3), width)
        forward, backward = out[:, :k], out[:, k:].flip(-1)
        return forward + shift_down(backward)


LAYERS = {"row-lstm": RowLSTM, "diagonal-bilstm": DiagonalBiLSTM}


class PixelRNN(nn.Module):
    def __init__(self, kind: str = "row-lstm", in_channels: int = 1, levels: int = 2, hidden: int = 32,
                 n_layers: int = 2):
        super().__init__()
        if kind not in LAYERS:
            raise ValueError(f"unknown PixelRNN kind {kind!r}; valid: {', '.join(LAYERS)}")
        if hidden % in_channels:
            raise ValueError(f"hidden ({hidden}) must be a multiple of in_channels ({in_channels})")
        c = self.data_channels = in_channels
        self.kind, self.levels = kind, levels
        self.first = MaskedConv2d(c, hidden, 7, "A", c)
        self.lstms = nn.ModuleList(LAYERS[kind](hidden, hidden, c) for _ in range(n_layers))
        self.proj = nn.ModuleList(MaskedConv2d(hidden, hidden, 1, "B", c) for _ in range(n_layers))
        self.head = nn.Sequential(nn.ReLU(), MaskedConv2d(hidden, hidden, 1, "B", c),
                                  nn.ReLU(), MaskedConv2d(hidden, c * levels, 1, "B", c))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W) images in [0, 1] -> logits (B, C, levels, H, W). ``y`` is ignored."""
        h = self.first(image_to_input(x))
        for lstm, proj in zip(self.lstms, self.proj):
            h = h + proj(lstm(h))
        return logits_view(self.head(h), self.data_channels, self.levels)
