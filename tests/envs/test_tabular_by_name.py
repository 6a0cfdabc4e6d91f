"""The tabular envs by name (envs.tabular.mdp_by_name, episode_limit, env_by_name): what the planners run on."""
import gymnasium as gym
import pytest

from gymlab.envs.tabular import TABULAR_ENVS, TabularEnv, env_by_name, episode_limit, mdp_by_name


def test_each_name_gives_its_model():
    sizes = {"FrozenLake-v1": (16, 4), "FrozenLake8x8-v1": (64, 4), "CliffWalking-v1": (48, 4), "Taxi-v4": (500, 6)}
    for name, (S, A) in sizes.items():
        mdp = mdp_by_name(name, 0.9)
        assert (mdp.S, mdp.A, mdp.gamma) == (S, A, 0.9)
    r = mdp_by_name("random", states=30, actions=3, branching=4, seed=1)
    assert (r.S, r.A) == (30, 3) and r.nnz <= 30 * 3 * 4
    assert (r.R == mdp_by_name("random", states=30, actions=3, branching=4, seed=1).R).all()  # the seed fixes it
    assert mdp_by_name("gridworld", size=5).grid_shape == (5, 5)
    assert set(TABULAR_ENVS) == set(sizes) | {"random", "gridworld"}
    with pytest.raises(ValueError, match="branching"):
        mdp_by_name("random", states=5, branching=9)


def test_episode_limits_and_the_env_played():
    assert [episode_limit(n) for n in ("FrozenLake-v1", "FrozenLake8x8-v1", "Taxi-v4")] == [100, 200, 200]
    assert [episode_limit(n) for n in ("CliffWalking-v1", "random", "gridworld")] == [1000, 200, 1000]
    assert episode_limit("Taxi-v4", 7) == 7
    real = env_by_name("FrozenLake-v1", mdp_by_name("FrozenLake-v1"), 5)
    assert real.spec.id == "FrozenLake-v1" and real.spec.max_episode_steps == 5
    sim = env_by_name("gridworld", mdp_by_name("gridworld", size=4))
    assert isinstance(sim, gym.wrappers.TimeLimit) and isinstance(sim.unwrapped, TabularEnv)
    assert sim.spec is None or sim.spec.max_episode_steps in (None, 1000)
