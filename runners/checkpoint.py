"""Checkpoints: plain data written atomically, read without running code.

- Atomic: write to a temporary file in the same folder, fsync, then rename over the old one; a crash
  during a save leaves the previous checkpoint intact and loadable (``remove_leftovers`` deletes the
  temporary file a killed save leaves behind). Written files get the user's umask, like any other.
- Data, never code: ``save`` refuses anything but tensors and plain values (``check_plain``), and
  ``load`` reads with ``torch.load(weights_only=True)`` (NumPy arrays allowed). A file that names
  other Python objects (an older gymlab's, or a planted one) is refused; ``convert`` rewrites a
  *trusted* one as plain data.
- Matched to its run: each checkpoint holds the experiment's name and the fingerprint of the config
  keys that define what is trained (``fingerprint``); ``check_match`` refuses a checkpoint of another
  run.
- An operating-system error while writing is one line naming the path and the cause (FileSystemError).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from gymlab.runners.config import ALIASES
from gymlab.runners.errors import FileSystemError, GymlabError
from gymlab.vision.data.safe_load import UnsafeCheckpointError, check_plain, load_checkpoint

# Config keys that say how long, where and how visibly a run goes, not what it trains: a resume may
# change them, and they are left out of the fingerprint.
RUN_KEYS = ("device", "steps", "epochs", "seconds", "timesteps", "eval_every", "log_every", "checkpoint_every",
            "media_every_eval", "sanity", "out", "run_dir", "progress", "logger", "torch_threads", "gif", "data_root",
            "eval_episodes", "eval_seed", "n_beam_eval")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a checkpoint is as readable as metrics.jsonl
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(e, OSError) and not isinstance(e, FileSystemError):
            raise FileSystemError("write", path, e) from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporary files (``.NAME.*.tmp``) that a save killed mid-write left in ``folder``."""
    gone = []
    for p in Path(folder).glob(".*.tmp"):
        try:
            p.unlink()
            gone.append(p)
        except OSError:
            pass
    return gone


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, torch.Tensor):
        return x.tolist()
    return str(x)


def fingerprint(cfg_dict: dict) -> str:
    """A short hash of the config keys that define what is trained (all but RUN_KEYS). Groups are
    flattened to their leaves, named by the leaf alone where that is unique (``optim.lr`` -> ``lr``), so
    a run saved before a key moved into a group keeps its fingerprint."""
    leaves: dict = {}

    def walk(d: dict, prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict) and k != "logger":
                walk(v, f"{prefix}{k}.")
            else:
                leaves[prefix + k] = v

    walk(cfg_dict, "")
    old_name = {new: old for old, new in ALIASES.items()}  # optim.name -> optimizer, data.root -> data_root

    def short(key: str) -> str:
        return old_name.get(key) or (key[:-5] if key.endswith(".name") else key.rsplit(".", 1)[-1])

    shorts = [short(k) for k in leaves]
    kept = {}
    for key, v in leaves.items():
        if key in RUN_KEYS or short(key) in RUN_KEYS or key == "experiment":
            continue
        kept[short(key) if shorts.count(short(key)) == 1 else key] = v
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]


def save(path: Path, payload: dict) -> None:
    try:
        check_plain(payload, "the checkpoint")
    except TypeError as e:  # a programming error in an experiment's state_dict: name what it put there
        raise GymlabError(f"cannot save {path}: {e}") from None
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def load(path: Path, *, hint: str = "") -> dict:
    """Read a checkpoint as data. ``hint`` ends the corrupt-file message (what the user can do instead)."""
    path = Path(path)
    if not path.exists():
        raise GymlabError(f"no checkpoint at {path}; a run directory holds checkpoints/latest.pt once it has evaluated")
    try:
        payload = load_checkpoint(path)
    except UnsafeCheckpointError as e:
        raise GymlabError(f"checkpoint {path} was refused: {e} (an older gymlab's format, or a planted file), and "
                          f"loading it could run code; if you trust it, convert it with: gymlab convert {path}") from None
    except IsADirectoryError:
        raise GymlabError(f"checkpoint {path} is a folder, not a file") from None
    except PermissionError:
        raise GymlabError(f"cannot read checkpoint {path}: permission denied") from None
    except Exception as e:  # noqa: BLE001 - any other reading failure means the same thing to the user
        raise GymlabError(f"checkpoint {path} is corrupt or unreadable ({type(e).__name__})"
                          f"{'; ' + hint if hint else ''}") from None
    if not isinstance(payload, dict) or "state" not in payload or "step" not in payload:
        raise GymlabError(f"checkpoint {path} is not a gymlab checkpoint (missing 'state' or 'step')")
    return payload


