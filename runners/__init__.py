"""The common runner: registry, config, loop, checkpoints, logging, CLI.

Nothing imports `runners`; it wires the plain libraries (envs, vision, agents,
generative) into experiments. The contract an experiment implements is
``gymlab.runners.experiment.Experiment``. Importing this package is cheap (no torch).
"""
import os

from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import get, names, register

# The runner draws figures into files, never windows (also on Ray workers and under torchrun): matplotlib's
# Agg backend unless the user chose one. Libraries leave the backend to the user (inline in a notebook).
os.environ.setdefault("MPLBACKEND", "Agg")

__all__ = ["GymlabError", "Context", "Experiment", "register", "get", "names"]


def __getattr__(name):
    if name in ("Context", "Experiment"):
        from gymlab.runners import experiment

        return getattr(experiment, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
