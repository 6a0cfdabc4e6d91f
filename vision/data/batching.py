"""Resumable minibatches: the one seeded shuffle every training loop of the lab uses.

Minibatch ``step`` is a slice of a permutation of ``range(n)`` that depends only on (seed, epoch),
with ``epoch, i = divmod(step, ceil(n / batch_size))``. A loop that knows its step can therefore
be stopped and resumed anywhere and sees exactly the batches it would have seen: nothing about
the shuffle needs to go into a checkpoint.

The permutation is drawn once per epoch and kept (``epoch_permutation``, the last few (seed, epoch,
n, device) asked for): drawing it afresh at every step cost 0.6 ms a step on 55,000 images, as much
as a whole step of a small MLP. Keeping it changes nothing but the time: the draw depends only on
its key.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch

EPOCH_STRIDE = 100_003  # a prime: the generator seed of (seed, epoch) is seed * EPOCH_STRIDE + epoch


@lru_cache(maxsize=4)  # a few loops at once (a GAN's two players, a benchmark's bare twin) each keep theirs
def epoch_permutation(seed: int, epoch: int, n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The order of ``range(n)`` in ``epoch``: ``randperm`` of a generator seeded ``seed * EPOCH_STRIDE + epoch``
    (drawn on the CPU, then moved to ``device``). Shared between calls: read it, never write into it."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * EPOCH_STRIDE + epoch))
    return perm if device is None else perm.to(device)


def batch_indices(seed: int, step: int, n: int, batch_size: int,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """Indices of minibatch ``step`` (0-based) over ``n`` examples (on ``device``; default the CPU), a new tensor."""
    per_epoch = math.ceil(n / batch_size)
    epoch, i = divmod(step, per_epoch)
    return epoch_permutation(seed, epoch, n, device)[i * batch_size:(i + 1) * batch_size].clone()
