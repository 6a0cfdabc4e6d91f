"""Resumable minibatches: the one seeded shuffle every training loop of the lab uses.

Minibatch ``step`` is a slice of a permutation of ``range(n)`` that depends only on (seed, epoch),
with ``epoch, i = divmod(step, ceil(n / batch_size))``. A loop that knows its step can therefore
be stopped and resumed anywhere and sees exactly the batches it would have seen: nothing about
the shuffle needs to go into a checkpoint.
"""
from __future__ import annotations

import math

import torch

EPOCH_STRIDE = 100_003  # a prime: the generator seed of (seed, epoch) is seed * EPOCH_STRIDE + epoch


def batch_indices(seed: int, step: int, n: int, batch_size: int) -> torch.Tensor:
    """Indices of minibatch ``step`` (0-based) over ``n`` examples."""
    per_epoch = math.ceil(n / batch_size)
    epoch, i = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * EPOCH_STRIDE + epoch))
    return perm[i * batch_size:(i + 1) * batch_size]
