"""What the experiments on digit scenes (`detector`, `segmenter`, `captioning`) share: the data and its
split sizes in the config, and their checks. A leading underscore: not an experiment module."""
from __future__ import annotations

from dataclasses import dataclass

from runners.config import RunConfig
from runners.errors import GymlabError


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
