"""vision.data.batching: the seeded shuffle, kept once per epoch, gives the batches a fresh draw gives."""
import torch

from gymlab.vision.data.batching import EPOCH_STRIDE, batch_indices, epoch_permutation


def _fresh(seed, step, n, b):
    """The definition, drawn afresh: slice i of randperm(n) seeded seed * EPOCH_STRIDE + epoch."""
    epoch, i = divmod(step, -(-n // b))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * EPOCH_STRIDE + epoch))
    return perm[i * b:(i + 1) * b]


def test_kept_permutation_gives_the_fresh_draws_batches_across_epochs_and_seeds():
    n, b = 103, 10  # 11 batches an epoch, the last one of 3
    for seed in (0, 5):
        for step in [*range(25), 24, 3, 11, 10]:  # back and forth: a resume re-asks for earlier epochs
            assert torch.equal(batch_indices(seed, step, n, b), _fresh(seed, step, n, b))
    assert len(batch_indices(0, 10, n, b)) == 3


def test_interleaved_loops_each_see_their_own_order():
    a = [batch_indices(1, s, 50, 8) for s in range(14)]
    mixed = []
    for s in range(14):  # another loop (seed 2, other n) drawing between our steps changes nothing
        batch_indices(2, s, 77, 8)
        mixed.append(batch_indices(1, s, 50, 8))
    assert all(torch.equal(x, y) for x, y in zip(a, mixed))


def test_writing_into_a_batch_leaves_the_kept_permutation_alone():
    idx = batch_indices(4, 0, 40, 8)
    first = idx.clone()
    idx.zero_()
    assert torch.equal(batch_indices(4, 0, 40, 8), first)
    assert torch.equal(epoch_permutation(4, 0, 40)[:8], first)


def test_device_argument_returns_the_same_indices_there():
    assert torch.equal(batch_indices(3, 7, 60, 16, device="cpu"), batch_indices(3, 7, 60, 16))
