"""Parts several experiments share (a leading underscore: not an experiment module).

    batch_indices    resumable minibatches: a permutation per (seed, epoch)
    fast_forward     replay a scheduler after a resume
    Checkpointed     state_dict/load_state_dict of an experiment holding ``model``, ``opt`` and ``step``
    SceneConfig      the digit-scene experiments' data and split sizes; ``check_scenes`` their checks
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError


def batch_indices(seed: int, step: int, n: int, batch_size: int) -> torch.Tensor:
    """Minibatch ``step`` of a permutation that depends only on (seed, epoch): resumable for free."""
    per_epoch = math.ceil(n / batch_size)
    epoch, i = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    return perm[i * batch_size:(i + 1) * batch_size]


def fast_forward(sched, steps: int, total: int) -> None:
    """Replay ``steps`` scheduler steps (after a resume, possibly with a new budget ``total``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()": intended here
        for _ in range(min(steps, total - 1)):
            sched.step()


class Checkpointed:
    """The checkpoint of an experiment with ``model``, ``opt`` and ``step``; an experiment with a
    learning-rate schedule ``sched`` over ``budget`` steps gets it replayed on resume."""

    def state_dict(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step}

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.step = state["step"]
        if getattr(self, "sched", None) is not None:
            fast_forward(self.sched, self.step, self.budget)  # the one-cycle schedule of this run's budget


@dataclass
class SceneConfig(RunConfig):
    batch_size: int = 32
    lr: float = 3e-3
    data: str = "scenes"
    n_train: int = 2000  # training scenes; the last n_val of them are held out for validation
    n_val: int = 200
    n_test: int = 500


def check_scenes(cfg: SceneConfig) -> None:
    """One-line errors for a data set other than scenes and a validation split that leaves nothing to train on."""
    if cfg.data != "scenes":
        raise GymlabError(f"bad value for 'data': {cfg.data!r}; valid: scenes")
    if not 0 < cfg.n_val < cfg.n_train:
        raise GymlabError(f"bad value for 'n_val': {cfg.n_val}; it must be between 1 and n_train - 1")
