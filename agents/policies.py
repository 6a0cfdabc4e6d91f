"""Policy and value networks for the deep RL agents.

    encoder   observation -> features: flatten (vector Box), one-hot (Discrete), a conv net from
              ``vision.encoders`` (image Box: uint8 frames of shape (H, W, C) or (C, H, W))
    trunk     an MLP on the features (``net_arch`` hidden sizes, tanh or relu)
    heads     categorical:  pi(a|s) = softmax(logits(s))                       (Discrete actions)
              Gaussian:     pi(a|s) = N(mu(s), diag(exp(log_std))^2)          (Box actions; log_std is a
                            free parameter, state-independent as in SB3/CleanRL; log pi sums over dims)
              value:        V(s) a scalar;   Q-values: Q(s, .) one per action

``ActorCritic`` holds an actor and a critic, either sharing the encoder and trunk (``shared=True``)
or as two separate networks. ``QNetwork`` is DQN's. Hidden layers use orthogonal initialisation
with gain sqrt(2); the policy head gain 0.01 (a near-uniform first policy) and the value head 1.
"""
from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Normal

from gymlab.vision.nn.encoders import ConvEncoder

__all__ = ["mlp", "make_encoder", "is_image_space", "CategoricalHead", "GaussianHead", "ActorCritic", "QNetwork"]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def _init(layer: nn.Module, gain: float) -> nn.Module:
    if isinstance(layer, (nn.Linear, nn.Conv2d)):
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.zeros_(layer.bias)
    return layer


