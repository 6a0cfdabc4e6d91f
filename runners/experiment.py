"""The experiment contract, as code (DESIGN.md, "The experiment contract").

An experiment is a class registered under a name (``@register("softmax", ...)``) with a typed
``Config`` (a dataclass derived from ``RunConfig``) and five methods; the runner owns the rest
(seeding, device, the loop and its budget, evaluation every N steps, checkpoints and resume,
logging, signals)::

    setup(cfg, ctx)        build data, model, optimizer            (abstract)
    train_step() -> dict   one unit of work                        (abstract)
    evaluate()   -> dict   metrics on held-out data or episodes    (abstract)
    media()      -> dict   name -> Figure | image array | Path | list of row dicts | runners.media's
                           Video, Boxes, Masks, Confusion, Curve (W&B's own types)  (default: none)
    state_dict() / load_state_dict()                               (default: gathered, see below)

Checkpoint state is gathered from the instance, as the agent API does: every ``nn.Module`` and
``Optimizer`` attribute (its ``state_dict``), every ``torch.Generator`` (its state), and the plain
counters named in ``counters`` (``("step",)`` by default). Learning-rate schedulers are not saved
but replayed: an attribute ``sched`` is stepped ``step`` times after a load, so that a resume with a
new budget ``budget`` follows the new schedule. An experiment writes its own ``state_dict`` only for
something unusual (a replay buffer, a planner's table).

Optional attributes the runner reads: ``steps_per_epoch`` (for ``epochs=`` budgets), ``done`` (True
when there is nothing left to do, e.g. a converged planner) and ``sanity_model()`` (``sanity=true``).
"""
from __future__ import annotations

import abc
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

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
            model = DDP(model, device_ids=ids)
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


class DDP(torch.nn.parallel.DistributedDataParallel):
    """DistributedDataParallel whose state_dict is its module's (no ``module.`` prefix), so that a
    checkpoint written by N processes loads in one, and the other way round."""

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


def replay_schedule(sched, steps: int, total: int) -> None:
    """Step a learning-rate scheduler ``steps`` times (after a resume, possibly with a new budget)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()": intended here
        for _ in range(min(steps, total - 1)):
            sched.step()


_STATEFUL = (torch.nn.Module, torch.optim.Optimizer)


class Experiment(abc.ABC):
    """The base of every experiment: three abstract methods, and checkpoint state gathered for free."""

    Config: ClassVar[type]
    counters: ClassVar[tuple[str, ...]] = ("step",)
    steps_per_epoch: int = 1
    done: bool = False

    @abc.abstractmethod
    def setup(self, cfg, ctx: Context) -> None:
        """Build data, model and optimiser from the config; ``ctx`` gives device, seed and run dir."""

    @abc.abstractmethod
    def train_step(self) -> dict:
        """One unit of work (a batch, a rollout and its update, a sweep); returns scalar metrics."""

    @abc.abstractmethod
    def evaluate(self) -> dict:
        """Metrics on held-out data or evaluation episodes (shared keys: ``eval/accuracy``, ...)."""

    def media(self) -> dict:
        """Figures, images and tables for the dashboard; none by default. ``runners.media``'s Video,
        Boxes, Masks, Confusion and Curve become W&B videos, box and mask overlays, a confusion
        matrix with a per-class table, and line charts (and plain files in the run folder)."""
        return {}

    def state_dict(self) -> dict:
        state = {}
        for name, value in vars(self).items():
            if isinstance(value, _STATEFUL):
                state[name] = value.state_dict()
            elif isinstance(value, torch.Generator):
                state[name] = value.get_state()
            elif name in self.counters:
                state[name] = value
        return state

    def load_state_dict(self, state: dict) -> None:
        """Fill the gathered state back in; a checkpoint whose names do not fit this experiment (written
        by another version of it) is refused rather than loaded half."""
        extra = sorted(set(state) - set(self.state_dict()) - set(self.counters))
        missing = sorted(set(Experiment.state_dict(self)) - set(state))
        if extra or missing:
            raise GymlabError(f"the checkpoint's state does not fit {type(self).__name__} (unexpected: "
                              f"{', '.join(extra) or '-'}; missing: {', '.join(missing) or '-'}): it was written by "
                              f"another version of this experiment; start a new run")
        for name, value in state.items():
            current = getattr(self, name, None)
            if isinstance(current, _STATEFUL):
                current.load_state_dict(value)
            elif isinstance(current, torch.Generator):
                current.set_state(value)
            else:
                setattr(self, name, value)
        if getattr(self, "sched", None) is not None:
            replay_schedule(self.sched, getattr(self, "step", 0), getattr(self, "budget", 1 << 62))


def check_contract(cls: type) -> None:
    """What ``register`` checks: the five methods exist (through ``Experiment`` or written out)."""
    missing = [m for m in ("setup", "train_step", "evaluate", "media", "state_dict", "load_state_dict")
               if not callable(getattr(cls, m, None))]
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing or abstract:
        raise TypeError(f"experiment class {cls.__name__} does not implement the contract: "
                        f"{', '.join(missing + abstract)} missing (see gymlab.runners.experiment)")
