"""Stable-Baselines3 side by side: SB3's A2C, PPO and DQN behind the same small API as our agents.

    agent = SB3Agent("ppo", "CartPole-v1", seed=0)     # rl-baselines3-zoo hyperparameters for the env
    agent.learn(100_000, callback=lambda agent, metrics: ...)
    agent.predict(obs, deterministic=True); agent.evaluate(n_episodes=10); agent.save("ppo.pt"); SB3Agent.load("ppo.pt")

``ZOO`` holds the rl-baselines3-zoo (v2.9) hyperparameters for CartPole-v1, LunarLander-v3 and
Pendulum-v1; for other envs SB3's own defaults apply. ``lin_x`` schedules are linear decays from x to 0.
``learn`` runs SB3's own ``learn`` once over the whole budget (as an SB3 user would);
``train_iteration`` runs exactly one rollout and its update (one SB3 ``learn`` call of one rollout,
with the learning-rate/clip/epsilon schedules still spanning ``total_timesteps``), for the runner.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import gymnasium as gym
import numpy as np
import torch

from gymlab.agents.base import evaluate as _evaluate
from gymlab.agents.base import read_agent_state
from gymlab.agents.env_state import env_state, load_env_state

__all__ = ["SB3Agent", "ZOO", "zoo_hyperparams", "LinearSchedule", "POLICIES"]

POLICIES = ("MlpPolicy", "CnnPolicy", "MultiInputPolicy")  # SB3's policies for vectors, images, Dict observations

ZOO = {
    ("a2c", "CartPole-v1"): dict(n_envs=8, n_timesteps=500_000, policy="MlpPolicy", ent_coef=0.0),
    ("ppo", "CartPole-v1"): dict(n_envs=8, n_timesteps=100_000, policy="MlpPolicy", n_steps=32, batch_size=256,
                                 gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0, learning_rate="lin_0.001",
                                 clip_range="lin_0.2"),
    ("dqn", "CartPole-v1"): dict(n_timesteps=50_000, policy="MlpPolicy", learning_rate=2.3e-3, batch_size=64,
                                 buffer_size=100_000, learning_starts=1000, gamma=0.99, target_update_interval=10,
                                 train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                                 exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256])),
    ("a2c", "LunarLander-v3"): dict(n_envs=8, n_timesteps=200_000, policy="MlpPolicy", gamma=0.995, n_steps=5,
                                    learning_rate="lin_0.00083", ent_coef=0.00001),
    ("ppo", "LunarLander-v3"): dict(n_envs=16, n_timesteps=1_000_000, policy="MlpPolicy", n_steps=1024, batch_size=64,
                                    gae_lambda=0.98, gamma=0.999, n_epochs=4, ent_coef=0.01),
    ("dqn", "LunarLander-v3"): dict(n_timesteps=100_000, policy="MlpPolicy", learning_rate=6.3e-4, batch_size=128,
                                    buffer_size=50_000, learning_starts=0, gamma=0.99, target_update_interval=250,
                                    train_freq=4, gradient_steps=-1, exploration_fraction=0.12,
                                    exploration_final_eps=0.1, policy_kwargs=dict(net_arch=[256, 256])),
    ("ppo", "Pendulum-v1"): dict(n_envs=4, n_timesteps=100_000, policy="MlpPolicy", n_steps=1024, gae_lambda=0.95,
                                 gamma=0.9, n_epochs=10, ent_coef=0.0, learning_rate=1e-3, clip_range=0.2,
                                 use_sde=True, sde_sample_freq=4),
}


class LinearSchedule:
    """SB3 schedule ``lin_x``: x * progress_remaining (1 at the start of training, 0 at the end)."""

    def __init__(self, start: float):
        self.start = float(start)

    def __call__(self, progress_remaining: float) -> float:
        return self.start * progress_remaining


def zoo_hyperparams(algo: str, env_id) -> dict:
    """The zoo's hyperparameters for (algo, env) with ``lin_x`` turned into schedules; {} when unknown."""
    hp = dict(ZOO.get((algo, env_id), {}))
    for k, v in hp.items():
        if isinstance(v, str) and v.startswith("lin_"):
            hp[k] = LinearSchedule(float(v[4:]))
    return hp


def _algos():
    from stable_baselines3 import A2C, DQN, PPO

    return {"a2c": A2C, "ppo": PPO, "dqn": DQN}


