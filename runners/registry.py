"""The experiment registry and the experiment contract (see DESIGN.md).

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
(issue 9's babysitting checks).
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from gymlab.runners.errors import GymlabError


@dataclass
class Context:
    """What the runner hands an experiment in ``setup``.

    Experiments with an ``nn.Module`` call ``model = ctx.prepare_model(model)`` (device, optional
    ``torch.compile``, DistributedDataParallel under torchrun), take each global batch's share with
    ``idx = ctx.shard(idx)``, and run forward passes under ``with ctx.autocast():`` (bf16 when
    ``amp=true``). With one process and the defaults all three are no-ops apart from ``.to(device)``.
    Batches kept on the CPU go to the device with ``ctx.to_device(x)`` (pinned, non-blocking on CUDA).
    """

    device: torch.device
    seed: int
    run_dir: Path
    log: Callable[[dict], None]  # extra scalars outside train_step (rarely needed)
    rank: int = 0
    world_size: int = 1
    amp: bool = False
    compile: bool = False

    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module:
        model = model.to(self.device)
        if self.compile:
            model = torch.compile(model)
        if self.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = _DDP(model, device_ids=ids)
        return model

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This process's share of a global batch of indices (all of it with one process)."""
        return idx[self.rank::self.world_size] if self.world_size > 1 else idx

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        """Move a CPU batch to the device; on CUDA through pinned memory with a non-blocking copy,
        so that the transfer overlaps with the GPU's work (what DataLoader(pin_memory=True) does)."""
        if self.device.type == "cuda" and x.device.type == "cpu":
            return (x if x.is_pinned() else x.pin_memory()).to(self.device, non_blocking=True)
        return x.to(self.device)


class _DDP(torch.nn.parallel.DistributedDataParallel):
    """DistributedDataParallel whose state_dict is its module's (no ``module.`` prefix), so that a
    checkpoint written by N processes loads in one, and the other way round."""

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


@dataclass
class Spec:
    name: str
    cls: type
    description: str
    data: str
    metric: str
    mode: str  # "max" or "min"
    select: str  # the metric that picks checkpoints/best.pt (a validation metric, not the test one)

    @property
    def config_cls(self) -> type:
        return self.cls.Config


_REGISTRY: dict[str, Spec] = {}
_loaded = False


def register(name: str, *, description: str = "", data: str = "", metric: str = "eval/accuracy",
             mode: str = "max", select: str | None = None):
    """Class decorator: make an experiment runnable as ``gymlab run NAME``."""
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")

    def wrap(cls):
        if not dataclasses.is_dataclass(getattr(cls, "Config", None)):
            raise TypeError(f"experiment {name!r} needs a dataclass attribute Config")
        doc = description or ((cls.__doc__ or "").strip().splitlines() or [""])[0]
        _REGISTRY[name] = Spec(name, cls, doc, data, metric, mode, select or metric)
        return cls

    return wrap


def _load_all() -> None:
    """Import every module in runners.experiments so that their @register calls run."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import gymlab.runners.experiments as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"gymlab.runners.experiments.{mod.name}")


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get(name: str) -> Spec:
    _load_all()
    if name not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(name, _REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise GymlabError(f"unknown experiment {name!r}{hint}; valid: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def all_specs() -> list[Spec]:
    _load_all()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def describe(spec: Spec) -> dict[str, Any]:
    return {"name": spec.name, "description": spec.description, "data": spec.data, "metric": spec.metric}
