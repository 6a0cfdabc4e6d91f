"""Old module paths that keep importing after a module moved (issue 13: public names stay importable).

``gymlab.vision.knn`` moved to ``gymlab.vision.classify.knn``; a package lists its moves as
``{"knn": "classify.knn", ...}`` and calls ``alias(__name__, moves)``. ``import gymlab.vision.knn``
then gives the very same module object (not a copy), so classes, isinstance checks and pickles agree.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self):
        self.moved: dict[str, str] = {}  # old full name -> new full name
        self.specs: dict = {}  # new full name -> its own module spec

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.moved:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module(self.moved[spec.name])
        self.specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.specs[module.__name__]  # the import system gave it the alias's spec: undo


_FINDER = _MovedModules()


def alias(package: str, moves: dict[str, str]) -> None:
    """Let ``package.old`` import as ``package.new`` for every ``old: new`` in ``moves``."""
    _FINDER.moved.update({f"{package}.{old}": f"{package}.{new}" for old, new in moves.items()})
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
