"""Your env: any id gymnasium.make accepts (``module:Env-v0`` included), a factory or an env instance,
through the Python API and the command line."""
import json
import os
import subprocess
import sys
import textwrap

import gymnasium as gym
import numpy as np
import pytest

from gymlab.agents.ppo import PPO
from gymlab.envs.factory import check_env_id, make_env, make_vec_env

# A user's env module: the env and its registration, nothing of gymlab.
MODULE = '''
import gymnasium as gym
import numpy as np


class SignEnv(gym.Env):
    """Observe x in [-1, 1]; action 1 earns +1 when x > 0, action 0 when x <= 0. Ten steps an episode."""

    def __init__(self, length=10):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.length = length

    def _obs(self):
        self.x = self.np_random.uniform(-1, 1, size=1).astype(np.float32)
        return self.x

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        reward = float(int(action) == int(self.x[0] > 0))
        self.t += 1
        return self._obs(), reward, False, self.t >= self.length, {}


gym.register("SignEnv-v0", entry_point=SignEnv, reward_threshold=10.0)
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "mysignenv.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_module_colon_id_is_resolved_as_gymnasium_make_does(user_module):
    assert check_env_id("mysignenv:SignEnv-v0").id == "SignEnv-v0"
    env = make_env("mysignenv:SignEnv-v0")
    assert isinstance(env.unwrapped, gym.Env) and env.action_space == gym.spaces.Discrete(2)
    with pytest.raises(ValueError, match="cannot import module 'nosuchmodule'"):
        check_env_id("nosuchmodule:SignEnv-v0")
    with pytest.raises(ValueError, match="'mysignenv:Nope-v0' is not a registered gymnasium env after importing"):
        check_env_id("mysignenv:Nope-v0")
    with pytest.raises(ValueError, match="'NoSuchEnv-v9' is not a registered gymnasium env.*CartPole-v1"):
        check_env_id("NoSuchEnv-v9")


def test_factories_and_instances(user_module):
    from mysignenv import SignEnv

    venv = make_vec_env(SignEnv, 3)  # a class is a factory
    assert venv.num_envs == 3
    assert make_vec_env(SignEnv(), 1).num_envs == 1
    with pytest.raises(TypeError, match="cannot be copied into n_envs=2"):
        make_vec_env(SignEnv(), 2)
    with pytest.raises(TypeError, match="returned a int, not a gymnasium.Env"):
        make_env(lambda: 3)
    # an agent built from a factory evaluates on a fresh env of the same factory, without env=
    agent = PPO(lambda: SignEnv(length=5), seed=0, n_envs=2, n_steps=16, batch_size=16, n_epochs=1)
    agent.learn(64)
    assert agent.evaluate(n_episodes=2)["mean_length"] == 5
    by_id = PPO("mysignenv:SignEnv-v0", seed=0, n_envs=2, n_steps=16, batch_size=16, n_epochs=1)
    assert by_id.evaluate(n_episodes=2)["mean_length"] == 10


def test_own_env_module_runs_through_the_command_line(user_module, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(user_module), os.environ.get("PYTHONPATH", "")]),
               WANDB_MODE="disabled", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "gymlab.runners.cli", "run", "ppo", "env=mysignenv:SignEnv-v0", "n_envs=2",
           "n_steps=16", "batch_size=16", "n_epochs=1", "steps=2", "eval_every=2", "eval_episodes=2", "gif=false",
           "progress=false", "logger.mode=disabled", f"out={tmp_path / 'runs'}", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    # 2 iterations x 16 steps = 32 steps per env, of which 2 are reset steps (after each 10-step episode), not counted
    assert summary["train/env_steps"] == 2 * (32 - 2) and summary["eval/mean_length"] == 10
    assert summary["eval/solved"] in (False, True)  # the user's registered reward_threshold was found
    bad = subprocess.run(cmd[:5] + ["env=mysignenv:Nope-v0"] + cmd[6:], capture_output=True, text=True, env=env,
                         timeout=300, cwd=tmp_path)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "bad value for 'env': 'mysignenv:Nope-v0' is not a registered gymnasium env" in bad.stderr
