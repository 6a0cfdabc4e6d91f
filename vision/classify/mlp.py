"""A fully-connected network (multi-layer perceptron) with the notes' choices of activation,
initialisation, batch normalisation and dropout.

One hidden layer computes::

    z = W x + b            (Linear; for maxout: k linear pieces, z = max_j (W_j x + b_j))
    z = BN(z)              (optional batch norm: normalise each unit over the batch, then gamma * . + beta)
    h = f(z)               (the activation)
    h = dropout(h, p)      (inverted dropout while training)

Activations ``f``: ``sigmoid`` 1/(1+e^-z); ``tanh``; ``relu`` max(0, z); ``leaky_relu`` max(a z, z)
(a = 0.01); ``elu`` z if z > 0 else alpha (e^z - 1); ``maxout`` max(w_1^T x + b_1, ..., w_k^T x + b_k)
(k = ``maxout_pieces``, no separate nonlinearity).

Initialisations of every weight matrix (biases start at 0; BN at gamma=1, beta=0):
  ``small``:  W = 0.01 * randn                       (fine for shallow nets, collapses deep ones)
  ``xavier``: W = randn / sqrt(fan_in)               (the notes' Xavier/Glorot for tanh)
  ``he``:     W = randn * sqrt(2 / fan_in)           (He et al. 2015, for ReLU)
  a float s:  W = s * randn                          (e.g. 1.0: "too big", tanh saturates)

API::

    from gymlab.vision.classify.mlp import MLP
    net = MLP(in_features=64, hidden=(100, 100), num_classes=10, activation="relu", init="he",
              batchnorm=False, dropout=0.0)
    logits = net(x)                                 # x: (N, in_features) or (N, C, H, W): flattened
    logits, acts = net(x, return_activations=True)  # acts: list of the hidden layers' outputs h
                                                    # (post-activation, before dropout), one (N, width)
                                                    # tensor per layer; call .retain_grad() on them
                                                    # to read gradients after backward()
    logits, acts, pre = net(x, return_activations=True, return_preactivations=True)  # pre: z per layer
    net.layers                                      # nn.ModuleList of HiddenLayer (.linear, .bn, .act, .drop)
    net.head                                        # the output nn.Linear (no activation, no BN)

``ACTIVATIONS`` and ``INITS`` list the valid names.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
from torch import nn

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout")
INITS = ("small", "xavier", "he")


def activation_module(name: str) -> nn.Module:
    """The nn.Module of an activation name (maxout is built into the linear layer, so Identity)."""
    table = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.01),
             "elu": nn.ELU, "maxout": nn.Identity}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return table[name]()


def init_std(init: Union[str, float], fan_in: int) -> float:
    """Standard deviation of the Gaussian weights for an initialisation name (or a float scale)."""
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        return float(init)
    if init == "small":
        return 0.01
    if init == "xavier":
        return 1.0 / math.sqrt(fan_in)
    if init == "he":
        return math.sqrt(2.0 / fan_in)
    raise ValueError(f"unknown init {init!r}; valid: {', '.join(INITS)} or a float standard deviation")


class Maxout(nn.Module):
    """Maxout unit: out = max over k pieces of (W_j x + b_j); one Linear with k * out_features outputs."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 2):
        super().__init__()
        if pieces < 2:
            raise ValueError(f"maxout needs at least 2 pieces, got {pieces}")
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x).view(*x.shape[:-1], self.out_features, self.pieces)
        return z.max(dim=-1).values


class HiddenLayer(nn.Module):
    """Linear (or Maxout) -> optional BatchNorm1d -> activation -> optional Dropout."""

    def __init__(self, in_features: int, out_features: int, activation: str, batchnorm: bool, dropout: float,
                 maxout_pieces: int = 2):
        super().__init__()
        if activation == "maxout":
            self.linear = Maxout(in_features, out_features, maxout_pieces)
        else:
            self.linear = nn.Linear(in_features, out_features)
        self.bn = nn.BatchNorm1d(out_features) if batchnorm else nn.Identity()
        self.act = activation_module(activation)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor):
        z = self.bn(self.linear(x))
        h = self.act(z)
        return z, h


class MLP(nn.Module):
    """Fully-connected classifier; see the module docstring for the equations and the API."""

    def __init__(self, in_features: int, hidden: Sequence[int] = (100,), num_classes: int = 10,
                 activation: str = "relu", init: Union[str, float] = "he", batchnorm: bool = False,
                 dropout: float = 0.0, maxout_pieces: int = 2, head_std: Optional[float] = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(ACTIVATIONS)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        init_std(init, 1)  # validate early
        self.activation, self.init, self.head_std = activation, init, head_std
        widths = [in_features, *hidden]
        self.layers = nn.ModuleList(
            HiddenLayer(a, b, activation, batchnorm, dropout, maxout_pieces) for a, b in zip(widths[:-1], widths[1:]))
        self.head = nn.Linear(widths[-1], num_classes)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, init_std(self.init, m.in_features))
                m.bias.zero_()
            elif isinstance(m, nn.BatchNorm1d):
                m.reset_parameters()
        if self.head_std is not None:  # small output weights: the initial loss is log C, as the notes expect
            self.head.weight.normal_(0.0, self.head_std)

    @property
    def feature_dim(self) -> int:
        return self.head.in_features

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's output (N, feature_dim)."""
        h = x.flatten(1)
        for layer in self.layers:
            h = layer.drop(layer(h)[1])
        return h

    def forward(self, x: torch.Tensor, return_activations: bool = False, return_preactivations: bool = False):
        h = x.flatten(1)
        acts, pres = [], []
        for layer in self.layers:
            z, h = layer(h)
            acts.append(h)
            pres.append(z)
            h = layer.drop(h)
        logits = self.head(h)
        if return_preactivations:
            return logits, acts, pres
        if return_activations:
            return logits, acts
        return logits
