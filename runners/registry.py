"""The experiment registry and the experiment contract (see docs/DESIGN.md).

An experiment is a small class registered under a name::

    @register("softmax", data="digits", metric="eval/accuracy", mode="max")
    class Softmax:
        Config = SoftmaxConfig          # a dataclass derived from runners.config.RunConfig

        def setup(self, cfg, ctx): ...  # build data, model, optimizer; may set self.steps_per_epoch
        def train_step(self) -> dict: ...
        def evaluate(self) -> dict: ...
        def media(self) -> dict: ...    # name -> matplotlib Figure | image array | Path | list of row dicts
        def state_dict(self) -> dict: ...
        def load_state_dict(self, state: dict) -> None: ...

Optional attributes: ``steps_per_epoch`` (for ``epochs=`` budgets, default 1), ``done`` (set to
True when the experiment has nothing left to do, e.g. a converged planner), ``sanity_model()``
(issue 9's babysitting checks), ``export()`` (what ``gymlab.load`` returns: the trained agent, or a
model in eval mode with its preprocessing).

Where experiments come from:

- the modules of ``gymlab.runners.experiments`` (every file there is imported by ``names()``);
- plugins: module names or ``.py`` paths in ``$GYMLAB_PLUGINS`` (comma-separated; the CLI's
  ``--plugin`` adds to it, so subprocesses and Ray workers see the same plugins);
- installed packages: the ``gymlab.experiments`` entry-point group, one entry per experiment,
  ``name = "package.module"`` or ``"package.module:Class"``.

This module does not import torch, so that ``gymlab list`` and ``show`` stay fast: they read
``experiments/_index.json``, written by ``python -m gymlab.runners.experiments`` from the real
registry, and fall back on importing every module when a source file has changed since.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import os
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gymlab.runners.errors import GymlabError

PLUGIN_ENV = "GYMLAB_PLUGINS"
ENTRY_POINT_GROUP = "gymlab.experiments"
INDEX = Path(__file__).resolve().parent / "experiments" / "_index.json"


def __getattr__(name):
    """``registry.Context`` (now in gymlab.runners.experiment, with the contract), imported on first
    use: this module does not import torch."""
    if name == "Context":
        from gymlab.runners.experiment import Context

        return Context
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Spec:
    name: str
    cls: type
    description: str
    data: str
    metric: str
    mode: str  # "max" or "min"
    select: str  # the metric that picks checkpoints/best.pt (a validation metric, not the test one)
    module: str = ""  # the module whose import registers it

    @property
    def config_cls(self) -> type:
        return self.cls.Config


_REGISTRY: dict[str, Spec] = {}
_loaded = False
_plugins_loaded: set[str] = set()


def register(name: str, *, description: str = "", data: str = "", metric: str = "eval/accuracy",
             mode: str = "max", select: str | None = None):
    """Class decorator: make an experiment runnable as ``gymlab run NAME``."""
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    module = sys._getframe(1).f_globals.get("__name__", "")

    def wrap(cls):
        if not dataclasses.is_dataclass(getattr(cls, "Config", None)):
            raise TypeError(f"experiment {name!r} needs a dataclass attribute Config")
        from gymlab.runners.experiment import check_contract

        check_contract(cls)
        doc = description or ((cls.__doc__ or "").strip().splitlines() or [""])[0]
        _REGISTRY[name] = Spec(name, cls, doc, data, metric, mode, select or metric, module)
        return cls

    return wrap


# ------------------------------------------------------------------------------------------ plugins
def _plugin_items() -> list[str]:
    raw = os.environ.get(PLUGIN_ENV, "")
    return [p.strip() for p in raw.replace(os.pathsep, ",").split(",") if p.strip()]


def _is_path(item: str) -> bool:
    return item.endswith(".py") or os.sep in item


def add_plugins(items: list[str]) -> None:
    """Load plugins (module names or .py paths) and add them to $GYMLAB_PLUGINS, which child
    processes (torchrun, Ray workers, resumed runs) inherit."""
    new = []
    for item in items:
        if _is_path(item):
            path = Path(item).expanduser().resolve()
            if not path.is_file():
                raise GymlabError(f"plugin {item!r}: no such file; a plugin is a module name or a path to a .py file")
            item = str(path)
        new.append(item)
    current = _plugin_items()
    os.environ[PLUGIN_ENV] = ",".join(current + [i for i in new if i not in current])
    _load_plugins()


def _load_plugins() -> None:
    """Import the plugins named in $GYMLAB_PLUGINS that are not imported yet."""
    for item in _plugin_items():
        if item in _plugins_loaded:
            continue
        _plugins_loaded.add(item)
        try:
            if _is_path(item):
                path = Path(item).expanduser()
                if not path.is_file():
                    raise GymlabError(f"plugin {item!r} (from ${PLUGIN_ENV}): no such file")
                name = f"gymlab_plugin_{path.stem}"
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module  # classes defined there pickle by reference (Ray, spawn)
                spec.loader.exec_module(module)
            else:
                importlib.import_module(item)
        except GymlabError:
            raise
        except ModuleNotFoundError as e:
            if not _is_path(item) and e.name and item.startswith(e.name):
                raise GymlabError(f"plugin {item!r}: no module named {e.name!r} on the Python path; "
                                  f"a plugin is an importable module name or a path to a .py file") from None
            raise GymlabError(f"plugin {item!r} failed to import: {type(e).__name__}: {e}") from None
        except Exception as e:  # noqa: BLE001 - the user's module: one line that says what broke
            raise GymlabError(f"plugin {item!r} failed to import: {type(e).__name__}: {e}") from None


def _entry_points() -> list:
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def _load_entry_point(ep) -> None:
    """Import an entry point; a class it names is registered under the entry point's name."""
    try:
        obj = ep.load()
    except Exception as e:  # noqa: BLE001
        raise GymlabError(f"entry point {ep.name} = {ep.value!r} (group {ENTRY_POINT_GROUP}) failed to import: "
                          f"{type(e).__name__}: {e}") from None
    if ep.name not in _REGISTRY and isinstance(obj, type):
        register(ep.name)(obj)


