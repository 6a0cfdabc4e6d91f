"""An environment's state as plain data, so that a checkpoint never pickles an env.

A resumed run rebuilds its envs from the config (same id, same wrappers); what then differs from
the interrupted envs is their *dynamic* state: the physics state, step counters, the current frame
stack, and the random generators. ``env_state`` walks the env, its wrappers (``.env``) and a vector
env's sub-envs (``.envs``) and records every attribute that is plain data (numbers, strings, None,
NumPy arrays and lists/tuples/dicts of them; a ``numpy.random.Generator`` as its bit generator's
state dict). ``load_env_state`` writes those values back into the rebuilt env, so that it steps
exactly as the saved one would have. Attributes that are not plain data (renderers, spaces, specs,
callables) are rebuilt with the env and carry no state of an episode. ``space_to_dict`` and
``space_from_dict`` do the same for the Box and Discrete spaces an agent is built for.

The state is keyed by attribute path (``envs.0.env._elapsed_steps``); restoring into an env whose
structure lacks a saved path raises ``ValueError``: it is another env.
"""
from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np

__all__ = ["env_state", "load_env_state", "space_to_dict", "space_from_dict"]

_PLAIN = (type(None), bool, int, float, str, np.generic)


def _plain(v) -> bool:
    if isinstance(v, _PLAIN):
        return not isinstance(v, np.object_)
    if isinstance(v, np.ndarray):
        return not v.dtype.hasobject
    if isinstance(v, (list, tuple, deque)):
        return all(_plain(x) for x in v)
    if type(v) is dict:
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    return False


def _children(obj):
    """(name, child) for the env objects reachable from ``obj``: a wrapper's env, a vector env's envs."""
    for name, v in vars(obj).items():
        if isinstance(v, (gym.Env, gym.vector.VectorEnv)):
            yield name, v
        elif isinstance(v, list) and v and all(isinstance(e, gym.Env) for e in v):
            for i, e in enumerate(v):
                yield f"{name}.{i}", e


def env_state(env) -> dict:
    """``{path: value}`` for every plain-data attribute of ``env`` and the envs inside it."""
    out: dict = {}

    def walk(obj, prefix: str):
        for name, v in vars(obj).items():
            if isinstance(v, np.random.Generator):
                out[prefix + name] = {"bit_generator": v.bit_generator.state}
            elif _plain(v):
                out[prefix + name] = list(v) if isinstance(v, deque) else v
        for name, child in _children(obj):
            walk(child, f"{prefix}{name}.")

    walk(env, "")
    return out


def load_env_state(env, state: dict) -> None:
    """Write ``state`` (from ``env_state``) back into a freshly built ``env`` of the same structure."""
    objects = {"": env}

    def index(obj, prefix: str):
        for name, child in _children(obj):
            objects[f"{prefix}{name}."] = child
            index(child, f"{prefix}{name}.")

    index(env, "")
    for path, value in state.items():
        prefix, _, attr = path.rpartition(".")
        obj = objects.get(prefix + "." if prefix else "")
        if obj is None:
            raise ValueError(f"the saved env state has {path!r} but the rebuilt env has no {prefix!r}: another env")
        current = getattr(obj, attr, None)
        if isinstance(current, np.random.Generator) and isinstance(value, dict) and "bit_generator" in value:
            current.bit_generator.state = value["bit_generator"]
        elif isinstance(value, dict) and "bit_generator" in value and current is None:
            gen = np.random.Generator(getattr(np.random, value["bit_generator"]["bit_generator"])())
            gen.bit_generator.state = value["bit_generator"]
            setattr(obj, attr, gen)
        elif isinstance(current, deque):
            current.clear()
            current.extend(value)
        else:
            setattr(obj, attr, value)


def space_to_dict(space: gym.Space) -> dict:
    """A Box or Discrete space as plain data (what an agent needs to be rebuilt without its env)."""
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "low": space.low, "high": space.high, "dtype": str(space.dtype)}
    raise TypeError(f"cannot save the space {space} as plain data; agents take Box and Discrete spaces")


def space_from_dict(d: dict) -> gym.Space:
    if d["type"] == "Discrete":
        return gym.spaces.Discrete(d["n"], start=d["start"])
    if d["type"] == "Box":
        return gym.spaces.Box(np.asarray(d["low"]), np.asarray(d["high"]), dtype=np.dtype(d["dtype"]))
    raise ValueError(f"unknown space type {d['type']!r}; valid: Box, Discrete")
