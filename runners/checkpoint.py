"""Atomic checkpoints: write to a temporary file in the same folder, fsync, then rename over the old one.

A crash during a save leaves the previous checkpoint intact and loadable.
"""
from __future__ import annotations

import io
import json
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from gymlab.runners.errors import GymlabError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, torch.Tensor):
        return x.tolist()
    return str(x)


def save(path: Path, payload: dict) -> None:
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def load(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise GymlabError(f"no checkpoint at {path}; a run directory holds checkpoints/latest.pt once it has evaluated")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means the same thing to the user
        raise GymlabError(f"checkpoint {path} is corrupt or unreadable ({type(e).__name__}); "
                          f"delete it to fall back on checkpoints/best.pt or start a new run") from None
    if not isinstance(payload, dict) or "state" not in payload or "step" not in payload:
        raise GymlabError(f"checkpoint {path} is not a gymlab checkpoint (missing 'state' or 'step')")
    return payload


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
