"""The tabular experiments through the runner: metrics, media, convergence, resume, config errors."""
import json

import numpy as np
import pytest

from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import resume, run

BASE = ["logger.mode=disabled", "progress=false"]


def go(name, tmp_path, *overrides):
    return run(name, [*BASE, f"run_dir={tmp_path / name}", *overrides], quiet=True)


def test_value_iteration_on_frozenlake(tmp_path):
    s = go("value-iteration", tmp_path)  # 1,000 evaluation episodes
    assert s["steps"] == s["solver/iterations"] < 100_000  # stopped by the span rule, not the budget
    assert s["solver/bellman_residual"] < 1e-8 and s["solver/seconds"] > 0
    assert s["eval/exact_return"] == pytest.approx(0.7402, abs=1e-4)  # success probability within 100 steps
    assert s["eval/success_rate"] == s["eval/mean_return"] == pytest.approx(0.74, abs=0.03)
    media = tmp_path / "value-iteration" / "media"
    assert (media / "values.png").exists() and (media / "convergence.png").exists()


def test_policy_iteration_and_value_iteration_agree_on_random_and_gridworld(tmp_path):
    for env in (["env=random", "states=300", "actions=4"], ["env=gridworld", "size=12"]):
        pi = go("policy-iteration", tmp_path / env[0], *env, "eval_episodes=20")
        vi = go("value-iteration", tmp_path / env[0], *env, "eval_episodes=20", "tol=1e-9")
        assert pi["solver/iterations"] < 50 and pi["solver/bellman_residual"] < 1e-8
        assert vi["eval/expected_value"] == pytest.approx(pi["eval/expected_value"], abs=1e-8)
        assert vi["eval/exact_return"] == pytest.approx(pi["eval/exact_return"], abs=1e-6)
        # rollouts of the same policy in the model's simulator agree with the exact expected return
        assert abs(pi["eval/mean_return"] - pi["eval/exact_return"]) <= 4 * pi["eval/std_return"] / np.sqrt(20) + 1e-9
    assert "eval/success_rate" not in vi or env[0] == "env=gridworld"


def test_bellman_solve_predicts_the_rollouts(tmp_path):
    s = go("bellman-solve", tmp_path, "env=Taxi-v4", "policy=optimal", "eval_episodes=300")
    assert s["eval/exact_return"] == pytest.approx(7.93, abs=1e-9)
    assert s["eval/success_rate"] == 1.0 and abs(s["eval/mean_return"] - 7.93) < 0.5
    assert s["solver/bellman_residual"] < 1e-9
    u = go("bellman-solve", tmp_path / "u", "env=CliffWalking-v1", "eval_episodes=0")
    assert u["solver/bellman_residual"] < 1e-9 and "eval/mean_return" not in u


def test_q_learning_resume_equals_an_uninterrupted_run(tmp_path):
    common = ["env=FrozenLake-v1", "env_steps_per_step=500", "eval_every=2", "eval_episodes=50"]
    whole = go("q-learning", tmp_path / "whole", *common, "steps=6")
    part = go("q-learning", tmp_path / "part", *common, "steps=3")
    resumed = resume(part["run_dir"], ["steps=6"], quiet=True)
    for key in ("train/env_steps", "eval/mean_return", "eval/exact_return"):
        assert resumed[key] == whole[key]
    assert whole["train/env_steps"] >= 3000
    rows = [json.loads(line) for line in open(f"{whole['run_dir']}/metrics.jsonl")]
    assert any("train/epsilon" in r for r in rows)


def test_config_errors_are_one_line(tmp_path):
    with pytest.raises(GymlabError, match="bad value for 'env': 'Taxi-v3'; valid: FrozenLake-v1"):
        go("value-iteration", tmp_path, "env=Taxi-v3")
    with pytest.raises(GymlabError, match=r"bad value for 'gamma': 1.0; it must be in \[0, 1\)"):
        go("policy-iteration", tmp_path / "g", "gamma=1.0")
    with pytest.raises(GymlabError, match="bad value for 'rule'"):
        go("value-iteration", tmp_path / "r", "rule=max")
    with pytest.raises(GymlabError, match="branching must be in 1..S=5"):
        go("value-iteration", tmp_path / "b", "env=random", "states=5", "branching=9")
