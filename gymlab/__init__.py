"""gymlab: every model of a deep-learning course as a runnable, tested, measured experiment.

One import package. Its subpackages are the repository's top-level folders:

    gymlab.envs        environments: the tabular MDP model, our gymnasium envs, wrappers, vector envs
    gymlab.vision      the shared PyTorch library: layers, backbones, datasets, classifiers, ...
    gymlab.agents      planners and learners with Stable-Baselines3's agent API
    gymlab.generative  PixelRNN, PixelCNN, autoencoders, VAE, GAN
    gymlab.runners     the common runner: registry, config, loop, checkpoints, W&B, CLI, sweeps

Importing ``gymlab`` is cheap (no torch); the entry points below load on first use::

    import gymlab
    summary = gymlab.run("ppo", ["timesteps=20000"])       # as `gymlab run ppo timesteps=20000`
    agent = gymlab.load(summary["run_dir"])                 # the trained agent (or model), ready to use
"""
from importlib import import_module

from gymlab import _moved

_moved.install()  # old module paths (gymlab.vision.knn) import as their new homes (gymlab.vision.classify.knn)

__version__ = "0.5.0"

# name -> (module, attribute): resolved lazily so that `import gymlab` and `gymlab --help` stay fast.
_LAZY = {
    "load": ("gymlab.loading", "load"),  # the trained agent or model of a run folder, ready to use
    "register": ("gymlab.runners.registry", "register"),
    "run": ("gymlab.runners.loop", "run"),
    "GymlabError": ("gymlab.runners.errors", "GymlabError"),
    "evaluate": ("gymlab.evaluation", "evaluate"),  # an agent or a run folder; intervals (gymlab.agents.stats)
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'gymlab' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])
