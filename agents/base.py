"""The agent API shared by the deep RL learners, close to Stable-Baselines3's::

    from gymlab.agents.ppo import PPO
    agent = PPO("CartPole-v1", seed=0, n_envs=8)      # env: a gymnasium id ("module:Env-v0" too), an env
                                                      # factory, or a VectorEnv
    agent.learn(total_timesteps=50_000)               # config fields can be overridden as keyword arguments
    action, _ = agent.predict(obs, deterministic=True)  # SB3's signature: (obs, state, episode_start, deterministic)
    evaluate_policy(agent, env)                       # stable_baselines3.common.evaluation's works on our agents
    agent.evaluate(n_episodes=10)                     # {"mean_return", "std_return", "mean_length", ...}
    agent.save("ppo.pt");  agent = PPO.load("ppo.pt")

Every learner collects experience through gymnasium's vector environments (``gym.make_vec``: the
natively vectorised CartPole when the env has one, ``SyncVectorEnv`` otherwise) in their default
*next-step* autoreset mode: the step that ends an episode returns the episode's final observation,
and the next step of that sub-env resets it (its action is ignored, its transition is not real and
every agent masks it out). ``Agent._env_step`` does this bookkeeping once for all agents: it
counts real environment steps (``num_timesteps``) and records finished episodes
(``episodes``: (env steps, return, length)).

Subclasses set ``name``, ``Config`` and ``supported_action_spaces`` and implement ``_setup_model()``,
``train_iteration()`` (one unit of collection and update, returning scalar metrics) and declare
``steps_per_iteration``; ``_predict(obs, deterministic)``
defaults to the actions of ``self.policy``. Making envs (ids, factories, vector envs) lives in
``gymlab.envs.factory``; ``make_env`` and ``make_vec_env`` stay importable from here.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from gymlab.agents.env_state import env_state, load_env_state, space_from_dict, space_to_dict
from gymlab.agents.evaluation import batches_predictions, play_episodes, play_side_by_side
from gymlab.envs.factory import is_env_factory, make_env, make_vec_env
from gymlab.vision.data.safe_load import UnsafeCheckpointError, load_checkpoint

__all__ = ["Agent", "make_vec_env", "make_env", "check_spaces", "evaluate", "record_episode"]


def check_spaces(agent: type, observation_space: gym.Space, action_space: gym.Space) -> None:
    """Raise a one-line TypeError naming the unsupported space and what the agent class accepts.

    Observations: Box (vectors or uint8 frames) and Discrete. Actions: the classes in the agent's
    ``supported_action_spaces``; a Box must be 1-d (one Gaussian per dimension)."""
    name = agent.name
    if not isinstance(observation_space, (gym.spaces.Box, gym.spaces.Discrete)):
        raise TypeError(
            f"{name} does not accept the observation space {observation_space}; it takes Box (vectors or uint8 "
            f"frames) and Discrete observations; flatten it with gymnasium.wrappers.FlattenObservation, or use "
            f"sb3-a2c, sb3-ppo or sb3-dqn (MultiInputPolicy) for Dict")
    box_ok = not isinstance(action_space, gym.spaces.Box) or len(action_space.shape) == 1
    if not isinstance(action_space, agent.supported_action_spaces) or not box_ok:
        takers = sorted(a.name for a in _agent_classes()
                        if isinstance(action_space, a.supported_action_spaces) and box_ok)
        valid = " and ".join("1-d Box" if t is gym.spaces.Box else t.__name__ for t in agent.supported_action_spaces)
        valid = valid or "no"  # a learner that has not declared supported_action_spaces
        who = f"; agents that accept it: {', '.join(takers)}" if takers else ""
        raise TypeError(f"{name} does not accept the action space {action_space}; it takes {valid} actions{who}")


def _agent_classes() -> list[type]:
    """Every learner of this package (subclasses of Agent with a name), found by importing its modules."""
    import importlib
    import pkgutil

    package = __name__.rpartition(".")[0]
    for m in pkgutil.iter_modules(importlib.import_module(package).__path__):
        importlib.import_module(f"{package}.{m.name}")
    out, todo = [], list(Agent.__subclasses__())
    while todo:
        cls = todo.pop(0)
        todo += cls.__subclasses__()
        if cls.name != Agent.name and cls.name not in [c.name for c in out]:
            out.append(cls)
    return out


def evaluate(agent, env, n_episodes: int = 10, seed: int = 10_000, deterministic: bool = True,
             max_steps: int | None = None) -> dict:
    """Run ``n_episodes`` episodes on a separate env, episode i reset with seed ``seed + i``.

    ``agent`` is anything with ``predict(obs, deterministic=...) -> (action, state)`` (ours or SB3's).
    Returns mean_return, std_return, mean_length and the per-episode lists returns, lengths.
    A gymlab agent on an env id or factory plays the episodes side by side (one batched ``predict`` per
    step, the same deterministic results; see ``gymlab.agents.evaluation.play_side_by_side``).
    """
    seeds = range(seed, seed + n_episodes)
    copies = isinstance(env, str) or is_env_factory(env)
    source, env = env, make_env(env)
    try:
        if copies and batches_predictions(agent):
            returns, lengths, _ = play_side_by_side(agent, lambda: make_env(source), seeds, deterministic=deterministic,
                                                    max_steps=max_steps, first=env)
        else:
            returns, lengths, _ = play_episodes(agent, env, seeds, deterministic=deterministic, max_steps=max_steps)
    finally:
        env.close()
    return {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
            "mean_length": float(np.mean(lengths)), "returns": returns, "lengths": lengths}


def record_episode(agent, env, path, seed: int = 10_000, fps: int = 30, max_frames: int = 500) -> Path:
    """Play one deterministic episode on ``env`` (made with render_mode="rgb_array") and save a GIF."""
    import imageio

    import gymlab.envs.pixels  # noqa: F401  (headless SDL settings for pygame-rendered envs)

    env = make_env(env, render_mode="rgb_array")
    if env.render_mode != "rgb_array":
        raise ValueError(f"record_episode needs an env with render_mode='rgb_array'; got {env.render_mode!r}")
    obs, _ = env.reset(seed=seed)
    frames, done = [env.render()], False
    while not done and len(frames) < max_frames:
        action, _ = agent.predict(obs, deterministic=True)
        obs, _, term, trunc, _ = env.step(action)
        frames.append(env.render())
        done = term or trunc
    env.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, [np.asarray(f, dtype=np.uint8) for f in frames], duration=1000 / fps, loop=0)
    return path


def read_agent_state(path, device: str = "cpu") -> dict | None:
    """The ``state["agent"]`` of a checkpoint file (``agent.save``'s or a run's), read as data only with
    ``torch.load(weights_only=True)``; a refused or unreadable file is one ValueError naming it."""
    try:
        payload = load_checkpoint(path, map_location=device)
    except UnsafeCheckpointError as e:
        raise ValueError(f"{path} was refused: {e}; loading it could run code. If you trust it, convert it "
                         f"with: gymlab convert {path}") from None
    except FileNotFoundError:
        raise
    except Exception as e:  # noqa: BLE001 - any reading failure means the same thing to the user
        raise ValueError(f"{path} is corrupt or not a checkpoint ({type(e).__name__})") from None
    return payload.get("state", {}).get("agent") if isinstance(payload, dict) else None


class Agent:
    """The shared part of every learner: environments, counters, learn/predict/evaluate/save/load.

    A subclass declares what it supports, as SB3's algorithms do: ``supported_action_spaces`` (the
    gymnasium space classes its policy can output) and ``steps_per_iteration`` (env steps per
    ``train_iteration``; None when an iteration has no fixed size, as REINFORCE's whole episodes).
    ``aliases`` maps SB3's option names to ours (``learning_rate`` -> ``lr``)."""

    name = "agent"
    Config: type = None
    supported_action_spaces: tuple = ()  # each learner declares its own
    aliases = {"learning_rate": "lr"}

    def __init__(self, env, config=None, *, seed: int = 0, device: str | torch.device = "cpu", **overrides):
        cfg = config if config is not None else self.Config()
        valid = [f.name for f in dataclasses.fields(cfg)]
        overrides = self._resolve_aliases(overrides, valid)
        bad = [k for k in overrides if k not in valid]
        if bad:
            raise TypeError(f"{self.name}: unknown option {bad[0]!r}; valid: {', '.join(valid)}")
        self.cfg = dataclasses.replace(cfg, **overrides)
        self.seed, self.device = seed, torch.device(device)
        self.env = env if isinstance(env, str) else None  # an id that save() records and evaluate() re-makes
        self._eval_env = env if isinstance(env, str) or is_env_factory(env) else None  # what evaluate() makes
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.envs = make_vec_env(env, getattr(self.cfg, "n_envs", 1))
        self._build(self.envs.single_observation_space, self.envs.single_action_space)
        self.num_envs = self.envs.num_envs
        self._obs, _ = self.envs.reset(seed=seed)
        self._reset_episode_stats()

    def _resolve_aliases(self, overrides: dict, valid: list[str]) -> dict:
        """Options under their SB3 names (``learning_rate=``) renamed to ours (``lr``); both at once is an error."""
        out = {}
        for k, v in overrides.items():
            key = self.aliases[k] if k in self.aliases and self.aliases[k] in valid else k
            if key in out:
                raise TypeError(f"{self.name}: {k!r} is another name for {key!r}; give one of them")
            out[key] = v
        return out

    @property
    def steps_per_iteration(self) -> int | None:
        """Env steps that one ``train_iteration`` takes, all envs together; None: iterations of no fixed size
        (each learner declares its own)."""
        return None

    # ------------------------------------------------------------------ model
    def _build(self, observation_space, action_space) -> None:
        check_spaces(type(self), observation_space, action_space)
        self.observation_space, self.action_space = observation_space, action_space
        self.num_timesteps, self.total_timesteps, self.iterations = 0, 0, 0
        self.episodes: list[tuple[int, float, int]] = []
        self._setup_model()

    def _setup_model(self) -> None:
        raise TypeError(f"{type(self).__name__} must define _setup_model() (each agent writes its own)")

    def train_iteration(self) -> dict:
        raise TypeError(f"{type(self).__name__} must define train_iteration() (each agent writes its own)")

    def _predict(self, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        """Actions of the policy network ``self.policy`` (an ActorCritic), its actor alone; DQN overrides it
        (argmax Q)."""
        return self.policy.sample(obs, deterministic)

    def progress(self) -> float:
        """Fraction of the budget (``total_timesteps``) still ahead: 1 at the start, 0 at the end."""
        return 1.0 - min(self.num_timesteps / self.total_timesteps, 1.0) if self.total_timesteps else 1.0

    def _lr(self, lr: float) -> float:
        """The learning rate now: constant, or decayed linearly to 0 over the budget (``lr_schedule``)."""
        return lr * self.progress() if getattr(self.cfg, "lr_schedule", "constant") == "linear" else lr

    # ------------------------------------------------------------------ experience
    def _reset_episode_stats(self) -> None:
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._ep_return = np.zeros(self.num_envs)
        self._ep_length = np.zeros(self.num_envs, dtype=np.int64)

    def obs_tensor(self, obs) -> torch.Tensor:
        return torch.as_tensor(np.asarray(obs), device=self.device)

    def env_action(self, action: np.ndarray) -> np.ndarray:
        """What the env receives: Gaussian samples are clipped to the Box bounds (the agent keeps the raw sample)."""
        if isinstance(self.action_space, gym.spaces.Box):
            return np.clip(action, self.action_space.low, self.action_space.high)
        return action

    def _env_step(self, action: np.ndarray):
        """Step the vector env. Returns (next_obs, reward, terminated, truncated, valid), where ``valid`` is
        False for a sub-env's reset step (next-step autoreset: not a real transition)."""
        next_obs, reward, term, trunc, _ = self.envs.step(self.env_action(action))
        valid = ~self._autoreset
        reward = np.asarray(reward, dtype=np.float64)
        self._ep_return[valid] += reward[valid]
        self._ep_length[valid] += 1
        self.num_timesteps += int(valid.sum())
        done = np.logical_or(term, trunc) & valid
        for i in np.flatnonzero(done):
            self.episodes.append((self.num_timesteps, float(self._ep_return[i]), int(self._ep_length[i])))
            self._ep_return[i], self._ep_length[i] = 0.0, 0
        self._autoreset = np.logical_or(term, trunc)
        self._obs = next_obs
        return next_obs, reward, np.asarray(term), np.asarray(trunc), valid

    def recent_episodes(self, since_steps: int) -> dict:
        """Mean return/length of the training episodes finished after env step ``since_steps``."""
        eps = []
        for e in reversed(self.episodes):  # newest first; stop at the first older one
            if e[0] <= since_steps:
                break
            eps.append(e)
        if not eps:
            return {}
        return {"train/episode_return": float(np.mean([e[1] for e in eps])),
                "train/episode_length": float(np.mean([e[2] for e in eps]))}

    # ------------------------------------------------------------------ the SB3-like API
    def learn(self, total_timesteps: int, callback: Callable | None = None):
        """Train for ``total_timesteps`` more env steps. ``callback(agent, metrics)`` runs after every
        iteration; returning False stops early."""
        self.total_timesteps = self.num_timesteps + int(total_timesteps)
        while self.num_timesteps < self.total_timesteps:
            metrics = self.train_iteration()
            if callback is not None and callback(self, metrics) is False:
                break
        return self

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        """Action(s) for one observation or a batch, with SB3's signature and result ``(action, state)``.

        ``state`` and ``episode_start`` are for recurrent policies (SB3's API); ours are not recurrent,
        so ``state`` is returned as it came. ``deterministic=False`` samples from the policy (SB3's default);
        ``True`` takes its mode. SB3's ``evaluate_policy(agent, env)`` works on every agent."""
        obs = np.asarray(observation)
        single = obs.shape == tuple(self.observation_space.shape)
        with torch.no_grad():
            a = self._predict(self.obs_tensor(obs[None] if single else obs), deterministic).cpu().numpy()
        a = self.env_action(a)
        return (a[0] if single else a), state

    def evaluate(self, env=None, n_episodes: int = 10, seed: int = 10_000, deterministic: bool = True) -> dict:
        """Deterministic episodes on a separate env (by default one made like the training env)."""
        env = env if env is not None else getattr(self, "_eval_env", None) or self.env
        if env is None:
            raise ValueError("evaluate needs env= (the agent was built from an env instance or a VectorEnv, "
                             "not an id or a factory)")
        return evaluate(self, env, n_episodes, seed, deterministic)

    # ------------------------------------------------------------------ state
    def describe(self) -> dict:
        """What rebuilds this agent without its env: its name, config, seed, env id and spaces (plain data)."""
        return {"agent": self.name, "config": dataclasses.asdict(self.cfg), "seed": self.seed, "env": self.env,
                "observation_space": space_to_dict(self.observation_space),
                "action_space": space_to_dict(self.action_space)}

    def state_dict(self) -> dict:
        """Networks, optimisers, counters and RNG, the agent's description, and its envs' state as plain data
        (``agents.env_state``), so that training continues exactly where it stopped. Never a pickled object."""
        out = {k: v.state_dict() for k, v in vars(self).items() if isinstance(v, (nn.Module, torch.optim.Optimizer))}
        out.update(num_timesteps=self.num_timesteps, total_timesteps=self.total_timesteps, iterations=self.iterations,
                   episodes=[list(e) for e in self.episodes], rng=self.rng.bit_generator.state, meta=self.describe())
        out.update(self._extra_state())
        if getattr(self, "envs", None) is not None:
            out["envs"] = {"env": env_state(self.envs), "obs": self._obs, "autoreset": self._autoreset,
                           "ep_return": self._ep_return, "ep_length": self._ep_length}
        return out

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``'s output; the envs (rebuilt by the constructor) take the saved envs' state."""
        for k, v in vars(self).items():
            if isinstance(v, (nn.Module, torch.optim.Optimizer)) and k in state:
                v.load_state_dict(state[k])
        self.num_timesteps, self.total_timesteps = state["num_timesteps"], state["total_timesteps"]
        self.iterations, self.episodes = state["iterations"], [tuple(e) for e in state["episodes"]]
        self.rng.bit_generator.state = state["rng"]
        self._load_extra_state(state)
        saved = state.get("envs")
        if isinstance(saved, dict) and getattr(self, "envs", None) is not None:
            load_env_state(self.envs, saved["env"])
            self._obs, self._autoreset = saved["obs"], saved["autoreset"]
            self._ep_return, self._ep_length = saved["ep_return"], saved["ep_length"]

    def _extra_state(self) -> dict:
        return {}

    def _load_extra_state(self, state: dict) -> None:
        pass

    def save(self, path) -> Path:
        """Write the agent in the runner's checkpoint format (``{"step", "state": {"agent": ...}}``), so that
        ``load`` reads both this file and a run's ``checkpoints/best.pt``. Like SB3, the envs and DQN's
        replay buffer are left out."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = self.state_dict()
        state.pop("envs", None)
        state.pop("buffer", None)
        torch.save({"step": self.num_timesteps, "experiment": self.name, "state": {"agent": state}}, path)
        return path

    @classmethod
    def load(cls, path, env=None, device: str = "cpu"):
        """Rebuild a saved agent from ``agent.save``'s file or a run's checkpoint (``runs/.../best.pt``), read
        with ``torch.load(weights_only=True)``. Without ``env`` it can predict and evaluate but not learn.
        ``Agent.load`` picks the class from the file; ``PPO.load`` insists on a PPO."""
        state = read_agent_state(path, device)
        meta = state.get("meta") if isinstance(state, dict) else None
        if meta is None:
            raise ValueError(f"{path} holds no agent (no state['agent']['meta']); it is not a checkpoint of "
                             f"reinforce, actor-critic, dqn or ppo")
        if cls is Agent:
            import gymlab.agents.actor_critic, gymlab.agents.dqn, gymlab.agents.ppo, gymlab.agents.reinforce  # noqa: E401,F401
            cls = {c.name: c for c in _agent_classes()}.get(meta["agent"])
            if cls is None:
                raise ValueError(f"{path} holds an unknown agent {meta['agent']!r}")
        elif meta["agent"] != cls.name:
            raise ValueError(f"{path} holds a {meta['agent']!r} agent, not {cls.name!r}")
        cfg = cls.Config(**meta["config"])
        if env is not None:
            agent = cls(env, cfg, seed=meta["seed"], device=device)
        else:
            agent = cls.__new__(cls)
            agent.cfg, agent.seed, agent.device, agent.env = cfg, meta["seed"], torch.device(device), meta["env"]
            agent.rng, agent.envs = np.random.default_rng(meta["seed"]), None
            agent._build(space_from_dict(meta["observation_space"]), space_from_dict(meta["action_space"]))
        state = dict(state)
        state.pop("envs", None)  # the envs' state belongs to the run that saved it, not to a new env
        agent.load_state_dict(state)
        return agent

