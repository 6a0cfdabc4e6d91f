"""Recurrent layers written from the notes' equations (PixelRNN and captioning build on them).

Vanilla RNN, one step:

    h_t = tanh(W_xh x_t + b_xh + W_hh h_{t-1} + b_hh)

LSTM, one step (gates stacked in the order i, f, g, o, as torch does):

    [i; f; g; o] = W_xh x_t + b_xh + W_hh h_{t-1} + b_hh          (4H values)
    i = sigmoid(i)  input gate      f = sigmoid(f)  forget gate
    o = sigmoid(o)  output gate     g = tanh(g)     candidate
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Both keep two biases so that weights copied from ``torch.nn.RNN`` / ``torch.nn.LSTM`` give the same
outputs (``copy_from_torch``). Layers stack: layer l reads the hidden states of layer l - 1.

API::

    rnn = RNN(input_size, hidden_size, num_layers=1, batch_first=True)
    out, h_n = rnn(x, h0=None)           # x (N, T, D); out (N, T, H) top layer; h_n (num_layers, N, H)
    lstm = LSTM(input_size, hidden_size, num_layers=1, batch_first=True)
    out, (h_n, c_n) = lstm(x, (h0, c0))  # state optional (zeros)
    h = rnn.cells[0](x_t, h)             # one step of one layer: RNNCell / LSTMCell
    rnn.copy_from_torch(torch.nn.RNN(...))
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn


class RNNCell(nn.Module):
    """h' = tanh(W_xh x + b_xh + W_hh h + b_hh)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        g = self.gates * hidden_size
        self.W_xh = nn.Parameter(torch.empty(g, input_size))
        self.W_hh = nn.Parameter(torch.empty(g, hidden_size))
        self.b_xh = nn.Parameter(torch.empty(g))
        self.b_hh = nn.Parameter(torch.empty(g))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias (torch's default)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            p.uniform_(-bound, bound)

    def preactivation(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return x @ self.W_xh.T + self.b_xh + h @ self.W_hh.T + self.b_hh

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.preactivation(x, h))


class LSTMCell(RNNCell):
    """(h', c') from (x, (h, c)) with input, forget, output gates and the candidate g."""

    gates = 4

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, c = state
        i, f, g, o = self.preactivation(x, h).chunk(4, dim=-1)
        i, f, o, g = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o), torch.tanh(g)
        c = f * c + i * g
        return o * torch.tanh(c), c


class _Recurrent(nn.Module):
    cell_cls = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, batch_first: bool = True):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.input_size, self.hidden_size, self.num_layers, self.batch_first = (
            input_size, hidden_size, num_layers, batch_first)
        self.cells = nn.ModuleList(
            self.cell_cls(input_size if l == 0 else hidden_size, hidden_size) for l in range(num_layers))

    def _sequence(self, x: torch.Tensor) -> torch.Tensor:
        """(T, N, D) whatever the layout."""
        if x.dim() != 3:
            raise ValueError(f"expected a sequence batch of 3 dimensions, got shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"expected {self.input_size} input features, got {x.shape[-1]}")
        return x.transpose(0, 1) if self.batch_first else x

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(self.num_layers, x.shape[1], self.hidden_size)

    def _output(self, seq: list) -> torch.Tensor:
        out = torch.stack(seq)  # (T, N, H)
        return out.transpose(0, 1) if self.batch_first else out

    @torch.no_grad()
    def copy_from_torch(self, module: nn.Module) -> "_Recurrent":
        """Copy the weights of a torch.nn.RNN (tanh) / torch.nn.LSTM with the same sizes."""
        if getattr(module, "num_layers", None) != self.num_layers or module.hidden_size != self.hidden_size:
            raise ValueError("the torch module's num_layers and hidden_size must equal this one's")
        if module.bidirectional or getattr(module, "proj_size", 0):
            raise ValueError("bidirectional and projected torch RNNs have no counterpart here")
        for l, cell in enumerate(self.cells):
            cell.W_xh.copy_(getattr(module, f"weight_ih_l{l}"))
            cell.W_hh.copy_(getattr(module, f"weight_hh_l{l}"))
            cell.b_xh.copy_(getattr(module, f"bias_ih_l{l}"))
            cell.b_hh.copy_(getattr(module, f"bias_hh_l{l}"))
        return self


class RNN(_Recurrent):
    """Multi-layer vanilla (tanh) RNN; see the module docstring."""

    cell_cls = RNNCell

    def forward(self, x: torch.Tensor, h0: Optional[torch.Tensor] = None):
        x = self._sequence(x)
        h = list(self._zeros(x) if h0 is None else h0)
        layer_in = list(x)
        for l, cell in enumerate(self.cells):
            outs = []
            for x_t in layer_in:
                h[l] = cell(x_t, h[l])
                outs.append(h[l])
            layer_in = outs
        return self._output(layer_in), torch.stack(h)


class LSTM(_Recurrent):
    """Multi-layer LSTM; see the module docstring."""

    cell_cls = LSTMCell

    def forward(self, x: torch.Tensor, state: Optional[tuple[torch.Tensor, torch.Tensor]] = None):
        x = self._sequence(x)
        h, c = (list(self._zeros(x)), list(self._zeros(x))) if state is None else (list(state[0]), list(state[1]))
        layer_in = list(x)
        for l, cell in enumerate(self.cells):
            outs = []
            for x_t in layer_in:
                h[l], c[l] = cell(x_t, (h[l], c[l]))
                outs.append(h[l])
            layer_in = outs
        return self._output(layer_in), (torch.stack(h), torch.stack(c))
