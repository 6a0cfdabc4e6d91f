"""Parts several experiments share (a leading underscore: not an experiment module).

    batch_indices    resumable minibatches: a permutation per (seed, epoch)
    fast_forward     replay a scheduler after a resume (gymlab.runners.experiment.replay_schedule)
    SceneConfig      the digit-scene experiments' data and split sizes; ``check_scenes`` their checks
"""
from __future__ import annotations

from dataclasses import dataclass

from gymlab.runners.config import RunConfig
from gymlab.runners.experiment import Experiment, replay_schedule
from gymlab.vision.data.batching import batch_indices  # noqa: F401  (re-exported: the one seeded shuffle)
from gymlab.runners.errors import GymlabError


fast_forward = replay_schedule  # the old name
Checkpointed = Experiment  # the old name: model, opt and step are now gathered by Experiment itself


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
