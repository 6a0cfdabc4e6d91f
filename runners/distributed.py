"""Data-parallel training under ``torchrun``: one process per device, gradients averaged by DDP.

    gymlab run mlp --nproc 2          # = torchrun --standalone --nproc_per_node 2 -m gymlab.runners.cli run mlp
    torchrun --standalone --nproc_per_node 2 -m gymlab.runners.cli resume runs/mlp-...   # resume, data-parallel

Each of the N processes (``RANK`` 0..N-1, set by torchrun with ``WORLD_SIZE`` and ``LOCAL_RANK``)
builds the same model from the same seed, draws the same global batch of B indices from
(seed, step), and keeps its share ``idx[rank::N]`` (``ctx.shard``). DistributedDataParallel
all-reduces the gradients after ``backward``, so every process applies

    g = 1/N sum_r grad L_r(w) = grad (1/B sum_i l_i(w))     (equal shares of B/N examples)

which is the gradient of one process on the whole batch: N processes give the same parameters as
one, up to float rounding. Rank 0 alone writes the run directory (config, metrics, checkpoints,
media, W&B); the others receive its path, so ``resume`` reads the same checkpoint everywhere.
Backend: NCCL on GPUs, gloo on CPUs.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from gymlab.runners.errors import GymlabError


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _wants_cuda(device: str) -> bool:
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


@contextlib.contextmanager
def process_group(device: str = "auto"):
    """Join the process group that torchrun set up (a no-op for a single process); leave it at the end."""
    if world_size() <= 1 or dist.is_initialized():
        yield
        return
    cuda = _wants_cuda(device)
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def device_for_rank(device: torch.device) -> torch.device:
    """Under torchrun, ``cuda`` means this process's GPU, ``cuda:LOCAL_RANK``."""
    if device.type == "cuda" and device.index is None and world_size() > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def shared_run_dir(make: Callable[[], Path]) -> Path:
    """Rank 0 creates the run directory with ``make()``; every rank returns its path."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return make()
    box: list = [None]
    if dist.get_rank() == 0:
        try:
            box[0] = str(make())
        except GymlabError as e:  # tell the other ranks, so that they stop too instead of waiting
            box[0] = e
    dist.broadcast_object_list(box, src=0)
    if isinstance(box[0], GymlabError):
        raise box[0]
    return Path(box[0])


def launch(name: str, overrides: list[str], nproc: int, as_json: bool = False) -> int:
    """Run ``gymlab run NAME ...`` in ``nproc`` processes with torchrun; return its exit status.

    Only rank 0's output is shown (``--local-ranks-filter 0``): it prints the summary.
    """
    if nproc < 1:
        raise GymlabError(f"bad value for --nproc: {nproc}; it must be at least 1")
    if torch.cuda.is_available() and nproc > torch.cuda.device_count() and not any(
            o.startswith("device=") and "cuda" not in o for o in overrides):
        raise GymlabError(f"--nproc {nproc} needs {nproc} GPUs but torch sees {torch.cuda.device_count()}; "
                          f"use --nproc {torch.cuda.device_count()} or device=cpu")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "--local-ranks-filter=0", "-m", "gymlab.runners.cli", "run", name, *overrides]
    if as_json:
        cmd.append("--json")
    env = dict(os.environ)
    # One OpenMP thread per process unless asked otherwise: N processes share the cores.
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    return subprocess.run(cmd, env=env).returncode
