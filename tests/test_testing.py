"""gymlab.testing: assert_solves and assert_better pass and fail as documented; its fixtures; gymlab.evaluate."""
import json

import gymnasium as gym
import numpy as np
import pytest

import gymlab
from gymlab.agents import stats
from gymlab.testing import assert_better, assert_solves


def balance(obs):
    """Push toward the side the pole falls to: keeps CartPole up for its 500 steps."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def push_right(obs):
    return 1


class Coin(gym.Env):
    """One step; success (info['is_success']) on even seeds."""

    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(1)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.ok = seed % 2 == 0
        return 0, {}

    def step(self, action):
        return 0, float(self.ok), True, False, {"is_success": self.ok}


def test_assert_solves_passes_on_the_lower_bound_and_returns_the_evaluation():
    ev = assert_solves(balance, "CartPole-v1", threshold=475, episodes=10)
    assert ev.mean_ci.low >= 475 and ev.seeds == tuple(range(10_000, 10_010))


def test_assert_solves_fails_in_one_line_with_the_estimate_and_interval():
    with pytest.raises(AssertionError) as e:
        assert_solves(push_right, "CartPole-v1", threshold=100, episodes=8, seeds=0)
    msg = str(e.value)
    assert "\n" not in msg and "push_right does not solve CartPole-v1: mean return" in msg
    assert "95% CI [" in msg and "over 8 episodes (seeds 0..7)" in msg and "threshold 100" in msg


def test_assert_solves_fails_when_the_mean_clears_the_threshold_but_the_interval_does_not():
    """Half the episodes succeed: the rate 0.5 reaches 0.45, but Wilson's lower bound (0.24 at n=12) does not."""
    with pytest.raises(AssertionError, match=r"success rate 0.5, 95% CI \[0.2"):
        assert_solves(lambda obs: 0, Coin, threshold=0.45, episodes=12, seeds=0, statistic="success_rate")
    ev = assert_solves(lambda obs: 0, Coin, threshold=0.2, episodes=12, seeds=0, statistic="success_rate")
    assert ev.success_ci == stats.wilson_interval(6, 12)
    with pytest.raises(ValueError, match="defines no success"):
        assert_solves(push_right, "CartPole-v1", threshold=0.5, episodes=2, statistic="success_rate")


def test_assert_better_on_agents_and_on_score_arrays():
    iv = assert_better(balance, push_right, "CartPole-v1", episodes=10)
    assert iv.estimate == 1.0 and iv.low > 0.5
    with pytest.raises(AssertionError) as e:
        assert_better(push_right, balance, "CartPole-v1", episodes=10)
    msg = str(e.value)
    assert "\n" not in msg and "push_right is not better than balance on CartPole-v1: P(X > Y) = 0" in msg
    seeds_b = [0.90, 0.92, 0.91, 0.93, 0.89]  # final accuracies of 5 training seeds each
    assert assert_better([0.91, 0.93, 0.95, 0.92, 0.94], seeds_b).estimate == pytest.approx(0.82)  # CI [0.52, 1]
    with pytest.raises(AssertionError, match=r"P\(X > Y\) = 0.68, 95% CI \[0.34, 0.96\] over 5 vs 5 scores"):
        assert_better([0.91, 0.93, 0.90, 0.92, 0.94], seeds_b)  # better on average, not surely
    assert_better([1.0, 1.2, 1.1, 1.3, 1.2, 1.25], [2.0, 2.2, 2.1, 2.4, 2.3, 2.2], higher_is_better=False)  # losses


def test_fixtures_come_from_the_installed_plugin(seeded_env, run_folder, pytestconfig):
    assert pytestconfig.pluginmanager.get_plugin("gymlab") is not None  # entry point pytest11
    a, b = seeded_env("CartPole-v1", seed=3), seeded_env("CartPole-v1", seed=3)
    assert np.array_equal(a.reset()[0], b.reset()[0]) and a.action_space.sample() == b.action_space.sample()
    assert run_folder.is_dir() and not any(run_folder.iterdir())


def test_gymlab_evaluate_a_run_folder_repeats_the_runs_last_evaluation(run_folder):
    summary = gymlab.run("ppo", ["steps=2", "eval_every=2", "n_envs=2", "n_steps=16", "eval_episodes=4",
                                 "logger.mode=disabled", "progress=false", f"out={run_folder}"], quiet=True)
    run_dir = summary["run_dir"]
    ev = gymlab.evaluate(run_dir, checkpoint="latest")  # the run's env, eval_episodes and eval_seed
    assert ev.seeds == (10_000, 10_001, 10_002, 10_003) and ev.env == "CartPole-v1"
    assert ev.mean == pytest.approx(summary["eval/mean_return"])
    more = gymlab.evaluate(run_dir, episodes=6, seeds=7, checkpoint="latest")
    assert more.seeds == tuple(range(7, 13))
    json.dumps(ev.to_dict())  # plain values
    gymlab.run("softmax", ["steps=2", "logger.mode=disabled", "progress=false", f"run_dir={run_folder / 'sm'}"],
               quiet=True)
    with pytest.raises(gymlab.GymlabError, match="not an RL agent"):
        gymlab.evaluate(run_folder / "sm")
