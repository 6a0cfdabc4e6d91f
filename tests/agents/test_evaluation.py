"""gymlab.agents.stats against rliable and exact values; gymlab.agents.evaluation on real envs."""
import gymnasium as gym
import numpy as np
import pytest

from gymlab.agents import stats
from gymlab.agents.evaluation import episode_seeds, evaluate

rliable_library = pytest.importorskip("rliable.library", reason="rliable (the dev extra) is the reference")
from rliable import metrics as rl_metrics  # noqa: E402

SCORES = np.random.default_rng(20).normal(size=(7, 4)) * [1, 3, 10, 0.5]  # 7 runs x 4 tasks
OTHER = np.random.default_rng(21).normal(size=(5, 4)) * [1, 3, 10, 0.5] + 0.3


# ------------------------------------------------------------------ exact values
def test_iqm_of_known_data_is_the_mean_of_the_middle_half():
    assert stats.iqm([8, 1, 7, 2, 6, 3, 5, 4]) == 4.5  # drop 1, 2 and 7, 8
    assert stats.iqm([1, 2, 3, 4, 100, -50, 5, 6, 7, 8]) == pytest.approx(np.mean([2, 3, 4, 5, 6, 7]))  # floor(10/4)=2


def test_probability_of_improvement_hand_case():
    # pairs (x > y): 3 vs {1, 3}: 1 win, 1 tie; 4 vs {1, 3}: 2 wins -> (3 + 0.5) / 4
    assert stats.probability_of_improvement([3, 4], [1, 3]) == 0.875
    assert stats.probability_of_improvement([2, 2], [2, 2]) == 0.5


def test_wilson_interval_hand_value_and_statsmodels():
    iv = stats.wilson_interval(8, 10)
    assert (iv.estimate, round(iv.low, 4), round(iv.high, 4)) == (0.8, 0.4902, 0.9433)  # Wilson (1927), z = 1.96
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for k, n, c in [(0, 20, 0.95), (20, 20, 0.95), (3, 7, 0.9), (41, 50, 0.99)]:
        ours = stats.wilson_interval(k, n, c)
        low, high = proportion.proportion_confint(k, n, alpha=1 - c, method="wilson")
        assert ours.low == pytest.approx(low, abs=1e-12) and ours.high == pytest.approx(high, abs=1e-12)


def test_bootstrap_interval_covers_the_true_mean_at_the_stated_rate():
    """400 samples of 40 draws from an exponential with mean 1: the 90% interval covers 1 in ~90% of them
    (the percentile bootstrap under-covers slightly on a skewed law; a binomial 99.9% band is ±0.05)."""
    rng, hits = np.random.default_rng(5), 0
    for _ in range(400):
        iv = stats.bootstrap_interval(rng.exponential(1.0, size=40), "mean", confidence=0.9, reps=1000, rng=rng)
        hits += iv.low <= 1.0 <= iv.high
    assert 0.83 <= hits / 400 <= 0.95


# ------------------------------------------------------------------ against rliable, same inputs and draws
@pytest.mark.parametrize("name, ours", [("iqm", stats.iqm),
                                        ("mean", lambda s: float(np.mean(stats.as_score_matrix(s))))])
def test_point_estimates_match_rliable(name, ours):
    theirs = {"iqm": rl_metrics.aggregate_iqm, "mean": rl_metrics.aggregate_mean}[name]
    assert ours(SCORES) == pytest.approx(float(theirs(SCORES)), abs=1e-12)
    assert stats.probability_of_improvement(SCORES, OTHER) == pytest.approx(
        float(rl_metrics.probability_of_improvement(SCORES, OTHER)), abs=1e-12)


@pytest.mark.parametrize("statistic", ["iqm", "mean"])
def test_stratified_bootstrap_interval_matches_rliable_exactly(statistic):
    func = {"iqm": rl_metrics.aggregate_iqm, "mean": rl_metrics.aggregate_mean}[statistic]
    np.random.seed(3)  # rliable draws from numpy's global state; ours from the RandomState given
    point, ci = rliable_library.get_interval_estimates({"a": SCORES}, lambda s: np.array([func(s)]), reps=500)
    ours = stats.bootstrap_interval(SCORES, statistic, reps=500, rng=np.random.RandomState(3))
    assert ours.estimate == pytest.approx(float(point["a"][0]))
    assert [ours.low, ours.high] == pytest.approx(ci["a"].ravel().tolist(), abs=1e-12)