# ------------------------------------------------------------------------------------------ lookup
def _import_builtin() -> None:
    """Import every module of runners.experiments, in every pillar folder (names with a leading
    underscore are shared parts, imported by the modules that use them)."""
    import gymlab.runners.experiments as pkg

    for mod in sorted(pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."), key=lambda m: m.name):
        if not mod.name.rsplit(".", 1)[-1].startswith("_"):
            importlib.import_module(mod.name)


def _load_all() -> None:
    """Import every module in runners.experiments, the plugins and the entry points, so that their
    @register calls run."""
    global _loaded
    _load_plugins()
    if _loaded:
        return
    _loaded = True
    _import_builtin()
    for ep in _entry_points():
        _load_entry_point(ep)


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get(name: str) -> Spec:
    """The experiment called ``name``, importing only the module that registers it when the index
    knows it."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    entry = (_read_index() or {}).get("experiments", {}).get(name)
    if entry is not None:
        try:
            importlib.import_module(entry["module"])
        except ImportError:
            pass  # a stale index: the full search below finds it, or says what exists
        if name in _REGISTRY:
            return _REGISTRY[name]
    _load_plugins()
    if name not in _REGISTRY:
        for ep in _entry_points():
            if ep.name == name:
                _load_entry_point(ep)
    index = _read_index() or {}
    if index.get("sources") == sources_digest():  # the index knows every built-in name: no need to import them
        known = {*index["experiments"], *_REGISTRY, *(ep.name for ep in _entry_points())}
    else:
        _load_all()
        known = set(_REGISTRY)
    if name not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise GymlabError(f"unknown experiment {name!r}{hint}; valid: {', '.join(sorted(known))}"
                          f" (your own: --plugin MODULE, ${PLUGIN_ENV} or a {ENTRY_POINT_GROUP} entry point)")
    return _REGISTRY[name]


def all_specs() -> list[Spec]:
    _load_all()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def describe(spec: Spec) -> dict[str, Any]:
    return {"name": spec.name, "description": spec.description, "data": spec.data, "metric": spec.metric}


# -------------------------------------------------------------------- the index behind list and show
def index_entry(spec: Spec) -> dict[str, Any]:
    """What ``list`` and ``show`` print about an experiment, config defaults as YAML included."""
    from gymlab.runners.config import annotated_yaml

    return {**describe(spec), "mode": spec.mode, "select": spec.select, "module": spec.module,
            "config": annotated_yaml(spec.config_cls)}


def _sources() -> list[Path]:
    """The files whose edits most often change the index: every experiment module and the runner's
    config. (The RL configs also copy the agents' config fields: the index test covers those.)"""
    root = Path(__file__).resolve().parent
    files = [root / "config.py", *sorted((root / "experiments").rglob("*.py"))]
    return [f for f in files if "__pycache__" not in f.parts]


def sources_digest() -> str:
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for f in _sources():
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


_index_cache: dict | None = None


def _read_index() -> dict | None:
    global _index_cache
    if _index_cache is None:
        try:
            _index_cache = json.loads(INDEX.read_text())
        except (OSError, ValueError):
            _index_cache = {}
    return _index_cache


def build_index() -> dict:
    """The index of the built-in experiments, from the real registry (imports every module)."""
    _import_builtin()
    builtin = {n: s for n, s in _REGISTRY.items() if s.module.startswith("gymlab.runners.experiments.")}
    return {"sources": sources_digest(), "experiments": {n: index_entry(builtin[n]) for n in sorted(builtin)}}


def catalog() -> list[dict[str, Any]]:
    """Every experiment's index entry (name, description, data, metric, mode, select, config), sorted.

    Built-in ones come from the index while it is up to date with the sources (no experiment module,
    no torch imported); plugins in $GYMLAB_PLUGINS are imported; entry points are listed by name
    and imported only by ``get``."""
    index = _read_index() or {}
    if _loaded or index.get("sources") != sources_digest():
        return [index_entry(s) for s in all_specs()]
    entries = dict(index["experiments"])
    _load_plugins()
    for n, s in _REGISTRY.items():
        if n not in entries:
            entries[n] = index_entry(s)
    for ep in _entry_points():
        if ep.name not in entries:
            entries[ep.name] = {"name": ep.name, "description": f"(entry point {ep.value})", "data": "",
                                "metric": "", "mode": "", "select": "", "module": ep.value.split(":")[0],
                                "config": None}
    return [entries[n] for n in sorted(entries)]


def catalog_entry(name: str) -> dict[str, Any]:
    """One experiment's index entry; imports it only if the index does not know it."""
    index = _read_index() or {}
    if not _loaded and index.get("sources") == sources_digest() and name in index["experiments"]:
        return index["experiments"][name]
    return index_entry(get(name))


def write_index(check: bool = False) -> bool:
    """Write experiments/_index.json from the real registry; with ``check``, only say whether it is
    up to date. Returns True when the file is (now) up to date."""
    text = json.dumps(build_index(), indent=1, sort_keys=True) + "\n"
    if check:
        return INDEX.exists() and INDEX.read_text() == text
    INDEX.write_text(text)
    global _index_cache
    _index_cache = None
    return True