def mlp(in_dim: int, hidden, activation: str = "tanh") -> nn.Sequential:
    """Linear -> activation, for each hidden size; an empty ``hidden`` gives the identity."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(ACTIVATIONS)}")
    layers, d = [], in_dim
    for h in hidden:
        layers += [_init(nn.Linear(d, h), math.sqrt(2)), ACTIVATIONS[activation]()]
        d = h
    net = nn.Sequential(*layers)
    net.out_dim = d
    return net


def is_image_space(space: gym.Space) -> bool:
    """A Box of uint8 frames with 3 dims, channels (1, 3 or 4) first or last."""
    return (isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3
            and (space.shape[-1] in (1, 3, 4) or space.shape[0] in (1, 3, 4)))


class FlattenEncoder(nn.Module):
    def __init__(self, space: gym.spaces.Box):
        super().__init__()
        self.features_dim = int(np.prod(space.shape))

    def forward(self, x):
        return x.float().reshape(x.shape[0], -1)


class OneHotEncoder(nn.Module):
    """Discrete(n) observations as one-hot vectors e_s (a tabular critic when the trunk is empty)."""

    def __init__(self, space: gym.spaces.Discrete):
        super().__init__()
        self.n, self.start, self.features_dim = int(space.n), int(space.start), int(space.n)

    def forward(self, x):
        return nn.functional.one_hot(x.long().reshape(-1) - self.start, self.n).float()


def make_encoder(space: gym.Space, features_dim: int = 128) -> nn.Module:
    """The encoder for an observation space; every encoder has a ``features_dim``."""
    if is_image_space(space):
        return ConvEncoder(space.shape, features_dim, channels_last=space.shape[-1] in (1, 3, 4))
    if isinstance(space, gym.spaces.Box):
        return FlattenEncoder(space)
    if isinstance(space, gym.spaces.Discrete):
        return OneHotEncoder(space)
    raise TypeError(f"no encoder for observation space {space}; valid: Box (vectors or uint8 frames), Discrete")


class CategoricalHead(nn.Module):
    """logits = W z + b;  pi(a|s) = softmax(logits)_a."""

    def __init__(self, in_dim: int, n: int):
        super().__init__()
        self.linear = _init(nn.Linear(in_dim, n), 0.01)

    def forward(self, z) -> Categorical:
        return Categorical(logits=self.linear(z), validate_args=False)

    @staticmethod
    def log_prob(dist, a):
        return dist.log_prob(a.long())

    @staticmethod
    def entropy(dist):
        return dist.entropy()

    def sample(self, z, deterministic: bool = False):
        """(a, log pi(a|s)) straight from the logits (the rollout hot path, no Distribution object)."""
        logp = torch.log_softmax(self.linear(z), -1)
        if deterministic:
            a = logp.argmax(-1)
        else:  # inverse-CDF sampling: the first action whose cumulative probability exceeds u ~ U(0, 1)
            u = torch.rand(logp.shape[:-1] + (1,), device=logp.device)
            a = (logp.exp().cumsum(-1) < u).sum(-1).clamp_(max=logp.shape[-1] - 1)
        return a, logp.gather(-1, a.unsqueeze(-1)).squeeze(-1)

    def log_prob_entropy(self, z, a):
        """log pi(a|s) and H[pi(.|s)] straight from the logits (the training hot path, no Distribution)."""
        logp = torch.log_softmax(self.linear(z), -1)
        return logp.gather(-1, a.long().unsqueeze(-1)).squeeze(-1), -(logp.exp() * logp).sum(-1)

    @staticmethod
    def mode(dist):
        return dist.probs.argmax(-1)


class GaussianHead(nn.Module):
    """mu = W z + b, sigma = exp(log_std);  log pi(a|s) = sum_i log N(a_i; mu_i, sigma_i^2)."""

    def __init__(self, in_dim: int, dim: int, log_std_init: float = 0.0):
        super().__init__()
        self.linear = _init(nn.Linear(in_dim, dim), 0.01)
        self.log_std = nn.Parameter(torch.full((dim,), float(log_std_init)))

    def forward(self, z) -> Normal:
        mu = self.linear(z)
        return Normal(mu, self.log_std.exp().expand_as(mu), validate_args=False)

    @staticmethod
    def log_prob(dist, a):
        return dist.log_prob(a).sum(-1)

    @staticmethod
    def entropy(dist):
        return dist.entropy().sum(-1)

    def sample(self, z, deterministic: bool = False):
        dist = self(z)
        a = dist.mean if deterministic else dist.sample()
        return a, self.log_prob(dist, a)

    def log_prob_entropy(self, z, a):
        dist = self(z)
        return self.log_prob(dist, a), self.entropy(dist)

    @staticmethod
    def mode(dist):
        return dist.mean


def make_action_head(space: gym.Space, in_dim: int, log_std_init: float = 0.0) -> nn.Module:
    if isinstance(space, gym.spaces.Discrete):
        return CategoricalHead(in_dim, int(space.n))
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        return GaussianHead(in_dim, space.shape[0], log_std_init)
    raise TypeError(f"no action head for action space {space}; valid: Discrete (categorical), 1-d Box (Gaussian)")


class ActorCritic(nn.Module):
    """pi(a|s) and V(s), sharing encoder and trunk (``shared=True``) or as two separate networks.

    ``value_head=False`` builds the actor alone (REINFORCE without a baseline).
    """

    def __init__(self, obs_space: gym.Space, action_space: gym.Space, net_arch=(64, 64), activation: str = "tanh",
                 shared: bool = False, value_head: bool = True, features_dim: int = 128, log_std_init: float = 0.0):
        super().__init__()
        self.shared, self.has_value = shared, value_head
        self.action_space = action_space
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        self.pi_encoder = make_encoder(obs_space, features_dim)
        self.pi_trunk = mlp(self.pi_encoder.features_dim, net_arch, activation)
        self.pi_head = make_action_head(action_space, self.pi_trunk.out_dim, log_std_init)
        if value_head:
            if shared:
                self.v_encoder, self.v_trunk = self.pi_encoder, self.pi_trunk
            else:
                self.v_encoder = make_encoder(obs_space, features_dim)
                self.v_trunk = mlp(self.v_encoder.features_dim, net_arch, activation)
            self.v_head = _init(nn.Linear(self.v_trunk.out_dim, 1), 1.0)

    def dist(self, obs):
        return self.pi_head(self.pi_trunk(self.pi_encoder(obs)))

    def value(self, obs) -> torch.Tensor:
        return self.v_head(self.v_trunk(self.v_encoder(obs))).squeeze(-1)

    def forward(self, obs):
        """(distribution, value); one pass through a shared trunk."""
        z = self.pi_trunk(self.pi_encoder(obs))
        dist = self.pi_head(z)
        if not self.has_value:
            return dist, None
        zv = z if self.shared else self.v_trunk(self.v_encoder(obs))
        return dist, self.v_head(zv).squeeze(-1)

    def act(self, obs, deterministic: bool = False):
        """Sample (or take the mode of) pi(.|s): returns action, log pi(a|s), V(s) (None without critic)."""
        z = self.pi_trunk(self.pi_encoder(obs))
        a, logp = self.pi_head.sample(z, deterministic)
        if not self.has_value:
            return a, logp, None
        zv = z if self.shared else self.v_trunk(self.v_encoder(obs))
        return a, logp, self.v_head(zv).squeeze(-1)

    def sample(self, obs, deterministic: bool = False):
        """An action from pi(.|s), running the actor alone."""
        return self.pi_head.sample(self.pi_trunk(self.pi_encoder(obs)), deterministic)[0]

    def evaluate_actions(self, obs, actions):
        """log pi(a|s), entropy H[pi(.|s)], V(s) for a batch of taken actions."""
        z = self.pi_trunk(self.pi_encoder(obs))
        logp, ent = self.pi_head.log_prob_entropy(z, actions)
        if not self.has_value:
            return logp, ent, None
        zv = z if self.shared else self.v_trunk(self.v_encoder(obs))
        return logp, ent, self.v_head(zv).squeeze(-1)

    def predict(self, obs, deterministic: bool = True):
        return self.sample(obs, deterministic)


class QNetwork(nn.Module):
    """Q(s, .): encoder -> MLP (relu) -> one output per action."""

    def __init__(self, obs_space: gym.Space, action_space: gym.Space, net_arch=(64, 64), activation: str = "relu",
                 features_dim: int = 128):
        super().__init__()
        self.encoder = make_encoder(obs_space, features_dim)
        self.trunk = mlp(self.encoder.features_dim, net_arch, activation)
        self.head = _init(nn.Linear(self.trunk.out_dim, int(action_space.n)), 1.0)

    def forward(self, obs) -> torch.Tensor:
        return self.head(self.trunk(self.encoder(obs)))

    def predict(self, obs, deterministic: bool = True):
        return self(obs).argmax(-1)