def test_probability_of_improvement_interval_matches_rliable_exactly():
    np.random.seed(4)
    point, ci = rliable_library.get_interval_estimates({"xy": [SCORES, OTHER]}, rl_metrics.probability_of_improvement,
                                                       reps=300)
    ours = stats.probability_of_improvement_interval(SCORES, OTHER, reps=300, rng=np.random.RandomState(4))
    assert ours.estimate == pytest.approx(float(point["xy"]))
    assert [ours.low, ours.high] == pytest.approx(ci["xy"].ravel().tolist(), abs=1e-12)


def test_performance_profile_matches_rliable_exactly():
    taus = np.linspace(-5, 5, 11)
    np.random.seed(6)
    profiles, cis = rliable_library.create_performance_profile({"a": SCORES}, taus, reps=400)
    prof, low, high = stats.performance_profile(SCORES, taus, reps=400, rng=np.random.RandomState(6))
    np.testing.assert_allclose(prof, profiles["a"], atol=1e-12)
    np.testing.assert_allclose(np.stack([low, high]), cis["a"], atol=1e-12)


def test_bad_inputs_are_one_line_value_errors():
    for call in (lambda: stats.iqm([]), lambda: stats.iqm([1.0, np.nan]), lambda: stats.wilson_interval(5, 3),
                 lambda: stats.bootstrap_interval([1, 2], confidence=1.5),
                 lambda: stats.bootstrap_interval([1, 2], "median"),
                 lambda: stats.probability_of_improvement(np.ones((3, 2)), np.ones((3, 1)))):
        with pytest.raises(ValueError) as e:
            call()
        assert "\n" not in str(e.value)


# ------------------------------------------------------------------ evaluate on envs
def push_right(obs):
    return 1


class Goal(gym.Env):
    """Three steps; the episode succeeds when the seed is even (reported as info['is_success'])."""

    observation_space = gym.spaces.Box(-1, 1, (1,))
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.even = 0, seed % 2 == 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        done = self.t == 3
        info = {"is_success": self.even} if done else {}
        return np.zeros(1, np.float32), float(action), done, False, info


def test_evaluate_records_seeds_and_repeats_exactly():
    a = evaluate(push_right, "CartPole-v1", episodes=6, seeds=50)
    b = evaluate(push_right, "CartPole-v1", seeds=list(a.seeds))
    assert a.seeds == tuple(range(50, 56)) and a.returns == b.returns and a.lengths == b.lengths
    assert a.mean_ci == b.mean_ci and a.iqm_ci == b.iqm_ci  # the bootstrap has its own seeded generator
    env = gym.make("CartPole-v1")  # the returns are those of a hand-written loop on the same seeds
    for seed, ret in zip(a.seeds, a.returns):
        env.reset(seed=seed)
        n, done = 0, False
        while not done:
            _, _, term, trunc, _ = env.step(1)
            n, done = n + 1, term or trunc
        assert ret == n
    assert a.mean == pytest.approx(np.mean(a.returns)) and a.iqm == pytest.approx(stats.iqm(a.returns))
    assert a.mean_ci.low <= a.mean <= a.mean_ci.high and a.success_rate is None
    m = a.metrics()
    assert m["eval/mean_return"] == a.mean and m["eval/return_ci_low"] == a.mean_ci.low
    assert "eval/success_rate" not in m and all(isinstance(v, float) for v in m.values())


def test_evaluate_success_from_info_or_threshold():
    ev = evaluate(lambda obs: 1, Goal, seeds=[0, 1, 2, 3, 4, 5, 6, 7])
    assert ev.successes == (True, False) * 4 and ev.success_rate == 0.5
    assert ev.success_ci == stats.wilson_interval(4, 8) and ev.metrics()["eval/success_rate_ci_high"] < 1
    by_return = evaluate(lambda obs: int(obs[0] >= 0), Goal, episodes=3, seeds=1, success=3)
    assert by_return.returns == (3.0,) * 3 and by_return.success_rate == 1.0  # info says False; the threshold rules


def test_evaluate_calls_our_agents_and_sb3s_with_sb3s_signature():
    from gymlab.agents.ppo import PPO

    agent = PPO("CartPole-v1", seed=0, n_envs=2, n_steps=8)
    ev = evaluate(agent, episodes=2)  # the agent's own env id
    assert ev.env == "CartPole-v1" and ev.seeds == (10_000, 10_001) and len(ev.returns) == 2
    sb3 = pytest.importorskip("stable_baselines3")
    model = sb3.PPO("MlpPolicy", "CartPole-v1", seed=0, n_steps=64, device="cpu")
    ev = evaluate(model, "CartPole-v1", episodes=3, seeds=[5, 6, 7])
    env = gym.make("CartPole-v1")
    for seed, ret in zip(ev.seeds, ev.returns):  # SB3's own predict, deterministic, on the same seeds
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            obs, r, term, trunc, _ = env.step(model.predict(obs, deterministic=True)[0])
            total, done = total + r, term or trunc
        assert ret == total