def _make_callback(agent: "SB3Agent", user: Callable | None):
    from stable_baselines3.common.callbacks import BaseCallback

    class Bridge(BaseCallback):
        """Records finished episodes (Monitor infos) and calls ``user(agent, metrics)`` after each update."""

        def __init__(self):
            super().__init__()
            self.stop = False
            self.started = False

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", []):
                if "episode" in info:
                    agent.episodes.append((self.model.num_timesteps, float(info["episode"]["r"]),
                                           int(info["episode"]["l"])))
            return not self.stop

        def _report(self):
            if user is not None and user(agent, {"train/env_steps": self.model.num_timesteps}) is False:
                self.stop = True

        def _on_rollout_start(self) -> None:  # after the previous update: the policy has learned from all data so far
            if self.started:
                self._report()
            self.started = True

        def _on_training_end(self) -> None:
            if not self.stop:
                self._report()

    return Bridge()


class SB3Agent:
    """An SB3 model (``algo`` in a2c, ppo, dqn) with our agents' learn/predict/evaluate/save/load."""

    def __init__(self, algo: str, env, seed: int = 0, device: str = "cpu", zoo: bool = True, n_envs: int | None = None,
                 policy: str | None = None, **overrides):
        from stable_baselines3.common.env_util import make_vec_env

        algos = _algos()
        if algo not in algos:
            raise ValueError(f"unknown SB3 algorithm {algo!r}; valid: {', '.join(algos)}")
        self.algo, self.env, self.seed, self.name = algo, env if isinstance(env, str) else None, seed, f"sb3-{algo}"
        hp = zoo_hyperparams(algo, env) if zoo and isinstance(env, str) else {}
        self.zoo_timesteps = int(hp.pop("n_timesteps", 100_000))
        n_envs = n_envs or hp.pop("n_envs", 1)
        hp.pop("n_envs", None)
        policy = policy or hp.pop("policy", None)
        hp.pop("policy", None)
        if policy is not None and policy not in POLICIES:
            raise ValueError(f"unknown SB3 policy {policy!r}; valid: {', '.join(POLICIES)}")
        hp.update({k: v for k, v in overrides.items() if v is not None})
        self.venv = make_vec_env(env, n_envs=n_envs, seed=seed)
        if policy is None:  # SB3 takes Dict observations only with MultiInputPolicy
            policy = "MultiInputPolicy" if isinstance(self.venv.observation_space, gym.spaces.Dict) else "MlpPolicy"
        # what rebuilds this agent (save/load): the constructor's arguments, as plain data
        self.init_args = {"algo": algo, "env": self.env, "seed": seed, "zoo": zoo, "n_envs": n_envs, "policy": policy,
                          "overrides": {k: v for k, v in overrides.items() if v is not None}}
        self.hyperparams = {"n_envs": n_envs, "policy": policy, **hp}
        try:
            self.model = algos[algo](policy, self.venv, seed=seed, device=device, verbose=0, **hp)
        except AssertionError as e:  # SB3 asserts on unsupported spaces
            raise TypeError(f"sb3-{algo}: {e}") from None
        self.episodes: list[tuple[int, float, int]] = []
        self.total_timesteps = 0

    @property
    def num_timesteps(self) -> int:
        return self.model.num_timesteps

    @property
    def chunk(self) -> int:
        """Env steps of one rollout (on-policy) or one collection phase (DQN)."""
        m = self.model
        steps = m.n_steps if hasattr(m, "n_steps") else m.train_freq.frequency
        return steps * m.n_envs

    def learn(self, total_timesteps: int, callback: Callable | None = None):
        """SB3's learn over the whole budget; ``callback(agent, metrics)`` after each update (False stops)."""
        self.total_timesteps = self.num_timesteps + int(total_timesteps)
        self.model.learn(total_timesteps, callback=_make_callback(self, callback), reset_num_timesteps=False)
        return self

    def train_iteration(self) -> dict:
        """One rollout and its update; schedules follow ``total_timesteps`` (set it before the first call)."""
        m, start = self.model, self.num_timesteps
        budget = max(self.total_timesteps, 1)
        m._update_current_progress_remaining = lambda num, total: setattr(  # schedules span our budget
            m, "_current_progress_remaining", 1.0 - min(num / budget, 1.0))
        try:
            m.learn(self.chunk, callback=_make_callback(self, None), reset_num_timesteps=False)
        finally:
            del m._update_current_progress_remaining
        out = {"train/env_steps": self.num_timesteps}
        eps = [e for e in self.episodes if e[0] > start]
        if eps:
            out["train/episode_return"] = float(np.mean([e[1] for e in eps]))
            out["train/episode_length"] = float(np.mean([e[2] for e in eps]))
        return out

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        """SB3's own ``predict`` (same signature and defaults)."""
        return self.model.predict(observation, state, episode_start, deterministic)

    def evaluate(self, env=None, n_episodes: int = 10, seed: int = 10_000, deterministic: bool = True) -> dict:
        env = env if env is not None else self.env
        if env is None:
            raise ValueError("evaluate needs env= (the agent was built from a factory, not an id)")
        return _evaluate(self.model, env, n_episodes, seed, deterministic)

    def save(self, path) -> Path:
        """Our checkpoint format (``{"step", "state": {"agent": state_dict()}}``): tensors and plain data, not
        SB3's zip (whose loader unpickles with cloudpickle)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = self.state_dict()
        for k in ("envs", "replay_buffer"):
            state.pop(k, None)
        torch.save({"step": self.num_timesteps, "experiment": self.name, "state": {"agent": state}}, path)
        return path

    @classmethod
    def load(cls, path, algo: str | None = None, env=None, device: str = "cpu"):
        """Rebuild an agent saved by ``save`` (or a run's checkpoint of sb3-*) from its constructor arguments and
        load the policy; ``env`` replaces the saved env id (needed when it was built from a factory)."""
        state = read_agent_state(path, device)
        meta = state.get("meta") if isinstance(state, dict) else None
        if not isinstance(meta, dict) or "algo" not in meta:
            raise ValueError(f"{path} holds no SB3 agent (no state['agent']['meta']['algo'])")
        if algo is not None and algo != meta["algo"]:
            raise ValueError(f"{path} holds an sb3-{meta['algo']} agent, not sb3-{algo}")
        env = env if env is not None else meta["env"]
        if env is None:
            raise ValueError(f"{path} was trained on an env built by a factory: give env= to load it")
        agent = cls(meta["algo"], env, seed=meta["seed"], device=device, zoo=meta["zoo"], n_envs=meta["n_envs"],
                    policy=meta["policy"], **meta["overrides"])
        state = dict(state)
        state.pop("envs", None)  # the envs' state belongs to the run that saved it
        agent.load_state_dict(state)
        return agent

    def state_dict(self) -> dict:
        """Plain data: the policy's and its optimiser's state_dicts, SB3's counters, exploration and (DQN) the
        replay buffer's arrays, the envs' state (``agents.env_state``) and the constructor's arguments."""
        m = self.model
        out = {"meta": dict(self.init_args), "policy": m.policy.state_dict(),
               "optimizer": m.policy.optimizer.state_dict(), "episodes": [list(e) for e in self.episodes],
               "total_timesteps": self.total_timesteps,
               "counters": {k: getattr(m, k) for k in _COUNTERS if hasattr(m, k)},
               "action_space_rng": m.action_space.np_random.bit_generator.state,  # DQN's random actions
               "envs": {"env": env_state(m.env), "last_obs": m._last_obs,
                        "last_episode_starts": m._last_episode_starts}}
        buf = getattr(m, "replay_buffer", None)
        if buf is not None:
            out["replay_buffer"] = {k: v for k, v in vars(buf).items()
                                    if isinstance(v, (np.ndarray, int, bool)) and not isinstance(v, np.random.Generator)}
        return out

    def load_state_dict(self, state: dict) -> None:
        m = self.model
        m.policy.load_state_dict(state["policy"])
        m.policy.optimizer.load_state_dict(state["optimizer"])
        self.episodes = [tuple(e) for e in state["episodes"]]
        self.total_timesteps = state["total_timesteps"]
        for k, v in state["counters"].items():
            setattr(m, k, v)
        m.action_space.np_random.bit_generator.state = state["action_space_rng"]
        if "replay_buffer" in state and getattr(m, "replay_buffer", None) is not None:
            for k, v in state["replay_buffer"].items():
                setattr(m.replay_buffer, k, v)
        saved = state.get("envs")
        if saved is not None and saved["last_obs"] is not None:
            load_env_state(m.env, saved["env"])
            m._last_obs, m._last_episode_starts = saved["last_obs"], saved["last_episode_starts"]


# SB3's counters and schedules' position: what, besides the networks, its next update depends on
_COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_current_progress_remaining", "exploration_rate",
             "_n_calls")
