"""Gradient flow through time: why a vanilla RNN's gradient vanishes or explodes and an LSTM's does not.

Vanilla RNN:  h_t = tanh(W_hh h_{t-1} + W_xh x_t + b).  Backpropagating a loss L(h_T) to h_0 multiplies
by the same matrix T times, with a tanh factor at every step:

    dL/dh_0 = (prod_{t=1..T} diag(1 - h_t^2) W_hh)^T dL/dh_T

With W_hh = r Q (Q orthogonal, so every singular value and the spectral radius equal r) and the tanh in
its linear regime (h_t = 0, where tanh' = 1) this is exactly ||dL/dh_0|| = r^T ||dL/dh_T||: it vanishes
for r < 1 and explodes for r > 1. Away from 0 the tanh factors (each <= 1) only shrink it further.

LSTM:  c_t = f_t * c_{t-1} + i_t * g_t,  h_t = o_t * tanh(c_t).  Along the cell state the backward pass
multiplies by the forget gate f_t elementwise, not by W_hh: with the forget gate open (a large forget
bias, f_t = sigmoid(b_f + ...) close to 1) the gradient travels T steps nearly undiminished.

Exploding gradients are then capped by gradient clipping (``torch.nn.utils.clip_grad_norm_``): if the
gradient's norm g exceeds a threshold c, rescale it to c g / ||g||.

The cells are the lab's own ``vision.recurrent.RNN`` and ``LSTM`` (written from these equations; they
give the same gradients as ``torch.nn.RNN`` / ``torch.nn.LSTM`` with the same weights), with their
recurrent weights set to r Q; :func:`jacobian_product` writes the vanilla RNN's chain rule out by hand.
"""
from __future__ import annotations

import torch
from torch import nn

from gymlab.vision.nn import recurrent


def scaled_orthogonal(n: int, radius: float, generator: torch.Generator) -> torch.Tensor:
    """W = radius * Q with Q a random orthogonal matrix: all singular values (and |eigenvalues|) = radius."""
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))  # Haar-uniform Q
    return (radius * q).float()


def vanilla_rnn(hidden: int, radius: float, input_size: int = 1, seed: int = 0) -> recurrent.RNN:
    """A tanh RNN (time-major: x of shape (T, N, D)) with W_hh = radius * Q, W_xh ~ N(0, 1/input_size),
    zero biases."""
    g = torch.Generator().manual_seed(seed)
    rnn = recurrent.RNN(input_size, hidden, batch_first=False)
    cell = rnn.cells[0]
    with torch.no_grad():
        cell.W_hh.copy_(scaled_orthogonal(hidden, radius, g))
        cell.W_xh.copy_(torch.randn(hidden, input_size, generator=g) / input_size ** 0.5)
        cell.b_xh.zero_()
        cell.b_hh.zero_()
    return rnn


def lstm(hidden: int, radius: float, forget_bias: float = 5.0, input_size: int = 1, seed: int = 0) -> recurrent.LSTM:
    """An LSTM (time-major) whose four recurrent blocks (gates i, f, g, o) are each radius * Q, with
    forget-gate bias ``forget_bias`` (large: the gate is open, f ~ 1) and zero other biases."""
    g = torch.Generator().manual_seed(seed)
    m = recurrent.LSTM(input_size, hidden, batch_first=False)
    cell = m.cells[0]
    with torch.no_grad():
        cell.W_hh.copy_(torch.cat([scaled_orthogonal(hidden, radius, g) for _ in range(4)]))
        cell.W_xh.copy_(torch.randn(4 * hidden, input_size, generator=g) / input_size ** 0.5)
        cell.b_xh.zero_()
        cell.b_hh.zero_()
        cell.b_xh[hidden:2 * hidden] = forget_bias  # gate order: input, forget, candidate, output
    return m


def grad_wrt_h0(model: nn.Module, T: int, batch: int = 8, input_scale: float = 0.0, h0_scale: float = 0.0,
                seed: int = 0) -> torch.Tensor:
    """dL/dh_0 for L = sum_b v . h_T^(b), v a fixed random unit vector; returns (batch, hidden).

    ``input_scale`` = 0 and ``h0_scale`` = 0 keep a tanh RNN at h_t = 0, its linear regime.
    For an LSTM the cell state c_0 starts at zero (it is not the variable differentiated).
    """
    g = torch.Generator().manual_seed(seed)
    hidden = model.hidden_size
    x = input_scale * torch.randn(T, batch, model.input_size, generator=g)
    h0 = (h0_scale * torch.randn(1, batch, hidden, generator=g)).requires_grad_(True)
    v = torch.randn(hidden, generator=g)
    v = v / v.norm()
    if isinstance(model, (recurrent.LSTM, nn.LSTM)):
        out, _ = model(x, (h0, torch.zeros(1, batch, hidden)))
    else:
        out, _ = model(x, h0)
    (out[-1] @ v).sum().backward()
    return h0.grad[0]


def gradient_norms(model: nn.Module, Ts, **kw) -> list[float]:
    """Mean over the batch of ||dL/dh_0|| for each sequence length T."""
    return [grad_wrt_h0(model, T, **kw).norm(dim=1).mean().item() for T in Ts]


def jacobian_product(W_hh: torch.Tensor, hs: torch.Tensor) -> torch.Tensor:
    """dh_T/dh_0 = prod_{t=T..1} diag(1 - h_t^2) W_hh for one sequence of states hs = (h_1, ..., h_T)."""
    J = torch.eye(W_hh.shape[0], dtype=W_hh.dtype)
    for h in hs:
        J = (1 - h ** 2).unsqueeze(1) * W_hh @ J
    return J


def clipped(params, max_norm: float) -> tuple[float, float]:
    """Clip the gradients of ``params`` in place to norm ``max_norm``; return (norm before, norm after)."""
    params = [p for p in params if p.grad is not None]
    before = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
    after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])).item()
    return before, after


# ------------------------------------------------------------------ a task that needs memory
def recall_batch(T: int, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Remember the first input over T steps: x_1 = +-1 (the label), x_2..x_T Gaussian noise; target
    y = 1[x_1 > 0]. Only gradient that reaches step 1 from step T can learn it."""
    y = torch.randint(0, 2, (batch,), generator=generator)
    x = 0.5 * torch.randn(T, batch, 1, generator=generator)
    x[0, :, 0] = 2.0 * y - 1.0
    return x, y


class RecallNet(nn.Module):
    """A time-major recurrent layer (vanilla RNN or LSTM) and a linear read-out of h_T to two logits."""

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell
        self.head = nn.Linear(cell.hidden_size, 2)

    def forward(self, x):
        out, _ = self.cell(x)
        return self.head(out[-1])
