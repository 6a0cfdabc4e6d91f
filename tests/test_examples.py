"""Every script in examples/ runs as a user runs it (tiny budgets), through Python and the CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENV = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
ENV.pop("GYMLAB_PLUGINS", None)


def python(*args, cwd, env=None):
    p = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env={**ENV, **(env or {})},
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def gymlab(*args, cwd, env=None):
    return python("-m", "gymlab.runners.cli", *args, cwd=cwd, env=env)


def test_every_example_is_tested():
    tested = {"sb3_style_cartpole.py", "custom_env.py", "plugin_experiment.py", "load_trained.py",
              "template_experiment.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_sb3_style_cartpole(tmp_path):
    out = python(EXAMPLES / "sb3_style_cartpole.py", "--timesteps", "1024", cwd=tmp_path)
    assert "SB3's evaluate_policy" in out and "after save and load" in out


def test_custom_env_through_the_api_and_the_cli(tmp_path):
    out = python(EXAMPLES / "custom_env.py", "--timesteps", "1024", cwd=tmp_path)
    assert "API: mean return" in out and "runner: mean return" in out
    s = json.loads(gymlab("run", "ppo", "env=custom_env:Corridor-v0", "timesteps=1024", "gif=false", "--json",
                          cwd=tmp_path, env={"PYTHONPATH": str(EXAMPLES)}))
    assert s["experiment"] == "ppo" and -1.0 <= s["eval/mean_return"] <= 1.0


def test_plugin_experiment_from_python_and_the_cli_then_loaded(tmp_path):
    out = python(EXAMPLES / "plugin_experiment.py", "--steps", "60", cwd=tmp_path)
    assert "test accuracy" in out
    plugin = str(EXAMPLES / "plugin_experiment.py")
    assert "digits-logreg" in gymlab("--plugin", plugin, "list", cwd=tmp_path)
    s = json.loads(gymlab("--plugin", plugin, "run", "digits-logreg", "steps=60", "eval_every=30", "run_dir=lr",
                          "--json", cwd=tmp_path))
    assert s["eval/accuracy"] > 0.5
    # gymlab.load on the plugin's run: the model with its normalisation reproduces the test accuracy.
    out = python(EXAMPLES / "load_trained.py", "lr", cwd=tmp_path, env={"GYMLAB_PLUGINS": plugin})
    acc = float(out.split("test accuracy:")[1].split()[0])
    best = json.loads(gymlab("--plugin", plugin, "eval", "lr", "--json", cwd=tmp_path))
    assert acc == pytest.approx(best["eval/accuracy"], abs=1e-3)


def test_load_trained_mlp_and_ppo(tmp_path):
    out = python(EXAMPLES / "load_trained.py", "--steps", "60", cwd=tmp_path)
    assert "loaded mlp" in out and "test accuracy" in out
    # `gymlab run ppo ...` in this process (a new one costs seconds; test_cli_load trains one by the CLI)
    from gymlab.runners.loop import run

    run("ppo", ["timesteps=1024", "eval_episodes=3", "gif=false", f"run_dir={tmp_path / 'ppo'}", "progress=false",
                "logger.mode=disabled"], quiet=True)
    out = python(EXAMPLES / "load_trained.py", "ppo", cwd=tmp_path)
    assert "loaded ppo" in out and "one episode of CartPole-v1" in out


def test_template_experiment_through_python_and_the_cli(tmp_path):
    out = python(EXAMPLES / "template_experiment.py", "--epochs", "3", cwd=tmp_path)
    assert float(out.split("test accuracy ")[1].split()[0]) > 0.85  # digits, 3 epochs of a 128-unit MLP
    s = json.loads(gymlab("--plugin", EXAMPLES / "template_experiment.py", "run", "my-mlp", "epochs=2", "hidden=32", "lr=0.01",
                          "optimizer=adam", "--json", cwd=tmp_path))
    assert s["experiment"] == "my-mlp" and s["eval/accuracy"] > 0.6  # chance is 0.1
