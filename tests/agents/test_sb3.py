"""Stable-Baselines3 adapters: zoo hyperparameters, the agent API, and runs through the common runner."""
import json

import numpy as np
import pytest

from gymlab.agents.sb3 import LinearSchedule, SB3Agent, zoo_hyperparams
from gymlab.runners.loop import run

COMMON = ["logger.mode=disabled", "progress=false", "eval_episodes=2", "gif=false"]


def test_zoo_hyperparameters_for_cartpole():
    hp = zoo_hyperparams("ppo", "CartPole-v1")
    assert (hp["n_envs"], hp["n_steps"], hp["batch_size"], hp["n_epochs"], hp["gamma"]) == (8, 32, 256, 20, 0.98)
    assert isinstance(hp["learning_rate"], LinearSchedule) and hp["learning_rate"](0.5) == pytest.approx(5e-4)
    assert zoo_hyperparams("dqn", "CartPole-v1")["policy_kwargs"] == {"net_arch": [256, 256]}
    assert zoo_hyperparams("a2c", "NoSuchEnv-v0") == {}


def test_sb3_adapter_api_and_save_load(tmp_path):
    agent = SB3Agent("a2c", "CartPole-v1", seed=0)
    assert agent.model.n_envs == 8 and agent.chunk == 40
    agent.total_timesteps = 400
    m = agent.train_iteration()
    assert m["train/env_steps"] == 40 == agent.num_timesteps
    path = agent.save(tmp_path / "a2c.zip")
    loaded = SB3Agent.load(path, "a2c", env="CartPole-v1")
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    assert agent.evaluate(n_episodes=2) == loaded.evaluate(n_episodes=2)


def test_sb3_ppo_runs_through_the_runner(tmp_path):
    s = run("sb3-ppo", COMMON + ["steps=3", "eval_every=2", f"out={tmp_path}"], quiet=True)
    assert s["train/env_steps"] == 3 * 256 and s["steps"] == 3
    for k in ("eval/mean_return", "eval/std_return", "eval/mean_length", "time/steps_per_s"):
        assert k in s
    rows = [json.loads(line) for line in open(f"{s['run_dir']}/metrics.jsonl")]
    assert [r["train/env_steps"] for r in rows if "eval/mean_return" in r] == [512, 768]
    assert (tmp_path / s["run_dir"].split("/")[-1] / "media" / "return_curve.png").exists()


def test_dqn_experiment_refuses_continuous_actions(tmp_path):
    from gymlab.runners.errors import GymlabError

    with pytest.raises(GymlabError, match="dqn does not accept the action space Box.*ppo"):
        run("dqn", COMMON + ["env=Pendulum-v1", f"out={tmp_path}"], quiet=True)
    with pytest.raises(GymlabError, match="not a registered gymnasium env"):
        run("ppo", COMMON + ["env=NoSuchEnv-v9", f"out={tmp_path}"], quiet=True)
