"""The common runner: registry, config, loop, checkpoints, logging, CLI.

Nothing imports `runners`; it wires the plain libraries (envs, vision, agents,
generative) into experiments.
"""
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import Context, register, get, names

__all__ = ["GymlabError", "Context", "register", "get", "names"]
