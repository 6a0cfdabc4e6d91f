"""gymlab's agents with Stable-Baselines3's API, on CartPole: learn, predict, evaluate, save, load.

    python examples/sb3_style_cartpole.py [--timesteps 50000]

The same lines with ``from stable_baselines3 import PPO`` train SB3's PPO; SB3's ``evaluate_policy``
takes our agent as it takes theirs.
"""
import argparse
import tempfile
from pathlib import Path

import gymnasium as gym
from stable_baselines3.common.evaluation import evaluate_policy

from gymlab.agents.ppo import PPO


def main(timesteps: int) -> float:
    model = PPO("CartPole-v1", seed=0)  # config keys as keywords: PPO("CartPole-v1", n_envs=4, lr=1e-3)
    model.learn(total_timesteps=timesteps)

    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=0)
    action, _state = model.predict(obs, deterministic=True)  # (action, state), as SB3's predict
    print("first action:", action)

    mean, std = evaluate_policy(model, env, n_eval_episodes=10, deterministic=True, warn=False)
    print(f"SB3's evaluate_policy: {mean:.1f} +- {std:.1f}")

    path = Path(tempfile.mkdtemp()) / "ppo_cartpole.pt"
    model.save(path)
    loaded = PPO.load(path)  # predicts and evaluates without an env; pass env= to keep learning
    again, _ = evaluate_policy(loaded, env, n_eval_episodes=10, deterministic=True, warn=False)
    print(f"after save and load:   {again:.1f}")
    return again


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timesteps", type=int, default=50_000)
    main(ap.parse_args().timesteps)