def check_match(payload: dict, path: Path, name: str, cfg_dict: dict) -> None:
    """Refuse a checkpoint saved by another experiment, or by a run whose trained config differs."""
    saved = payload.get("experiment")
    if saved is not None and saved != name:
        raise GymlabError(f"checkpoint {path} belongs to a {saved!r} run, not to this {name!r} run; "
                          f"it was copied from another run folder")
    fp = payload.get("fingerprint")
    if fp is not None and fp != fingerprint(cfg_dict):
        raise GymlabError(f"checkpoint {path} was saved under another {name} config than this folder's config.yaml "
                          f"(fingerprint {fp} vs {fingerprint(cfg_dict)}); it belongs to another run")


def convert(path: Path) -> Path:
    """Rewrite a *trusted* checkpoint of an older gymlab as plain data (the original is kept as ``NAME.orig``).

    This is the one place that unpickles with ``weights_only=False``: it runs the file's code, so only
    for a file the user vouches for. Pickled envs are dropped (a resume then restarts the episodes in
    progress), gymnasium spaces become dicts, an SB3 zip becomes its policy's and optimiser's state_dicts,
    and an ``agent.save`` file takes the runner's layout. Anything else that is not plain data is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise GymlabError(f"no checkpoint file at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001
        raise GymlabError(f"cannot convert {path}: it does not load even when trusted ({type(e).__name__})") from None
    if isinstance(payload, dict) and "agent" in payload and "observation_space" in payload:  # an old agent.save file
        from gymlab.agents.env_state import space_to_dict

        meta = {"agent": payload["agent"], "config": payload["config"], "seed": payload["seed"], "env": payload["env"],
                "observation_space": space_to_dict(payload["observation_space"]),
                "action_space": space_to_dict(payload["action_space"])}
        state = {**payload["state"], "meta": meta}
        payload = {"step": state.get("num_timesteps", 0), "experiment": payload["agent"], "state": {"agent": state}}
    if not isinstance(payload, dict) or "state" not in payload:
        raise GymlabError(f"cannot convert {path}: it is not a gymlab checkpoint (no 'state')")
    agent = payload["state"].get("agent") if isinstance(payload["state"], dict) else None
    if isinstance(agent, dict):
        if isinstance(agent.get("envs"), bytes):
            del agent["envs"]  # a pickled vector env: the rebuilt env starts its episodes afresh
        if isinstance(agent.get("model"), bytes):  # the old SB3 adapter's zip
            payload["state"]["agent"] = _convert_sb3(agent, str(payload.get("experiment", "")))
    try:
        check_plain(payload, "the checkpoint")
    except TypeError as e:
        raise GymlabError(f"cannot convert {path}: {e}") from None
    backup = path.with_name(path.name + ".orig")
    atomic_write_bytes(backup, path.read_bytes())
    save(path, payload)
    return path


def _convert_sb3(agent: dict, experiment: str) -> dict:
    from stable_baselines3 import A2C, DQN, PPO

    algo = experiment.removeprefix("sb3-")
    cls = {"a2c": A2C, "ppo": PPO, "dqn": DQN}.get(algo)
    if cls is None:
        raise GymlabError(f"cannot convert an SB3 model of experiment {experiment!r}; valid: sb3-a2c, sb3-ppo, sb3-dqn")
    model = cls.load(io.BytesIO(agent["model"]), device="cpu")
    counters = {k: getattr(model, k) for k in ("num_timesteps", "_n_updates", "_episode_num",
                                               "_current_progress_remaining", "exploration_rate", "_n_calls")
                if hasattr(model, k)}
    return {"policy": model.policy.state_dict(), "optimizer": model.policy.optimizer.state_dict(),
            "episodes": [list(e) for e in agent.get("episodes", [])], "total_timesteps": agent.get("total_timesteps", 0),
            "counters": counters, "action_space_rng": model.action_space.np_random.bit_generator.state}


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(tuple(state["python"]) if isinstance(state["python"], list) else state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
