"""Making environments from what a user holds: a gymnasium id, an env factory, an env or a vector env.

    make_env("CartPole-v1")                      # any id gymnasium.make accepts,
    make_env("mypackage.envs:MyEnv-v0")          # including "module:Env-v0" (the module registers the env)
    make_env(lambda: MyEnv(size=5))              # a factory: a callable returning a gymnasium.Env
    make_vec_env("CartPole-v1", n_envs=8)        # gymnasium's vector env (native when the env has one)

``check_env_id`` validates an id the way ``gymnasium.make`` resolves it (importing the module of a
``module:Env-v0`` id first) and raises a one-line ValueError otherwise, so that a command line can
refuse a bad id before building anything.

Vector envs are kept in gymnasium's default *next-step* autoreset mode: the step that ends an
episode returns its final observation and the next step of that sub-env resets it. The agents rely on
it (they mask the reset step out), so another mode is refused.
"""
from __future__ import annotations

import importlib

import gymnasium as gym

__all__ = ["make_env", "make_vec_env", "check_env_id", "is_env_factory"]

EXAMPLE_IDS = "e.g. CartPole-v1, Pendulum-v1, gymlab/Catch-v0, or mymodule:MyEnv-v0 for an env registered by mymodule"


def check_env_id(env_id: str) -> gym.envs.registration.EnvSpec:
    """The spec of ``env_id`` as ``gymnasium.make`` would find it; a one-line ValueError when there is none."""
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"an env id must be a non-empty string; got {env_id!r} ({EXAMPLE_IDS})")
    module, _, name = env_id.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except Exception as e:  # noqa: BLE001 - any import failure of the user's module is the same one-line error
            raise ValueError(f"{env_id!r}: cannot import module {module!r} ({type(e).__name__}: {e}); "
                             f"the part before ':' must be an importable module that registers {name!r}") from None
    try:
        return gym.spec(name)
    except gym.error.Error as e:
        where = f" after importing {module!r}" if module else ""
        raise ValueError(f"{env_id!r} is not a registered gymnasium env{where} ({e}); {EXAMPLE_IDS}") from None


def is_env_factory(env) -> bool:
    """A callable that makes an env (an env class or a function), not an env or a vector env itself."""
    return callable(env) and not isinstance(env, (gym.Env, gym.vector.VectorEnv))


def make_env(env, render_mode: str | None = None) -> gym.Env:
    """One env from a gymnasium id, a factory (a callable returning an env) or an env (returned as it is)."""
    if isinstance(env, str):
        return gym.make(env, render_mode=render_mode) if render_mode else gym.make(env)
    if isinstance(env, gym.Env):
        return env
    if is_env_factory(env):
        made = env()
        if not isinstance(made, gym.Env):
            raise TypeError(f"the env factory returned a {type(made).__name__}, not a gymnasium.Env")
        return made
    raise TypeError(f"env must be a gymnasium id, an env factory or a gymnasium.Env; got {type(env).__name__}")


def make_vec_env(env, n_envs: int) -> gym.vector.VectorEnv:
    """``n_envs`` copies of ``env`` (an id, a factory, an existing VectorEnv, or a gym.Env when ``n_envs=1``)
    in next-step autoreset mode."""
    if isinstance(env, gym.vector.VectorEnv):
        venv = env
    elif isinstance(env, str):
        venv = gym.make_vec(env, num_envs=n_envs)
    elif isinstance(env, gym.Env):
        if n_envs != 1:
            raise TypeError(f"one gymnasium.Env cannot be copied into n_envs={n_envs} envs; pass an env id or a "
                            f"factory (a callable returning a new env), or use n_envs=1")
        venv = gym.vector.SyncVectorEnv([lambda: env])
    elif is_env_factory(env):
        venv = gym.vector.SyncVectorEnv([env] * n_envs)
    else:
        raise TypeError(f"env must be a gymnasium id, an env factory or a VectorEnv (or a gym.Env with n_envs=1); "
                        f"got {type(env).__name__}")
    mode = venv.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
    if mode != gym.vector.AutoresetMode.NEXT_STEP:
        raise ValueError(f"vector env has autoreset mode {mode}; the agents expect AutoresetMode.NEXT_STEP "
                         f"(gymnasium's default)")
    return venv
