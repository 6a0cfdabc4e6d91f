"""Your own gymnasium env, trained through the Python API and through the command line.

    python examples/custom_env.py [--timesteps 20000]
    cd examples && gymlab run ppo env=custom_env:Corridor-v0 timesteps=20000

``custom_env:Corridor-v0`` is the id form ``gymnasium.make`` accepts: gymnasium imports the module
``custom_env`` (which registers the env), then makes ``Corridor-v0``. The Python API also takes the
env class, or any callable returning an env.
"""
import argparse

import gymnasium as gym
import numpy as np

import gymlab
from gymlab.agents.ppo import PPO


class Corridor(gym.Env):
    """Walk right along a corridor of ``length`` cells: +1 at the far end, -0.01 a step."""

    def __init__(self, length: int = 8):
        self.length = length
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)  # 0: left, 1: right

    def _obs(self):
        return np.array([self.pos / (self.length - 1)], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = int(self.np_random.integers(0, self.length // 2))
        return self._obs(), {}

    def step(self, action):
        self.pos = min(max(self.pos + (1 if action == 1 else -1), 0), self.length - 1)
        done = self.pos == self.length - 1
        return self._obs(), (1.0 if done else -0.01), done, False, {}


if "Corridor-v0" not in gym.registry:
    gym.register("Corridor-v0", entry_point=Corridor, max_episode_steps=50)


def main(timesteps: int) -> tuple[float, float]:
    # 1. The Python API: the env class itself (or a lambda making one).
    agent = PPO(Corridor, seed=0, n_envs=4)
    agent.learn(total_timesteps=timesteps)
    api = agent.evaluate(n_episodes=10)["mean_return"]
    print(f"API: mean return {api:.2f}")

    # 2. The runner, as `gymlab run ppo env=custom_env:Corridor-v0` does it (run folder, checkpoints).
    summary = gymlab.run("ppo", ["env=custom_env:Corridor-v0", f"timesteps={timesteps}", "gif=false",
                                 "progress=false", "logger.mode=disabled"])
    print(f"runner: mean return {summary['eval/mean_return']:.2f}, run folder {summary['run_dir']}")
    return api, summary["eval/mean_return"]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timesteps", type=int, default=20_000)
    main(ap.parse_args().timesteps)
