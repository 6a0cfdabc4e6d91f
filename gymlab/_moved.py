"""Old module paths that keep importing after a module moved (issue 13: public names stay importable).

``gymlab.vision.knn`` moved to ``gymlab.vision.classify.knn``: ``import gymlab.vision.knn`` gives the
very same module object (not a copy), so classes, isinstance checks and pickles agree. ``gymlab``'s
``__init__`` installs the finder; ``MOVED`` is the whole table (old full name -> new full name).
"""
from __future__ import annotations

import importlib
import importlib.machinery
import sys

MOVED = {
    "gymlab.vision.datasets": "gymlab.vision.data.datasets",
    "gymlab.vision.folders": "gymlab.vision.data.folders",
    "gymlab.vision.preprocess": "gymlab.vision.data.preprocess",
    "gymlab.vision.batching": "gymlab.vision.data.batching",
    "gymlab.vision.safe_load": "gymlab.vision.data.safe_load",
    "gymlab.vision.scenes": "gymlab.vision.data.scenes",
    "gymlab.vision.layers": "gymlab.vision.nn.layers",
    "gymlab.vision.recurrent": "gymlab.vision.nn.recurrent",
    "gymlab.vision.backbones": "gymlab.vision.nn.backbones",
    "gymlab.vision.encoders": "gymlab.vision.nn.encoders",
    "gymlab.vision.optim": "gymlab.vision.nn.optim",
    "gymlab.vision.regularizers": "gymlab.vision.nn.regularizers",
    "gymlab.vision.gradcheck": "gymlab.vision.nn.gradcheck",
    "gymlab.vision.backprop": "gymlab.vision.nn.backprop",
    "gymlab.vision.rnn_gradients": "gymlab.vision.nn.rnn_gradients",
    "gymlab.vision.knn": "gymlab.vision.classify.knn",
    "gymlab.vision.linear": "gymlab.vision.classify.linear",
    "gymlab.vision.mlp": "gymlab.vision.classify.mlp",
    "gymlab.vision.transfer": "gymlab.vision.classify.transfer",
    "gymlab.vision.boxes": "gymlab.vision.detect.boxes",
    "gymlab.vision.detection": "gymlab.vision.detect.detection",
    "gymlab.vision.segmentation": "gymlab.vision.detect.segmentation",
    "gymlab.vision.captioning": "gymlab.vision.detect.captioning",
    "gymlab.vision.understanding": "gymlab.vision.understand.understanding",
    "gymlab.vision.adversarial": "gymlab.vision.understand.adversarial",
    "gymlab.vision.style": "gymlab.vision.understand.style",
    "gymlab.vision.fast_style": "gymlab.vision.understand.fast_style",
    "gymlab.vision.fooling": "gymlab.vision.understand.fooling",
    "gymlab.vision.maximal_patches": "gymlab.vision.understand.maximal_patches",
    "gymlab.vision.embedding": "gymlab.vision.understand.embedding",
    "gymlab.vision.compress": "gymlab.vision.efficient.compress",
    "gymlab.vision.complexity": "gymlab.vision.efficient.complexity",
    "gymlab.runners.experiments.classifiers": "gymlab.runners.experiments.vision.classifiers",
    "gymlab.runners.experiments.linear": "gymlab.runners.experiments.vision.linear",
    "gymlab.runners.experiments.transfer": "gymlab.runners.experiments.vision.transfer",
    "gymlab.runners.experiments.detection": "gymlab.runners.experiments.vision.detection",
    "gymlab.runners.experiments.segmentation": "gymlab.runners.experiments.vision.segmentation",
    "gymlab.runners.experiments.captioning": "gymlab.runners.experiments.vision.captioning",
    "gymlab.runners.experiments.adversarial": "gymlab.runners.experiments.vision.adversarial",
    "gymlab.runners.experiments.understanding": "gymlab.runners.experiments.vision.understanding",
    "gymlab.runners.experiments.embedding": "gymlab.runners.experiments.vision.embedding",
    "gymlab.runners.experiments.maximal_patches": "gymlab.runners.experiments.vision.maximal_patches",
    "gymlab.runners.experiments.fooling": "gymlab.runners.experiments.vision.fooling",
    "gymlab.runners.experiments.style": "gymlab.runners.experiments.vision.style",
    "gymlab.runners.experiments.fast_style": "gymlab.runners.experiments.vision.fast_style",
    "gymlab.runners.experiments.compress": "gymlab.runners.experiments.vision.compress",
    "gymlab.runners.experiments.complexity": "gymlab.runners.experiments.vision.complexity",
    "gymlab.runners.experiments.tabular": "gymlab.runners.experiments.rl.tabular",
    "gymlab.runners.experiments.deep_rl": "gymlab.runners.experiments.rl.deep_rl",
    "gymlab.runners.experiments.sb3": "gymlab.runners.experiments.rl.sb3",
    "gymlab.runners.experiments.pca_autoencoder": "gymlab.runners.experiments.generative.pca_autoencoder",
    "gymlab.runners.experiments.backprop": "gymlab.runners.experiments.lessons.backprop",
    "gymlab.runners.experiments.rnn_gradients": "gymlab.runners.experiments.lessons.rnn_gradients",
}


_OLD = tuple(MOVED)  # for one C-level str.startswith: the finder is asked about every import of the process


def new_name(fullname: str) -> str | None:
    """Where a module of an old path lives now (a moved package's submodules too), or None."""
    if not fullname.startswith(_OLD):  # nearly every import: answered without a Python loop
        return None
    for old, new in MOVED.items():
        if fullname == old or fullname.startswith(old + "."):
            return new + fullname[len(old):]
    return None


class _MovedModules:
    """A meta path finder and loader (the import protocol's find_spec, create_module, exec_module; duck-typed:
    importlib.abc alone costs 20 ms of `gymlab list`)."""

    def __init__(self):
        self.specs: dict = {}  # new full name -> its own module spec

    def find_spec(self, fullname, path=None, target=None):
        return importlib.machinery.ModuleSpec(fullname, self) if new_name(fullname) else None

    def create_module(self, spec):
        module = importlib.import_module(new_name(spec.name))
        self.specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.specs[module.__name__]  # the import system gave it the alias's spec: undo


def install() -> None:
    if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedModules())
