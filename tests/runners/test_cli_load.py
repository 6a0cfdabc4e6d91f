"""A model trained with the command line, used from Python: `gymlab.load(run_dir)` gives back the
agent (SB3's predict and evaluate_policy work on it) or the nn.Module, in eval mode, taking raw
inputs as training did; its numbers match `gymlab eval` on the same checkpoint."""
import json
import os
import subprocess
import sys

import pytest
import torch

import gymlab
from gymlab.runners.errors import GymlabError

ENV = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
ENV.pop("GYMLAB_PLUGINS", None)


def gymlab_cli(*args, cwd):
    p = subprocess.run([sys.executable, "-m", "gymlab.runners.cli", *args], cwd=cwd, env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def gymlab_eval(run_dir, capsys) -> dict:
    """`gymlab eval RUN_DIR --json`, run by the command's own main() in this process (a new process
    costs seconds; the training above is the command-line process whose run this reads)."""
    from gymlab.runners.cli import main

    capsys.readouterr()
    assert main(["eval", str(run_dir), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_load_a_cli_trained_agent(tmp_path, capsys):
    gymlab_cli("run", "ppo", "timesteps=1024", "eval_episodes=3", "gif=false", "run_dir=ppo", "progress=false",
               cwd=tmp_path)
    cli = gymlab_eval(tmp_path / "ppo", capsys)
    agent = gymlab.load(tmp_path / "ppo")
    assert agent.experiment == "ppo" and agent.run_config.env == "CartPole-v1" and agent.run_config.eval_episodes == 3

    import gymnasium as gym

    from gymlab.agents.base import evaluate

    # The same evaluation as the runner's (3 deterministic episodes seeded 10000, 10001, 10002).
    ours = evaluate(agent, lambda: gym.make("CartPole-v1"), 3, agent.run_config.eval_seed)
    assert ours["mean_return"] == pytest.approx(cli["eval/mean_return"])
    sb3 = pytest.importorskip("stable_baselines3.common.evaluation")
    env = gym.make("CartPole-v1")
    env.reset(seed=agent.run_config.eval_seed)
    mean, _ = sb3.evaluate_policy(agent, env, n_eval_episodes=2, deterministic=True, warn=False)
    assert mean > 0
    obs, _ = env.reset(seed=0)
    action, state = agent.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action)) and state is None


def test_load_a_cli_trained_classifier_takes_raw_images(tmp_path, capsys):
    gymlab_cli("run", "mlp", "steps=40", "eval_every=20", "run_dir=mlp", "progress=false", cwd=tmp_path)
    cli = gymlab_eval(tmp_path / "mlp", capsys)
    model = gymlab.load(tmp_path / "mlp")
    assert isinstance(model, torch.nn.Module) and not model.training
    assert model.run_config.data.name == "digits" and model.experiment == "mlp"

    from gymlab.vision.data.datasets import load_digits_split

    test = load_digits_split(model.run_config.seed).test  # raw images in [0, 1], as the run split them
    with torch.no_grad():
        accuracy = (model(test.x).argmax(1) == test.y).float().mean().item()
    assert accuracy == pytest.approx(cli["eval/accuracy"], abs=1e-6)
    assert accuracy > 0.5  # learned something: 10 classes


def test_load_a_cli_trained_linear_classifier(tmp_path, capsys):
    """softmax keeps a weight matrix, not a module: its export() makes one, standardisation included."""
    gymlab_cli("run", "softmax", "steps=60", "eval_every=30", "run_dir=sm", "progress=false", cwd=tmp_path)
    cli = gymlab_eval(tmp_path / "sm", capsys)
    model = gymlab.load(tmp_path / "sm")
    assert isinstance(model, torch.nn.Module) and not model.training

    from gymlab.vision.data.datasets import load_digits_split

    test = load_digits_split(model.run_config.seed).test
    with torch.no_grad():
        accuracy = (model(test.x).argmax(1) == test.y).float().mean().item()
    assert accuracy == pytest.approx(cli["eval/accuracy"], abs=1e-6) and accuracy > 0.5


def test_load_a_cli_trained_generative_model(tmp_path):
    gymlab_cli("run", "vae", "steps=60", "eval_every=30", "fid_samples=0", "run_dir=vae", "progress=false",
               cwd=tmp_path)
    vae = gymlab.load(tmp_path / "vae", checkpoint="latest")
    assert isinstance(vae, torch.nn.Module) and not vae.training and vae.experiment == "vae"

    # The same architecture as set up before training (seeded init): the loaded one has learned.
    from gymlab.runners import registry

    fresh = registry.get("vae").cls()
    fresh.setup(vae.run_config, registry.Context(device=torch.device("cpu"), seed=0, run_dir=tmp_path,
                                                 log=lambda m: None))
    x = fresh.test[0][:200]

    def elbo(net):
        torch.manual_seed(0)
        with torch.no_grad():
            return net.eval()(x, 1.0)["elbo"].mean().item()

    assert elbo(vae) > elbo(fresh.net) + 1.0


def test_load_a_gan_gives_its_generator(tmp_path):
    gymlab_cli("run", "gan", "steps=4", "eval_every=2", "fid_samples=0", "run_dir=gan", "progress=false", cwd=tmp_path)
    g = gymlab.load(tmp_path / "gan")
    assert isinstance(g, torch.nn.Module) and not g.training and g.experiment == "gan"
    with torch.no_grad():
        images = g(torch.randn(3, g.run_config.latent))
    assert images.shape[0] == 3 and torch.isfinite(images).all()


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(GymlabError, match="no run directory"):
        gymlab.load(tmp_path / "missing")
    with pytest.raises(GymlabError, match="bad checkpoint 'final'; valid: best, latest"):
        gymlab.load(tmp_path, checkpoint="final")
    from gymlab.runners.loop import run

    run("knn", [f"run_dir={tmp_path / 'knn'}", "progress=false", "logger.mode=disabled"], quiet=True)
    with pytest.raises(GymlabError, match="knn keeps no trained agent or nn.Module to load"):
        gymlab.load(tmp_path / "knn")