def test_evaluate_refuses_mismatched_seeds_and_bad_keys():
    with pytest.raises(ValueError, match="one seed per episode"):
        episode_seeds(3, [1, 2])
    with pytest.raises(ValueError, match="confidence"):
        evaluate(push_right, "CartPole-v1", episodes=1, confidence=95)
    with pytest.raises(ValueError, match="names none"):
        evaluate(push_right)


def test_iqm_equals_scipys_trimmed_mean_for_every_size():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for n in range(1, 41):  # floor(n / 4) dropped at each end, every remainder of n mod 4
        x = rng.normal(size=n)
        assert stats.iqm(x) == pytest.approx(scipy_stats.trim_mean(x, 0.25), abs=1e-12), n
        batch = rng.normal(size=(5, n, 2))  # bootstrap replicates of a (runs, tasks) matrix
        assert np.allclose(stats._BATCHED["iqm"](batch), scipy_stats.trim_mean(batch.reshape(5, -1), 0.25, axis=1))


# ------------------------------------------------------------------ side by side (one batched predict per step)
@pytest.fixture(scope="module")
def trained_ppo():
    """PPO after 5 iterations on CartPole-v1: episodes of mixed lengths (some end early, some reach 500)."""
    from gymlab.agents.ppo import PPO

    agent = PPO("CartPole-v1", seed=0)
    for _ in range(5):
        agent.train_iteration()
    return agent


def test_side_by_side_equals_the_sequential_episodes(trained_ppo, monkeypatch):
    from gymlab.agents import evaluation
    from gymlab.agents.actor_critic import A2C

    a2c = A2C("CartPole-v1", seed=0)
    a2c.train_iteration()
    make = lambda: gym.make("CartPole-v1")  # noqa: E731
    lengths = set()
    for agent in (trained_ppo, a2c):
        for first in (0, 100, 10_000):
            seeds = range(first, first + 10)
            for max_steps in (None, 100):
                one_by_one = evaluation.play_episodes(agent, make(), seeds, max_steps=max_steps)
                for width in (32, 3):  # all 10 episodes at once; 3 envs, each taking the next seed when done
                    monkeypatch.setattr(evaluation, "MAX_SIDE_BY_SIDE", width)
                    side_by_side = evaluation.play_side_by_side(agent, make, seeds, max_steps=max_steps)
                    assert side_by_side[:2] == one_by_one[:2], (type(agent).__name__, first, max_steps, width)
                    assert [sorted(i) for i in side_by_side[2]] == [sorted(i) for i in one_by_one[2]]
                lengths.update(one_by_one[1])
    assert 500 in lengths and 100 in lengths and min(lengths) < 100  # episodes of every kind were compared


def test_side_by_side_only_for_gymlab_agents_on_an_id_or_factory(trained_ppo, monkeypatch):
    from gymlab.agents import base, evaluation

    calls = []
    real = evaluation.play_side_by_side

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "play_side_by_side", spy)
    monkeypatch.setattr(base, "play_side_by_side", spy)
    seq = evaluate(trained_ppo, gym.make("CartPole-v1"), episodes=4, seeds=7)  # an env instance: one by one
    assert not calls
    for env in ("CartPole-v1", lambda: gym.make("CartPole-v1")):  # an id or a factory: side by side, same results
        ev = evaluate(trained_ppo, env, episodes=4, seeds=7)
        assert (ev.returns, ev.lengths, ev.mean_ci) == (seq.returns, seq.lengths, seq.mean_ci)
    assert len(calls) == 2
    out = base.evaluate(trained_ppo, "CartPole-v1", n_episodes=4, seed=7, max_steps=200)  # the runner's confirmation
    assert len(calls) == 3 and out["lengths"] == [min(n, 200) for n in seq.lengths]
    calls.clear()
    assert base.evaluate(trained_ppo, gym.make("CartPole-v1"), n_episodes=4, seed=7)["returns"] == list(seq.returns)
    assert evaluate(push_right, "CartPole-v1", episodes=3).episodes == 3  # a plain function: one by one
    assert not calls
