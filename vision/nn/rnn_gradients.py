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

import contextlib
import math

import matplotlib.pyplot as plt
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


TINY = 1e-38  # a norm that underflowed to 0 in float32 is shown at this floor (log10 = -38)


def gradient_grid(hidden: int, radii, Ts, forget_bias: float = 5.0, seed: int = 0) -> list[dict]:
    """||dL/dh_0|| (floored at TINY) for each T in ``Ts`` and radius r of W_hh = r Q, one row per (cell, r):
    the vanilla RNN in its linear regime (norm exactly r^T), driven by inputs (tanh factors < 1), and
    the LSTM with its forget gate open (bias ``forget_bias``) and shut (bias 0)."""
    rows = []
    for r in map(float, radii):
        cells = [("rnn (linear regime)", vanilla_rnn(hidden, r, seed=seed), 0.0),
                 ("rnn (tanh, inputs)", vanilla_rnn(hidden, r, seed=seed), 1.0),
                 (f"lstm (forget bias {forget_bias:g})", lstm(hidden, r, forget_bias, seed=seed), 1.0),
                 ("lstm (forget bias 0)", lstm(hidden, r, 0.0, seed=seed), 1.0)]
        for name, model, scale in cells:
            norms = gradient_norms(model, Ts, seed=seed, input_scale=scale)
            rows.append({"model": name, "radius": r, **{f"T={t}": max(n, TINY) for t, n in zip(Ts, norms)}})
    return rows


def grid_growth(rows: list[dict], Ts) -> dict:
    """log10 of how much ||dL/dh_0|| grew from the shortest T to the longest, keyed
    ``<cell>[_linear][_closed]_r<radius>`` (rnn_linear_r0.9, lstm_closed_r1.5, ...)."""
    out = {}
    for row in rows:
        key = row["model"].split(" (")[0] + ("_linear" if "linear" in row["model"] else "")
        key += "_closed" if "bias 0)" in row["model"] else ""
        out[f"{key}_r{row['radius']:g}"] = math.log10(row[f"T={Ts[-1]}"] / row[f"T={Ts[0]}"])
    return out


def grid_table(rows: list[dict]) -> list[dict]:
    """The grid's rows with the norms as 3-digit text."""
    return [{k: (f"{v:.3g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows]


def grid_figure(rows: list[dict], Ts):
    """||dL/dh_0|| against T, one panel per cell, one line per radius."""
    names = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        for row in (r for r in rows if r["model"] == name):
            ax.semilogy(Ts, [row[f"T={t}"] for t in Ts], "o-", label=f"r={row['radius']:g}")
        ax.set(title=name, xlabel="T (steps back to h_0)")
    axes[0, 0].set_ylabel("||dL/dh_0||")
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def jacobian_product(W_hh: torch.Tensor, hs: torch.Tensor) -> torch.Tensor:
    """dh_T/dh_0 = prod_{t=T..1} diag(1 - h_t^2) W_hh for one sequence of states hs = (h_1, ..., h_T)."""
    J = torch.eye(W_hh.shape[0], dtype=W_hh.dtype)
    for h in hs:
        J = (1 - h ** 2).unsqueeze(1) * W_hh @ J
    return J


def grad_norm(params) -> float:
    """The norm of all the gradients of ``params`` together."""
    return torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None])).item()


def clipped(params, max_norm: float) -> tuple[float, float]:
    """Clip the gradients of ``params`` in place to norm ``max_norm`` (0: no clipping); return (norm
    before, norm after)."""
    params = [p for p in params if p.grad is not None]
    before = torch.nn.utils.clip_grad_norm_(params, max_norm).item() if max_norm > 0 else grad_norm(params)
    return before, grad_norm(params)


def clipped_step(net: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, clip: float,
                 autocast=contextlib.nullcontext) -> tuple[float, float]:
    """One update on cross-entropy with the gradient clipped to norm ``clip`` (0: off); returns
    (loss, the gradient's norm before clipping)."""
    with autocast():
        loss = nn.functional.cross_entropy(net(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    before, _ = clipped(net.parameters(), clip)
    opt.step()
    return loss.item(), before


@torch.no_grad()
def recall_eval(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(accuracy, cross-entropy) of a RecallNet on a batch."""
    logits = net(x).float()
    return (logits.argmax(1) == y).float().mean().item(), nn.functional.cross_entropy(logits, y).item()


def norms_figure(history: dict, clip: float = 0.0, title: str = ""):
    """Gradient norms before clipping against the step (name -> list of (step, norm)), the clip level dashed."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, h in history.items():
        if h:
            ax.semilogy(*zip(*h), label=name)
    if clip > 0:
        ax.axhline(clip, color="k", ls="--", lw=1, label=f"clip at {clip:g}")
    ax.set(xlabel="step", ylabel="gradient norm before clipping", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


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
